"""At-least-once below, at-most-once above: duplicated or stale broker messages never run a
flow twice, because the claim PENDING -> RUNNING carries the dispatch token."""
from __future__ import annotations

import os
import signal

import redis

from devstack import wait_for
from orchestrator.keys import celery_queue
from orchestrator.models import DispatchMessage
from orchestrator.scheduler.publisher import CeleryPublisher

COUNTING_FLOW = '''
import os
from orchestrator import flow

@flow
def count(marker: str):
    with open(marker, "a") as f:
        f.write(f"{os.getpid()}\\n")
'''


def test_a_duplicated_message_executes_the_flow_once(stack, process_pool, flow_file, tmp_path):
    pool = process_pool(workers=0)
    project, entrypoint = flow_file(COUNTING_FLOW, "count")
    stack.cli("deploy", entrypoint, "--name", "dup", "--pool", pool, cwd=project, check=True)
    marker = tmp_path / "executions.txt"
    api = stack.client()
    worker = stack.start_worker(pool, "--limit", "2")
    os.kill(worker.pid, signal.SIGSTOP)  # online for the scheduler, but not consuming
    run = api.create_flow_run_by_name("count/dup", {"marker": str(marker)})
    pending = wait_for(lambda: _pending(api, run.id), 10, "the run to be dispatched")
    queue = celery_queue(pool, "default")
    publisher = CeleryPublisher(stack.redis_url)
    publisher.publish(queue, DispatchMessage(run_id=run.id, token=pending.dispatch_token))
    publisher.publish(queue, DispatchMessage(run_id=run.id, token="a-stale-token"))
    broker = redis.Redis.from_url(stack.redis_url)
    # the dispatcher's message may already sit in the stopped worker's pending BRPOP
    assert broker.llen(queue) >= 2

    os.kill(worker.pid, signal.SIGCONT)

    wait_for(lambda: api.read_flow_run(run.id).state_type.value == "COMPLETED", 30, "completion")
    wait_for(lambda: broker.llen(queue) == 0, 10, "every message to be consumed")
    wait_for(lambda: worker.log_path.read_text().count("dropped") == 2, 10, "both extras dropped")
    assert len(marker.read_text().splitlines()) == 1
    assert api.read_flow_run(run.id).attempt == 1


def _pending(api, run_id):
    run = api.read_flow_run(run_id)
    return run if run.state_type.value == "PENDING" else None
