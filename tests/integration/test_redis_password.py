"""A Redis that wants a password, given as FLOWPOOL_REDIS_URL: the scheduler, the doorbell,
the workers' Celery consumers, leases, worker heartbeats and cancel requests all work through
it, the password shows up in no log, command line or CLI output, and while that Redis is down
the server says so and every waiting run says why."""
from __future__ import annotations

import os
import signal

import httpx
import pytest
import redis as redis_lib

from devstack import LocalStack, wait_for
from orchestrator import keys
from orchestrator.embedded_redis import PASSWORD_FILE, EmbeddedRedis
from orchestrator.models import FlowRunCreate
from orchestrator.models.flow_runs import WaitingCode
from orchestrator.states import FINAL_STATES, StateType

from .secrets_check import stack_logs, stack_processes

pytestmark = pytest.mark.integration

PASSWORD = "Pw-with/odd:chars@and%signs"
FLOW = '''
import time
from orchestrator import flow

@flow
def nap(seconds: float = 0.1):
    time.sleep(seconds)
    return seconds
'''
# A long periodic look: a run that starts within seconds was woken by the doorbell.
TIMINGS = {"FLOWPOOL_DISPATCH_INTERVAL_S": "60", "FLOWPOOL_HEARTBEAT_INTERVAL_S": "0.5",
           "FLOWPOOL_CANCEL_GRACE_S": "2", "FLOWPOOL_WORKER_OFFLINE_AFTER_S": "3"}


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    """A stack on a Redis started with requirepass (a password that needs URL quoting)."""
    root = tmp_path_factory.mktemp("locked")
    stack = LocalStack(root / "home", extra_env=TIMINGS)
    (stack.home / "redis").mkdir(mode=0o700)
    (stack.home / "redis" / PASSWORD_FILE).write_text(PASSWORD)
    stack.start_redis()
    assert "%40" in stack.redis_url and PASSWORD not in stack.redis_url
    stack.start_server()
    (root / "flows.py").write_text(FLOW)
    stack.cli("work-pool", "create", "locked", "--type", "process", check=True)
    stack.cli("deploy", "flows.py:nap", "--name", "d", "--pool", "locked", cwd=root, check=True)
    stack.start_worker("locked", "--limit", "1")
    yield stack
    stack.stop()


def run(api, seconds: float) -> str:
    return api.create_flow_run("nap/d", FlowRunCreate(parameters={"seconds": seconds})).id


def state_is(api, run_id: str, *states: StateType):
    found = api.read_flow_run(run_id)
    return found if found.state_type in states else None


def test_runs_leases_heartbeats_and_cancels_work_through_the_password(locked):
    stack = locked
    api = stack.client(retry_for_s=10)
    broker = redis_lib.Redis.from_url(stack.redis_url)

    quick = run(api, 0.1)
    done = wait_for(lambda: state_is(api, quick, *FINAL_STATES), 20, "the doorbell-woken run")
    slow = run(api, 60)
    running = wait_for(lambda: state_is(api, slow, StateType.RUNNING), 20, "the slow run to start")
    wait_for(lambda: broker.get(keys.run_lease(slow)), 5, "the run's heartbeat lease")
    lease = broker.get(keys.run_lease(slow)).decode()
    workers = stack.cli("worker", "ls", "--pool", "locked", check=True).stdout
    cancel = stack.cli("flow-run", "cancel", slow, check=True)
    cancelled = wait_for(lambda: state_is(api, slow, *FINAL_STATES), 15, "the cancel to land")

    assert done.state_type is StateType.COMPLETED and done.result == 0.1
    assert lease == running.dispatch_token
    assert "ONLINE" in workers
    assert cancelled.state_type is StateType.CANCELLED
    shown = [stack_logs(stack), workers, cancel.stdout, cancel.stderr]
    secrets = (PASSWORD, stack.redis_url)
    assert not [s for s in secrets for text in shown if s in text]
    assert "redis://:********@" in (stack.home / "server.log").read_text()
    processes = stack_processes(stack)
    assert len(processes) > 2  # the server, the worker and its pool processes at least
    assert not [line for line in processes if PASSWORD.encode() in line]


def test_while_redis_is_down_health_is_503_and_waiting_runs_say_broker_unreachable(locked):
    stack = locked
    api = stack.client(retry_for_s=10)
    worker = stack.workers[0]
    os.kill(worker.pid, signal.SIGSTOP)  # holds its one slot: one run PENDING, one SCHEDULED
    try:
        pending, scheduled = run(api, 0.1), run(api, 0.1)
        wait_for(lambda: state_is(api, pending, StateType.PENDING), 20, "the first dispatch")
        data_dir, port = stack.redis.data_dir, stack.redis.port
        os.kill(stack.redis.process.pid, signal.SIGKILL)
        stack.redis.process.wait()

        down = wait_for(lambda: (lambda r: r if r.status_code != 200 else None)(
            httpx.get(f"{stack.api_url}/health", timeout=5)), 10, "/api/health to say down")
        reasons = {r: api.read_flow_run(r).waiting_reason for r in (pending, scheduled)}
        listed = stack.cli("flow-run", "ls", check=True).stdout
        workers = stack.cli("worker", "ls", "--pool", "locked", timeout_s=30)

        stack.redis = EmbeddedRedis(data_dir, port).start()
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    finished = [wait_for(lambda r=r: state_is(api, r, *FINAL_STATES), 60, f"{r} to finish")
                for r in (pending, scheduled)]

    assert down.status_code == 503
    assert down.json() == {"status": "degraded", "version": down.json()["version"],
                           "broker": "down"}
    assert {r.code for r in reasons.values()} == {WaitingCode.BROKER_UNREACHABLE}
    assert "broker_unreachable" in listed
    assert workers.returncode == 1 and "Traceback" not in workers.stderr
    assert "the broker does not answer" in workers.stderr
    assert httpx.get(f"{stack.api_url}/health", timeout=5).json()["broker"] == "ok"
    assert [r.state_type for r in finished] == [StateType.COMPLETED] * 2
    assert all(r.attempt == 1 for r in finished)
    assert worker.poll() is None
