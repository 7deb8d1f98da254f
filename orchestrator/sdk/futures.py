"""Futures of submitted task runs, `wait`, `as_completed`, and the resolution of futures
passed as task arguments.

A future wraps a `concurrent.futures.Future` that is set to the task run's final State.
"""
from __future__ import annotations

import concurrent.futures
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from .annotations import allow_failure, quote, unmapped
from ..errors import UpstreamTaskError
from .states import Pending, State


class TaskRunFuture:
    """The pending result of a task run submitted with `.submit()` or `.map()`."""

    __slots__ = ("task_run", "_final")

    def __init__(self, task_run: Any = None):
        self.task_run = task_run  # None for a task submitted outside of any flow
        self._final: concurrent.futures.Future = concurrent.futures.Future()

    @property
    def task_run_id(self) -> str | None:
        return self.task_run.id if self.task_run is not None else None

    @property
    def state(self) -> State:
        """The final state when done, else the run's current one."""
        if self._final.done():
            return self._final.result()
        current = self.task_run.state if self.task_run is not None else None
        return current or Pending()

    def done(self) -> bool:
        return self._final.done()

    def wait(self, timeout: float | None = None) -> None:
        """Wait up to `timeout` seconds (forever by default) for the task run to finish."""
        concurrent.futures.wait([self._final], timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        """The task's return value, waiting for it; its error is raised (or returned with
        `raise_on_failure=False`). TimeoutError when not done within `timeout` seconds."""
        state = self._final.result(timeout=timeout)
        return state.result(raise_on_failure=raise_on_failure)

    def add_done_callback(self, fn: Callable[["TaskRunFuture"], Any]) -> None:
        self._final.add_done_callback(lambda _: fn(self))

    def set_state(self, state: State) -> None:
        """Finish the future (the task runner calls this with the final state)."""
        self._final.set_result(state)

    def __repr__(self) -> str:
        name = self.task_run.name if self.task_run is not None else "task"
        return f"TaskRunFuture({name!r}, {self.state.name})"


class TaskRunFutureList(list):
    """The futures of a `.map()`, in the order of the mapped values."""

    def wait(self, timeout: float | None = None) -> None:
        wait(self, timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list:
        return [future.result(timeout, raise_on_failure) for future in self]


class DoneAndNotDoneFutures(NamedTuple):
    done: set
    not_done: set


def wait(futures: Iterable[TaskRunFuture], timeout: float | None = None) -> DoneAndNotDoneFutures:
    """Wait up to `timeout` seconds for all `futures`; which are done and which are not."""
    by_inner = {future._final: future for future in futures}
    done, not_done = concurrent.futures.wait(by_inner, timeout=timeout)
    return DoneAndNotDoneFutures({by_inner[f] for f in done}, {by_inner[f] for f in not_done})


def as_completed(futures: Iterable[TaskRunFuture],
                 timeout: float | None = None) -> Iterator[TaskRunFuture]:
    """Yield `futures` as they finish; TimeoutError if some are not done within `timeout`."""
    by_inner = {future._final: future for future in futures}
    for inner in concurrent.futures.as_completed(by_inner, timeout=timeout):
        yield by_inner[inner]


# Futures as task arguments. Only lists, tuples, sets and dicts are looked into (as Prefect).

_LEAVES = (str, bytes, int, float, bool, type(None))


def collect_futures(value: Any, into: list[TaskRunFuture] | None = None) -> list[TaskRunFuture]:
    """Every future in `value`: what a submitted task waits for before it runs."""
    found = [] if into is None else into
    if isinstance(value, _LEAVES) or isinstance(value, quote):
        return found
    if isinstance(value, TaskRunFuture):
        found.append(value)
    elif isinstance(value, (allow_failure, unmapped)):
        collect_futures(value.value, found)
    elif isinstance(value, dict):
        for item in value.values():
            collect_futures(item, found)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            collect_futures(item, found)
    return found


def resolve_futures(value: Any, failure_allowed: bool = False) -> Any:
    """`value` with every future replaced by its result (waiting for it) and annotations
    unwrapped. UpstreamTaskError when a future's task did not complete, unless it is under
    `allow_failure`: then its error takes its place."""
    if isinstance(value, _LEAVES):
        return value
    if isinstance(value, TaskRunFuture):
        return _future_value(value, failure_allowed)
    if isinstance(value, quote):
        return value.value
    if isinstance(value, allow_failure):
        return resolve_futures(value.value, True)
    if isinstance(value, unmapped):
        return resolve_futures(value.value, failure_allowed)
    if isinstance(value, dict):
        items = {key: resolve_futures(item, failure_allowed) for key, item in value.items()}
        unchanged = all(items[key] is item for key, item in value.items())
        return value if unchanged else items
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [resolve_futures(item, failure_allowed) for item in value]
        if all(new is old for new, old in zip(items, value)):
            return value  # nothing to resolve: the caller's own object, as in a plain call
        plain = type(value) is list or isinstance(value, TaskRunFutureList)
        return items if plain else _rebuild(value, items)
    return value


def _future_value(future: TaskRunFuture, failure_allowed: bool) -> Any:
    future.wait()
    state = future.state
    if state.is_completed():
        return state.data
    if failure_allowed:
        return state.result(raise_on_failure=False)
    name = future.task_run.name if future.task_run is not None else "a task"
    raise UpstreamTaskError(f"upstream task run {name!r} did not complete (it ended "
                            f"{state.name}{': ' + state.message if state.message else ''})")


def _rebuild(original: Any, items: list) -> Any:
    if isinstance(original, tuple) and hasattr(original, "_fields"):  # a NamedTuple
        return type(original)(*items)
    return type(original)(items)
