"""A scheduler in a process of its own serves its counters (ticks, errors) on --metrics-port;
the server's /metrics then has the gauges read from the database, and no scheduler ticks."""
from __future__ import annotations

import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack import LocalStack, flowpool_command, wait_for
from orchestrator.embedded_redis import free_port

pytestmark = pytest.mark.integration


def sample(url: str, name: str) -> float | None:
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return None
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name:
                return found.value
    return None


def test_a_standalone_scheduler_serves_its_ticks(tmp_path):
    stack = LocalStack(tmp_path / "home")
    stack.start_redis()
    stack.start_server("--no-scheduler")
    port = free_port()
    with open(tmp_path / "scheduler.log", "wb") as log:
        scheduler = subprocess.Popen(
            [*flowpool_command(), "scheduler", "start", "--metrics-port", str(port)],
            env=stack.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        ticks = wait_for(lambda: sample(f"http://127.0.0.1:{port}/metrics",
                                        "flowpool_scheduler_ticks_total"), 30,
                         "the scheduler's metrics to count a tick")
        server_ticks = sample(f"http://127.0.0.1:{stack.api_port}/metrics",
                              "flowpool_scheduler_ticks_total")
        leader = sample(f"http://127.0.0.1:{stack.api_port}/metrics", "flowpool_scheduler_leader")
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=15)
        stack.stop()

    assert ticks >= 1
    assert server_ticks == 0  # the server's own counter: its scheduler is off
    assert leader == 1  # read from the lease in Redis: someone leads
