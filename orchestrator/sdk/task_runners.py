"""The task runner: where `.submit()` and `.map()` run tasks. As in Prefect 3, a thread pool
in the flow's own process.

A task whose arguments include futures is handed to the pool only once those futures are
done (a callback on each), so a pool thread never sits waiting for another task: however
small the pool, dependencies cannot deadlock it.
"""
from __future__ import annotations

import concurrent.futures
import contextvars
import os
import threading
from typing import Any, Callable, Sequence

from .futures import TaskRunFuture
from .states import State

DEFAULT_MAX_WORKERS = 64


def default_max_workers() -> int:
    """`FLOWPOOL_TASK_RUNNER_MAX_WORKERS`, else 64 threads per flow run."""
    return int(os.environ.get("FLOWPOOL_TASK_RUNNER_MAX_WORKERS") or DEFAULT_MAX_WORKERS)


class ThreadPoolTaskRunner:
    """Runs submitted tasks on at most `max_workers` threads, made as needed."""

    def __init__(self, max_workers: int | None = None):
        if max_workers is not None and max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures: list[TaskRunFuture] = []
        self._lock = threading.Lock()

    def duplicate(self) -> "ThreadPoolTaskRunner":
        """A fresh runner with the same settings (each flow run gets its own)."""
        return type(self)(self.max_workers)

    def submit(self, work: Callable[[], State], dependencies: Sequence[TaskRunFuture] = (),
               task_run: Any = None) -> TaskRunFuture:
        """Run `work` (which returns the task run's final state) once every future in
        `dependencies` is done, in a copy of the caller's context."""
        future = TaskRunFuture(task_run)
        context = contextvars.copy_context()
        with self._lock:
            self._futures.append(future)
        pending = [dependency for dependency in dependencies if not dependency.done()]
        if not pending:
            self._start(work, future, context)
            return future
        remaining = [len(pending)]

        def one_done(_: TaskRunFuture) -> None:
            with self._lock:
                remaining[0] -= 1
                ready = remaining[0] == 0
            if ready:
                self._start(work, future, context)

        for dependency in pending:
            dependency.add_done_callback(one_done)
        return future

    def _start(self, work: Callable[[], State], future: TaskRunFuture,
               context: contextvars.Context) -> None:
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = concurrent.futures.ThreadPoolExecutor(
                        self.max_workers or default_max_workers(),
                        thread_name_prefix="flowpool-task")
        self._executor.submit(context.run, _finish, work, future)

    def shutdown(self) -> None:
        """Wait for every task submitted here (and those they submit), then stop the pool."""
        while True:
            with self._lock:
                unfinished = [future for future in self._futures if not future.done()]
            if not unfinished:
                break
            concurrent.futures.wait([future._final for future in unfinished])
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> "ThreadPoolTaskRunner":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.shutdown()


def _finish(work: Callable[[], State], future: TaskRunFuture) -> None:
    try:
        state = work()
    except BaseException as exc:  # noqa: BLE001 - a crash still ends the future
        future._final.set_exception(exc)
        return
    future.set_state(state)
