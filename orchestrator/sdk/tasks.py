"""The `@task` decorator.

Inside a flow run, calling a task runs it as a task run (recorded, retried, cached, timed
out as its options say); `.submit()` and `.map()` run it on the flow's task runner and give
futures. Outside any flow run, calling a task just calls its function.

Accepted and ignored (results are not persisted apart from the task cache, and flowpool has
no transactions or assets): `persist_result` (except that `True` turns on the default cache
policy), `result_storage`, `result_serializer`, `result_storage_key`,
`cache_result_in_memory`, `on_rollback`, `on_commit`, `viz_return_value`, `asset_deps`.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

from ..errors import PrefectApiNotSupported

if TYPE_CHECKING:
    from datetime import timedelta

    from .caching import CachePolicy

_IGNORED = ("persist_result", "result_storage", "result_serializer", "result_storage_key",
            "cache_result_in_memory", "on_rollback", "on_commit", "viz_return_value",
            "asset_deps")


class Task:
    """A function marked as a task, with its run options."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None,
                 description: str | None = None, tags: Any = None, version: str | None = None,
                 cache_policy: "CachePolicy | None" = None,
                 cache_key_fn: Callable[..., str | None] | None = None,
                 cache_expiration: "timedelta | float | None" = None,
                 task_run_name: str | Callable[..., str] | None = None, retries: int | None = None,
                 retry_delay_seconds: Any = None, retry_jitter_factor: float | None = None,
                 retry_condition_fn: Callable[..., bool] | None = None,
                 timeout_seconds: float | None = None, log_prints: bool | None = None,
                 refresh_cache: bool | None = None, on_completion: Any = None,
                 on_failure: Any = None, on_running: Any = None, **ignored: Any):
        # every option as given, what with_options() starts from
        self._options = {key: value for key, value in locals().items()
                         if key not in ("self", "fn", "ignored")} | ignored
        if not callable(fn):
            raise TypeError("@task decorates a function")
        unknown = sorted(set(ignored) - set(_IGNORED))
        if unknown:
            raise TypeError(f"@task got unknown option(s): {', '.join(unknown)}")
        from .hooks import as_hook_list

        self.fn = fn
        self.name = name or getattr(fn, "__name__", "task")
        self.description = description or inspect.getdoc(fn)
        self.version = version
        self.tags = _tag_tuple(tags)
        self.task_run_name = task_run_name
        self.retries = retries or 0
        self.retry_delay_seconds = retry_delay_seconds
        self.retry_jitter_factor = retry_jitter_factor
        self.retry_condition_fn = retry_condition_fn
        self.timeout_seconds = timeout_seconds
        self.log_prints = log_prints
        self.cache_policy = cache_policy
        self.cache_key_fn = cache_key_fn
        self.cache_expiration = cache_expiration
        self.refresh_cache = bool(refresh_cache)
        self.persist_result = ignored.get("persist_result")
        self.on_completion_hooks = as_hook_list(on_completion, "on_completion")
        self.on_failure_hooks = as_hook_list(on_failure, "on_failure")
        self.on_running_hooks = as_hook_list(on_running, "on_running")
        self.isasync = inspect.iscoroutinefunction(fn)
        self.task_key = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', self.name)}"
        self._signature: inspect.Signature | None = None
        self._settings: Any = None  # run settings worked out at the first run (task_engine)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    @property
    def signature(self) -> inspect.Signature:
        if self._signature is None:
            self._signature = inspect.signature(self.fn)
        return self._signature

    def __call__(self, *args: Any, return_state: bool = False, wait_for: Any = None,
                 **kwargs: Any) -> Any:
        """Run the task (a task run inside a flow run); an async task gives a coroutine."""
        from . import task_engine

        if self.isasync:
            return task_engine.call_task_async(self, args, kwargs, return_state, wait_for)
        return task_engine.call_task(self, args, kwargs, return_state, wait_for)

    def submit(self, *args: Any, return_state: bool = False, wait_for: Any = None,
               **kwargs: Any) -> Any:
        """Run the task on the flow run's task runner; a future of its result."""
        from . import task_engine

        return task_engine.submit_task(self, args, kwargs, return_state, wait_for)

    def map(self, *args: Any, return_state: bool = False, wait_for: Any = None,
            deferred: bool = False, **kwargs: Any) -> Any:
        """One submitted run per item of the iterable arguments (`unmapped(x)` for a value
        passed whole to each); a list of futures in the same order."""
        from . import task_engine

        return task_engine.map_task(self, args, kwargs, wait_for)

    def with_options(self, **options: Any) -> "Task":
        """A copy of this task with some options changed."""
        return type(self)(self.fn, **{**self._options, **options})

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return _BoundTask(self, instance)

    def __repr__(self) -> str:
        return f"Task(name={self.name!r}, fn={getattr(self.fn, '__qualname__', self.fn)!r})"

    # Prefect's background tasks need Prefect's task workers.

    def delay(self, *args: Any, **kwargs: Any) -> Any:
        raise PrefectApiNotSupported("Task.delay is not supported by flowpool (use .submit())")

    def apply_async(self, *args: Any, **kwargs: Any) -> Any:
        raise PrefectApiNotSupported("Task.apply_async is not supported by flowpool "
                                     "(use .submit())")

    def serve(self, *args: Any, **kwargs: Any) -> Any:
        raise PrefectApiNotSupported("Task.serve is not supported by flowpool")


class _BoundTask:
    """A task defined as a method, reached through an instance: `self` comes first."""

    def __init__(self, task: Task, instance: Any):
        self._task, self._instance = task, instance

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._task(self._instance, *args, **kwargs)

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        return self._task.submit(self._instance, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)


def task(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Mark a function as a task: `@task` or `@task(name=..., retries=..., ...)`."""
    if fn is None:
        return lambda f: Task(f, **options)
    return Task(fn, **options)


def _tag_tuple(tags: Any) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        return (tags,)
    return tuple(dict.fromkeys(tags))
