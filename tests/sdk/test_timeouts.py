"""Timeouts of tasks (sync and async) and flows: the run ends FAILED, named TimedOut."""
import asyncio
import time

import pytest

from orchestrator import flow, task
from orchestrator.errors import RunTimeoutError

from .conftest import Gate


def test_a_sync_task_past_its_timeout_ends_timed_out_without_waiting_for_it(reporter):
    gate = Gate()

    @task(timeout_seconds=0.2)
    def stuck() -> str:
        gate.wait()
        return "never"

    @flow
    def timing_out() -> tuple:
        started = time.monotonic()
        state = stuck(return_state=True)
        return state.is_failed(), state.name, time.monotonic() - started

    try:
        failed, name, waited_s = timing_out()
    finally:
        gate.open()
    assert (failed, name) == (True, "TimedOut")
    assert 0.2 <= waited_s < 5
    task_run, = reporter.task_runs.values()
    assert task_run.state_name == "TimedOut" and "0.2 s" in task_run.message


def test_an_async_task_past_its_timeout_is_cancelled(reporter):
    cancelled = []

    @task(timeout_seconds=0.1)
    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    @flow
    async def timing_out() -> str:
        state = await slow(return_state=True)
        return state.name

    assert asyncio.run(timing_out()) == "TimedOut"
    assert cancelled == [True]


def test_a_timed_out_task_is_retried(reporter):
    attempts = []

    @task(timeout_seconds=0.1, retries=1)
    def slow_once() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            time.sleep(0.5)
        return "second attempt in time"

    @flow
    def retrying() -> str:
        return slow_once()

    assert retrying() == "second attempt in time"


def test_a_task_within_its_timeout_returns_normally(reporter):
    @task(timeout_seconds=5)
    def quick(x: int) -> int:
        return x + 1

    @flow
    def in_time() -> int:
        return quick(1)

    assert in_time() == 2


def test_a_flow_past_its_timeout_stops_at_its_next_task(reporter):
    ran = []

    @task
    def step(i: int) -> None:
        ran.append(i)
        time.sleep(0.06)

    @flow(timeout_seconds=0.1)
    def long_flow() -> None:
        for i in range(10):
            step(i)

    with pytest.raises(RunTimeoutError):
        long_flow()
    assert 1 <= len(ran) < 10
    assert reporter.root_runs()[0].state_name == "TimedOut"


def test_an_async_flow_past_its_timeout_is_cancelled(reporter):
    @flow(timeout_seconds=0.1)
    async def sleepy() -> None:
        await asyncio.sleep(10)

    state = asyncio.run(sleepy(return_state=True))
    assert (state.type.value, state.name) == ("FAILED", "TimedOut")
