"""Retries of tasks and child flows: delay lists, jitter, retry_condition_fn."""
import random
import time

import pytest

from orchestrator import exponential_backoff, flow, task
from orchestrator.sdk.retries import delay_list, retry_delay_s


def test_a_delay_list_gives_each_retry_its_delay_and_repeats_its_last():
    delays = [0, 0.1, 0.2]
    assert [retry_delay_s(delays, attempt) for attempt in (1, 2, 3, 4, 5)] == [0, 0.1, 0.2, 0.2, 0.2]
    assert retry_delay_s(5, 3) == 5.0


def test_jitter_stays_within_its_factor_of_the_delay():
    for _ in range(1000):
        delay = retry_delay_s([10], 1, jitter_factor=0.5, uniform=random.random)
        assert 5 <= delay <= 15
    assert retry_delay_s([10], 1, 0.5, uniform=lambda: 0.0) == 5
    assert retry_delay_s([10], 1, 0.5, uniform=lambda: 1.0) == 15
    assert retry_delay_s([10], 1, 2.0, uniform=lambda: 0.0) == 0  # never below zero


def test_exponential_backoff_doubles_per_retry():
    assert delay_list(exponential_backoff(10), 4) == [10, 20, 40, 80]
    assert delay_list(None, 3) == 0 and delay_list((1, 2), 2) == [1, 2]


def test_a_task_is_retried_until_it_succeeds_waiting_its_delays(reporter):
    attempts = []

    @task(retries=3, retry_delay_seconds=[0, 0.05, 0.1])
    def flaky() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)}")
        return f"succeeded on attempt {len(attempts)}"

    @flow
    def retrying() -> str:
        return flaky()

    assert retrying() == "succeeded on attempt 3"
    assert attempts[2] - attempts[1] >= 0.05
    task_run, = reporter.task_runs.values()
    assert task_run.attempt == 3 and task_run.state_name == "Completed"
    assert [name for _, name, _ in task_run.history] == [
        "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed"]


def test_a_task_fails_when_its_retries_run_out(reporter):
    @task(retries=2)
    def broken() -> None:
        raise ValueError("always")

    @flow
    def exhausting() -> None:
        broken()

    with pytest.raises(ValueError):
        exhausting()
    task_run, = reporter.task_runs.values()
    assert (task_run.attempt, task_run.state_type) == (3, "FAILED")
    assert any("Retries are exhausted" in m for m in reporter.log_messages())


def test_retry_condition_fn_decides_whether_to_retry(reporter):
    seen = []

    def only_timeouts(task, task_run, state) -> bool:
        seen.append((task.name, task_run.attempt, state.name))
        return isinstance(state.result(raise_on_failure=False), TimeoutError)

    @task(retries=5, retry_condition_fn=only_timeouts)
    def picky(first_error: type) -> int:
        raise first_error() if not seen else ValueError()

    @flow
    def conditional(first_error: type) -> int:
        picky(first_error, return_state=True)
        return len(seen)

    assert conditional(ValueError) == 1  # not retried
    seen.clear()
    assert conditional(TimeoutError) == 2  # retried once, then the ValueError is final
    assert seen == [("picky", 1, "Failed"), ("picky", 2, "Failed")]


def test_a_child_flow_is_retried_in_process(reporter):
    calls = []

    @flow(retries=2, retry_delay_seconds=0)
    def child() -> int:
        calls.append(1)
        if len(calls) < 2:
            raise RuntimeError("first attempt fails")
        return len(calls)

    @flow
    def parent() -> int:
        return child()

    assert parent() == 2
    child_run, = reporter.runs_of("child")
    assert (child_run.attempt, child_run.state_type) == (2, "COMPLETED")
