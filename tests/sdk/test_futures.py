"""Futures: .submit(), .map(), futures as arguments, wait, as_completed."""
import time

import pytest

from orchestrator import (ThreadPoolTaskRunner, allow_failure, as_completed, flow, task,
                          unmapped, wait)
from orchestrator.errors import UpstreamTaskError

from .conftest import Gate


@task
def square(x: int) -> int:
    return x * x


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def total(values: list) -> int:
    return sum(values)


@task
def fail(message: str) -> None:
    raise RuntimeError(message)


def test_submit_gives_a_future_of_the_result(reporter):
    @flow
    def submitting() -> tuple:
        future = square.submit(7)
        return future.result(), future.state.is_completed(), future.task_run_id

    result, completed, task_run_id = submitting()
    assert (result, completed) == (49, True)
    assert reporter.task_runs[task_run_id].state_type == "COMPLETED"


def test_map_runs_one_task_per_item_in_order_with_unmapped_values_whole(reporter):
    @flow
    def mapping() -> list:
        return scale.map([1, 2, 3], factor=unmapped(10)).result()

    assert mapping() == [10, 20, 30]
    assert len(reporter.task_runs) == 3


def test_futures_passed_to_tasks_are_resolved_first(reporter):
    @flow
    def chaining() -> dict:
        squares = square.map(range(1, 5))
        scaled = scale.map(squares, factor=unmapped(3))
        wait(scaled)
        summed = total.submit([f for f in scaled])  # futures inside a list are resolved too
        return {"first": square.submit(4).result(), "total": summed.result()}

    assert chaining() == {"first": 16, "total": 90}


def test_a_failed_upstream_task_keeps_its_downstream_task_from_running(reporter):
    ran = []

    @task
    def downstream(value) -> None:
        ran.append(value)

    @flow
    def blocked() -> str:
        future = downstream.submit(fail.submit("upstream broke"))
        future.wait()
        with pytest.raises(UpstreamTaskError, match="upstream broke"):
            future.result()
        return future.state.name

    assert blocked() == "NotReady"
    assert ran == []


def test_allow_failure_lets_the_downstream_task_run_with_the_error(reporter):
    @task
    def report(value) -> str:
        return f"got {type(value).__name__}: {value}"

    @flow
    def tolerant() -> str:
        return report(allow_failure(fail.submit("expected")))

    assert tolerant() == "got RuntimeError: expected"


def test_wait_for_orders_tasks_without_passing_data(reporter):
    order = []

    @task
    def step(name: str) -> None:
        order.append(name)

    @flow
    def ordered() -> None:
        gate = Gate()

        @task
        def slow_first() -> None:
            gate.wait()
            order.append("first")

        first = slow_first.submit()
        second = step.submit("second", wait_for=[first])
        assert gate.arrived.wait(5) and not second.done()
        gate.open()
        second.result()

    ordered()
    assert order == ["first", "second"]


def test_wait_with_a_timeout_splits_done_from_not_done(reporter):
    gate = Gate()

    @task
    def blocked() -> None:
        gate.wait()

    @flow
    def waiting() -> tuple:
        quick, stuck = square.submit(2), blocked.submit()
        quick.wait()
        done, not_done = wait([quick, stuck], timeout=0.05)
        gate.open()
        return done == {quick}, not_done == {stuck}

    assert waiting() == (True, True)


def test_as_completed_yields_futures_as_they_finish(reporter):
    gate = Gate()

    @task
    def late() -> str:
        gate.wait()
        return "late"

    @task
    def early() -> str:
        return "early"

    @flow
    def completing() -> list:
        futures = [late.submit(), early.submit()]
        seen = []
        for future in as_completed(futures, timeout=10):
            seen.append(future.result())
            gate.open()
        return seen

    assert completing() == ["early", "late"]


def test_a_future_result_times_out(reporter):
    gate = Gate()

    @task
    def blocked() -> None:
        gate.wait()

    @flow
    def impatient() -> None:
        future = blocked.submit()
        try:
            with pytest.raises(TimeoutError):
                future.result(timeout=0.05)
        finally:
            gate.open()

    impatient()


def test_map_refuses_iterables_of_different_lengths_and_no_iterable():
    @flow
    def uneven() -> None:
        scale.map([1, 2], [1, 2, 3])

    @flow
    def none_iterable() -> None:
        scale.map(1, factor=2)

    with pytest.raises(ValueError, match="one length"):
        uneven()
    with pytest.raises(ValueError, match="at least one iterable"):
        none_iterable()


def test_a_pool_of_one_thread_cannot_deadlock_on_dependencies(reporter):
    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def chain() -> int:
        value = square.submit(2)
        for _ in range(5):
            value = scale.submit(value, 2)
        return value.result()

    assert chain() == 4 * 2 ** 5


def test_submitted_tasks_run_concurrently(reporter):
    gate = Gate()
    arrived = []

    @task
    def meet(i: int) -> int:
        arrived.append(i)
        if len(arrived) == 3:
            gate.open()
        gate.wait()  # returns only once all three run at the same time
        return i

    @flow
    def meeting() -> list:
        return meet.map(range(3)).result()

    assert meeting() == [0, 1, 2]


def test_a_flow_waits_for_the_tasks_it_submitted_before_it_ends(reporter):
    @task
    def slow() -> None:
        time.sleep(0.05)

    @flow
    def fire_and_forget() -> None:
        slow.submit()

    fire_and_forget()
    task_run, = reporter.task_runs.values()
    assert task_run.state_type == "COMPLETED"


def test_submit_outside_a_flow_runs_the_plain_function_on_a_thread(reporter):
    future = square.submit(9)
    assert future.result(timeout=5) == 81
    assert reporter.task_runs == {}


def test_returned_futures_are_resolved_in_the_flows_result(reporter):
    @flow
    def returning_futures() -> dict:
        return {"values": square.map([1, 2])}

    assert returning_futures() == {"values": [1, 4]}
