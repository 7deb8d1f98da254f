"""Flower attaches to flowpool's Celery app like to any Celery app: pointed at the broker's
Redis with `--app workers.app:app`, it finds the pool's workers by remote inspection (its API
and each worker's page), with the Celery queue of each work queue they consume and the one
task they run. Its Workers table, fed by heartbeat events, stays empty: flowpool's workers
send none (they heartbeat through Redis keys of their own)."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from devstack import wait_for
from orchestrator.embedded_redis import free_port
from orchestrator.keys import TASK_NAME, celery_queue

pytestmark = pytest.mark.integration


def flower_workers(port: int) -> dict:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/workers", params={"refresh": 1},
                           timeout=10)
    except httpx.HTTPError:
        return {}
    return answer.json() if answer.status_code == 200 else {}


def test_flower_lists_the_workers_their_queues_and_task(stack, process_pool, tmp_path):
    pytest.importorskip("flower", reason="Flower is not installed (pip install -e '.[flower]')")
    pool = process_pool()
    port = free_port()
    log = open(tmp_path / "flower.log", "wb")
    flower = subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "workers.app:app", "--broker", stack.redis_url,
         "flower", f"--port={port}", "--address=127.0.0.1"],
        env={**os.environ, "FLOWER_UNAUTHENTICATED_API": "true"}, stdout=log,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    try:
        workers = wait_for(lambda: {name: info for name, info in flower_workers(port).items()
                                    if name.startswith(f"{pool}-w")}, 60,
                           "Flower to list the pool's worker")
        (name,) = workers
        page = httpx.get(f"http://127.0.0.1:{port}/worker/{name}", timeout=10)
    finally:
        flower.terminate()
        flower.wait(timeout=15)

    (info,) = workers.values()
    assert [q["name"] for q in info["active_queues"]] == [celery_queue(pool, "default")]
    assert TASK_NAME in info["registered"]
    assert page.status_code == 200 and celery_queue(pool, "default") in page.text
