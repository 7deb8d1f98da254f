"""State hooks: `on_completion`, `on_failure`, ... of flows and tasks.

Each hook runs once, when its run enters the matching final state, with (flow, flow_run,
state) or (task, task_run, state). A hook that raises is logged in the run's logs and does
not change the run's state: the run is over, and its other hooks still run. An async hook
is run to its end before the run's caller goes on.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Iterable

Hook = Callable[..., Any]


def run_hooks(hooks: Iterable[Hook], args: tuple, logger: logging.LoggerAdapter,
              state_name: str) -> None:
    from .timeouts import run_coroutine

    for hook in hooks:
        logger.info("Running hook %r in response to entering state %r", _name(hook), state_name)
        try:
            result = hook(*args)
            if inspect.isawaitable(result):
                run_coroutine(result)
        except Exception:  # noqa: BLE001 - a hook cannot fail a finished run
            logger.exception("Hook %r failed", _name(hook))


def as_hook_list(hooks: Hook | Iterable[Hook] | None, option: str) -> list[Hook]:
    """A decorator's hook option (one callable or several) as a list, checked."""
    if hooks is None:
        return []
    listed = [hooks] if callable(hooks) else list(hooks)
    for hook in listed:
        if not callable(hook):
            raise TypeError(f"{option} takes callables; {hook!r} is not one")
    return listed


def _name(hook: Hook) -> str:
    return getattr(hook, "__name__", repr(hook))
