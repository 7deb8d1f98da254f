"""The broker dies: the server notices, says so, restarts its bundled Redis, and every run still
completes exactly once, with the same server and worker processes throughout.

Real everything: the server starts and supervises its bundled redis-server, a real Celery
worker runs the flows in subprocesses, and the test SIGKILLs redis-server for real."""
from __future__ import annotations

import os
import signal
import time
from collections import Counter

import httpx
import pytest

from devstack import LocalStack, wait_for
from orchestrator.embedded_redis import PASSWORD_FILE, PID_FILE, free_port
from orchestrator.models import DispatchMessage, FlowRunCreate
from orchestrator.states import FINAL_STATES, StateType
from workers.context import WorkerContext
from workers.execution import execute

from .secrets_check import stack_logs, stack_processes
from .test_delivery import _pending

pytestmark = pytest.mark.integration

RUNS = 50
ALL_DONE_WITHIN_S = 60
TIMINGS = {"FLOWPOOL_CLAIM_TIMEOUT_S": "5", "FLOWPOOL_DISPATCH_INTERVAL_S": "0.5",
           "FLOWPOOL_HEARTBEAT_INTERVAL_S": "0.5", "FLOWPOOL_CRASH_AFTER_S": "5",
           "FLOWPOOL_WORKER_OFFLINE_AFTER_S": "5"}

FLOW = '''
import os, time
from pathlib import Path
from orchestrator import flow

@flow
def step(n: int, marks: str):
    # one file per execution: a run executed twice leaves two
    Path(marks, f"{n}-{os.getpid()}").write_text("")
    time.sleep(0.3)
    return n
'''


@pytest.fixture
def bundled(tmp_path):
    """A server with its own bundled Redis (no FLOWPOOL_REDIS_URL), one pool, one worker."""
    stack = LocalStack(tmp_path / "home", extra_env={
        **TIMINGS, "FLOWPOOL_EMBEDDED_REDIS_PORT": str(free_port())})
    stack.start_server()
    (tmp_path / "flows.py").write_text(FLOW)
    stack.cli("work-pool", "create", "outage", "--type", "process", check=True)
    stack.cli("deploy", "flows.py:step", "--name", "d", "--pool", "outage", cwd=tmp_path,
              check=True)
    stack.start_worker("outage", "--limit", "4")
    yield stack
    stack.stop()


def health(stack: LocalStack) -> httpx.Response | None:
    try:
        return httpx.get(f"{stack.api_url}/health", timeout=5)
    except httpx.TransportError:
        return None


def redis_pid(stack: LocalStack) -> int | None:
    try:
        return int((stack.home / "redis" / PID_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None


def test_every_run_completes_once_after_the_bundled_redis_is_killed(bundled, tmp_path,
                                                                      record_property):
    stack, marks = bundled, tmp_path / "marks"
    marks.mkdir()
    api = stack.client(retry_for_s=10)
    server, worker = stack.server, stack.workers[0]
    run_ids = [api.create_flow_run("step/d", FlowRunCreate(
        parameters={"n": n, "marks": str(marks)})).id for n in range(RUNS)]
    wait_for(lambda: len(list(marks.iterdir())) >= 8, 60, "the first runs to execute")
    old_pid = redis_pid(stack)
    password = (stack.home / "redis" / PASSWORD_FILE).read_text().strip()
    processes = stack_processes(stack)  # the bundled redis-server among them

    os.kill(old_pid, signal.SIGKILL)
    killed = time.monotonic()
    down = wait_for(lambda: (lambda r: r if r is not None and r.status_code != 200 else None)(
        health(stack)), 10, "/api/health to report the broker down", interval_s=0.02)
    detected = time.monotonic()
    wait_for(lambda: redis_pid(stack) not in (None, old_pid)
             and (lambda r: r is not None and r.status_code == 200)(health(stack)), 30,
             "the bundled Redis to be restarted and /api/health to be ok")
    restarted = time.monotonic()
    finished = wait_for(lambda: (lambda rs: rs if all(r.state_type in FINAL_STATES for r in rs)
                                 else None)([api.read_flow_run(r) for r in run_ids]),
                        ALL_DONE_WITHIN_S, f"all {RUNS} runs to finish after the restart",
                        interval_s=0.5)
    all_done = time.monotonic()

    timings = {"detect_s": round(detected - killed, 2), "restart_s": round(restarted - killed, 2),
               "all_complete_after_restart_s": round(all_done - restarted, 2)}
    print(f"\nbroker outage timings: {timings}")
    for name, value in timings.items():
        record_property(name, value)
    assert down.status_code == 503 and down.json()["broker"] == "down"
    assert health(stack).json()["broker"] == "ok"
    unfinished = {r.id: r.state_message for r in finished
                  if r.state_type is not StateType.COMPLETED}
    assert not unfinished, f"runs that did not complete, and why: {unfinished}"
    assert all(r.attempt == 1 for r in finished)
    for run in finished:
        claims = Counter(h.attempt for h in run.history if h.type is StateType.RUNNING)
        assert claims == {1: 1}, f"run {run.id} was claimed {claims}"
    executions = Counter(path.name.split("-")[0] for path in marks.iterdir())
    assert executions == {str(n): 1 for n in range(RUNS)}
    assert server.poll() is None and worker.poll() is None  # nothing needed a restart
    assert {r.worker_name for r in finished} == {"outage-w1"}
    assert redis_pid(stack) != old_pid
    assert any(b"redis-server" in line for line in processes)
    assert not [line for line in processes + stack_processes(stack) if password.encode() in line]
    assert password not in stack_logs(stack)


QUICK_FLOW = '''
from orchestrator import flow

@flow
def quick():
    return 1
'''


def test_a_run_claimed_while_redis_is_away_still_runs_to_completion(
        stack, process_pool, flow_file, unique_name):
    """The claim goes through the API while the worker cannot reach Redis (as in an outage):
    the lease cannot be taken at launch, yet the run goes on; the reaper waits out outages."""
    pool = process_pool(workers=1)
    worker = stack.workers[-1]
    os.kill(worker.pid, signal.SIGSTOP)  # online for the scheduler, but not consuming
    try:
        claim_while_redis_is_away(stack, pool, flow_file, unique_name)
    finally:
        os.kill(worker.pid, signal.SIGCONT)


def claim_while_redis_is_away(stack, pool, flow_file, unique_name):
    project, entrypoint = flow_file(QUICK_FLOW, "quick")
    stack.cli("deploy", entrypoint, "--name", "away", "--pool", pool, cwd=project, check=True)
    api = stack.client()
    run = api.create_flow_run_by_name("quick/away", {})
    pending = wait_for(lambda: _pending(api, run.id), 10, "the run to be dispatched")
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: connection refused
    ctx = WorkerContext(name=unique_name("away"), pool_name=pool, api_url=stack.api_url,
                        home=project, redis_url=unreachable, heartbeat_interval_s=0.2,
                        process_cgroups=False, process_start="spawn")

    execute(DispatchMessage(run_id=run.id, token=pending.dispatch_token), ctx)

    assert api.read_flow_run(run.id).state_type is StateType.COMPLETED
