"""The `@flow` decorator. Calling a decorated function still just runs it."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable


class Flow:
    """A function marked as a flow, with the options that deployments and runs use."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None,
                 description: str | None = None, version: str | None = None,
                 retries: int = 0, retry_delay_seconds: float | list[float] = 0,
                 timeout_seconds: float | None = None, log_prints: bool = True):
        if not callable(fn):
            raise TypeError("@flow decorates a function")
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        self.description = description or inspect.getdoc(fn)
        self.version = version
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.timeout_seconds = timeout_seconds
        self.log_prints = log_prints
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r}, fn={self.fn.__qualname__})"


def flow(fn: Callable[..., Any] | None = None, **options: Any):
    """Mark a function as a flow: `@flow` or `@flow(name=..., retries=..., ...)`."""
    if fn is None:
        return lambda f: Flow(f, **options)
    return Flow(fn, **options)
