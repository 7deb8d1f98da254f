"""Nothing lost, nothing run twice: crash detection, stranded PENDING runs, retries, timeouts,
cancellation and restarts, with real processes killed for real.

These tests run their own stack with short timings (crash after 4 s, heartbeat every 0.5 s)."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from devstack import LocalStack, wait_for
from orchestrator.embedded_redis import EmbeddedRedis
from orchestrator.models import FlowRunCreate
from orchestrator.states import FINAL_STATES, StateType

pytestmark = pytest.mark.integration

CRASH_AFTER_S = 4
GRACE_S = 2
TIMINGS = {"FLOWPOOL_CRASH_AFTER_S": str(CRASH_AFTER_S), "FLOWPOOL_HEARTBEAT_INTERVAL_S": "0.5",
           "FLOWPOOL_CANCEL_GRACE_S": str(GRACE_S), "FLOWPOOL_CLAIM_TIMEOUT_S": "3",
           "FLOWPOOL_WORKER_OFFLINE_AFTER_S": "3", "FLOWPOOL_DISPATCH_INTERVAL_S": "0.5"}

FLOWS = '''
import json, os, signal, subprocess, sys, time
from pathlib import Path
from orchestrator import flow

@flow
def nap(seconds: float = 60, note: str = ""):
    Path(note).write_text(str(os.getpid())) if note else None
    time.sleep(seconds)
    return seconds

@flow(retries=2, retry_delay_seconds=1)
def flaky(marker: str):
    attempts = Path(marker)
    count = int(attempts.read_text()) + 1 if attempts.exists() else 1
    attempts.write_text(str(count))
    if count < 2:
        raise RuntimeError(f"attempt {count} fails")
    return count

@flow(timeout_seconds=1)
def slow():
    time.sleep(60)

@flow
def stubborn_child(pid_file: str):
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(600)

@flow
def chatty(lines: int = 12, every_s: float = 0.5):
    for i in range(lines):
        print(f"line {i}", flush=True)
        time.sleep(every_s)
    return lines
'''


@pytest.fixture(scope="module")
def fstack(tmp_path_factory):
    home = tmp_path_factory.mktemp("recovery")
    stack = LocalStack(home / "home", extra_env=TIMINGS)
    stack.start_redis()
    stack.start_server()
    project = home / "project"
    project.mkdir()
    (project / "flows.py").write_text(FLOWS)
    stack.cli("work-pool", "create", "rec", "--type", "process", check=True)
    for flow_name in ("nap", "flaky", "slow", "stubborn_child", "chatty"):
        stack.cli("deploy", f"flows.py:{flow_name}", "--name", "d", "--pool", "rec",
                  cwd=project, check=True)
    stack.cli("deploy", "flows.py:nap", "--name", "retried", "--pool", "rec", "--retries", "1",
              cwd=project, check=True)
    yield stack
    stack.stop()


@pytest.fixture
def worker(fstack, request):
    """A fresh worker for the test; whatever the test left running is stopped after it. Runs
    start warm (forked), or cold where a test asks for `spawn` (indirect parameter)."""
    started = []
    env = {"FLOWPOOL_PROCESS_START": getattr(request, "param", "fork")}

    def start(*args):
        process = fstack.start_worker("rec", "--limit", "2", *args, env=env)
        started.append(process)
        return process
    yield start
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            process.wait(timeout=30)


def run_in(api, deployment, **parameters):
    return api.create_flow_run(deployment, FlowRunCreate(parameters=parameters)).id


def state_is(api, run_id, *states):
    run = api.read_flow_run(run_id)
    return run if run.state_type in states else None


def final(api, run_id, timeout_s):
    return wait_for(lambda: state_is(api, run_id, *FINAL_STATES), timeout_s, f"{run_id} to end")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("worker", ["fork", "spawn"], indirect=True)
def test_a_worker_killed_mid_run_leaves_the_run_crashed_then_retried(fstack, worker, tmp_path):
    api = fstack.client(retry_for_s=10)
    doomed = worker()
    run_id = run_in(api, "nap/retried", seconds=3, note=str(tmp_path / "pid"))
    wait_for(lambda: state_is(api, run_id, StateType.RUNNING), 15, "the run to start")
    wait_for(lambda: (tmp_path / "pid").exists(), 15, "the flow to start")
    engine_pid = int((tmp_path / "pid").read_text())

    os.kill(doomed.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: not alive(engine_pid), 5, "the flow process to die with its worker")
    worker()  # a survivor to take the retry

    done = final(api, run_id, 60)
    history = [(h.type.value, h.name) for h in done.history]
    assert ("CRASHED", "Crashed") not in history  # a crash with retries left becomes a retry
    assert ("SCHEDULED", "AwaitingRetry") in history
    retry = next(h for h in done.history if h.name == "AwaitingRetry")
    assert "no heartbeat" in retry.message
    assert done.state_type is StateType.COMPLETED and done.attempt == 2
    assert time.monotonic() - killed_at < 60


def test_a_crashed_run_without_retries_ends_crashed_within_the_deadline(fstack, worker):
    api = fstack.client(retry_for_s=10)
    doomed = worker()
    run_id = run_in(api, "nap/d", seconds=60)
    wait_for(lambda: state_is(api, run_id, StateType.RUNNING), 15, "the run to start")

    os.kill(doomed.pid, signal.SIGKILL)

    crashed = wait_for(lambda: state_is(api, run_id, StateType.CRASHED), CRASH_AFTER_S + 6,
                       "the run to be marked CRASHED")
    assert "no heartbeat" in crashed.state_message
    assert api.read_work_pool("rec").usage.in_use == 0


def test_a_worker_killed_between_dispatch_and_claim_does_not_lose_the_run(fstack, worker):
    api = fstack.client(retry_for_s=10)
    frozen = worker()
    os.kill(frozen.pid, signal.SIGSTOP)  # online for the scheduler; its BRPOP may take the message
    run_id = run_in(api, "nap/d", seconds=0.1)
    wait_for(lambda: state_is(api, run_id, StateType.PENDING), 10, "the run to be dispatched")

    os.kill(frozen.pid, signal.SIGKILL)
    worker()

    done = final(api, run_id, 60)
    assert done.state_type is StateType.COMPLETED and done.attempt == 1
    assert any("no worker claimed it" in (h.message or "") for h in done.history)


@pytest.mark.parametrize("worker", ["fork", "spawn"], indirect=True)
def test_a_failed_attempt_is_retried_after_its_delay_as_a_new_attempt(fstack, worker, tmp_path):
    api = fstack.client(retry_for_s=10)
    worker()

    done = final(api, run_in(api, "flaky/d", marker=str(tmp_path / "n")), 60)

    assert done.state_type is StateType.COMPLETED and done.result == 2 and done.attempt == 2
    retry = next(h for h in done.history if h.name == "AwaitingRetry")
    assert "RuntimeError: attempt 1 fails" in retry.message and "retrying in 1s" in retry.message
    inspect = fstack.cli("flow-run", "inspect", done.id, check=True).stdout
    assert "AwaitingRetry" in inspect


@pytest.mark.parametrize("worker", ["fork", "spawn"], indirect=True)
def test_a_run_past_its_timeout_is_stopped_and_ends_timed_out(fstack, worker):
    api = fstack.client(retry_for_s=10)
    worker()

    done = final(api, run_in(api, "slow/d"), 30)

    assert (done.state_type, done.state_name) == (StateType.FAILED, "TimedOut")
    assert "timed out after 1s" in done.state_message


@pytest.mark.parametrize("worker", ["fork", "spawn"], indirect=True)
def test_cancelling_a_running_run_stops_its_whole_process_group(fstack, worker, tmp_path):
    api = fstack.client(retry_for_s=10)
    worker()
    pid_file = tmp_path / "child.pid"
    run_id = run_in(api, "stubborn-child/d", pid_file=str(pid_file))
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), 20, "the child to start")
    child = int(pid_file.read_text())

    started = time.monotonic()
    result = fstack.cli("flow-run", "cancel", run_id, check=True)

    assert "CANCELLING" in result.stdout
    wait_for(lambda: state_is(api, run_id, StateType.CANCELLED), GRACE_S + 5, "CANCELLED")
    assert time.monotonic() - started < GRACE_S + 5
    wait_for(lambda: not alive(child), 5, "the SIGTERM-ignoring child to be killed")


def test_a_waiting_run_is_cancelled_at_once_and_never_starts(fstack, worker):
    api = fstack.client(retry_for_s=10)
    fstack.cli("work-pool", "pause", "rec", check=True)
    try:
        run_id = run_in(api, "nap/d", seconds=0)
        fstack.cli("flow-run", "cancel", run_id, check=True)
    finally:
        fstack.cli("work-pool", "resume", "rec", check=True)
    worker()
    time.sleep(1)  # give a wrongly dispatched run the chance to show up

    run = api.read_flow_run(run_id)
    assert run.state_type is StateType.CANCELLED
    assert "RUNNING" not in [h.type.value for h in run.history]


def test_a_cancelling_run_whose_worker_is_gone_ends_cancelled(fstack, worker):
    api = fstack.client(retry_for_s=10)
    doomed = worker()
    run_id = run_in(api, "nap/d", seconds=60)
    wait_for(lambda: state_is(api, run_id, StateType.RUNNING), 15, "the run to start")
    os.kill(doomed.pid, signal.SIGKILL)

    api.cancel_flow_run(run_id)

    done = wait_for(lambda: state_is(api, run_id, StateType.CANCELLED), CRASH_AFTER_S + 6,
                    "the orphaned CANCELLING run to end")
    assert "no heartbeat" in done.state_message


def test_a_finished_run_can_be_run_again_with_the_same_parameters(fstack, worker):
    api = fstack.client(retry_for_s=10)
    worker()
    first = final(api, run_in(api, "nap/d", seconds=0.2), 30)

    fstack.cli("flow-run", "retry", first.id, check=True)

    again = wait_for(lambda: (lambda r: r if r.attempt == 2 and r.state_type in FINAL_STATES
                              else None)(api.read_flow_run(first.id)), 30, "the second attempt")
    assert again.state_type is StateType.COMPLETED and again.parameters == first.parameters


def test_worker_ls_shows_online_workers_and_their_runs(fstack, worker):
    api = fstack.client(retry_for_s=10)
    w = worker()
    run_id = run_in(api, "nap/d", seconds=5)
    wait_for(lambda: state_is(api, run_id, StateType.RUNNING), 15, "the run to start")

    listed = json.loads(fstack.cli("worker", "ls", "--pool", "rec", "-o", "json", check=True).stdout)

    mine = next(x for x in listed if x["pid"] == w.pid)
    assert mine["status"] == "ONLINE" and run_id in mine["runs"]
    api.cancel_flow_run(run_id)


def test_runs_complete_with_all_logs_across_an_api_server_restart(fstack, worker):
    api = fstack.client(retry_for_s=30)
    worker()
    run_id = run_in(api, "chatty/d", lines=12, every_s=0.5)
    wait_for(lambda: state_is(api, run_id, StateType.RUNNING), 15, "the run to start")

    fstack.server.terminate()
    fstack.server.wait(timeout=30)
    time.sleep(1.5)  # the engine keeps printing while the API is away
    fstack.start_server()

    done = final(api, run_id, 60)
    assert done.state_type is StateType.COMPLETED
    logs = [entry.message for entry in api.read_logs(run_id)]
    assert [m for m in logs if m.startswith("line ")] == [f"line {i}" for i in range(12)]


def test_queued_runs_survive_a_redis_restart(fstack, worker):
    api = fstack.client(retry_for_s=30)
    frozen = worker()
    os.kill(frozen.pid, signal.SIGSTOP)
    run_ids = [run_in(api, "nap/d", seconds=0.1) for _ in range(2)]  # the frozen worker's limit
    wait_for(lambda: all(state_is(api, r, StateType.PENDING) for r in run_ids), 10, "dispatch")

    redis_dir, port = fstack.redis.data_dir, fstack.redis.port
    fstack.redis.stop()
    fstack.redis = EmbeddedRedis(redis_dir, port).start()
    os.kill(frozen.pid, signal.SIGCONT)

    finished = [final(api, r, 90) for r in run_ids]
    assert all(r.state_type is StateType.COMPLETED for r in finished)
    assert all(r.attempt == 1 for r in finished)


@pytest.mark.parametrize("worker", ["fork", "spawn"], indirect=True)
def test_a_worker_stopped_with_ctrl_c_finishes_its_runs_first(fstack, worker):
    api = fstack.client(retry_for_s=10)
    w = worker()
    run_id = run_in(api, "nap/d", seconds=2)
    wait_for(lambda: state_is(api, run_id, StateType.RUNNING), 15, "the run to start")

    os.kill(w.pid, signal.SIGINT)

    assert w.wait(timeout=60) == 0
    assert api.read_flow_run(run_id).state_type is StateType.COMPLETED
    listed = json.loads(fstack.cli("worker", "ls", "--pool", "rec", "-o", "json", check=True).stdout)
    assert all(x["pid"] != w.pid for x in listed)  # it signed off
