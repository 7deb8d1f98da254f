"""Timeouts of task and flow attempts.

An async attempt is cancelled at its deadline. A sync one runs in a helper thread that the
caller stops waiting for at the deadline; Python cannot kill a thread, so the thread is told
to stop at its next Python instruction (a blocking call, like a sleep, finishes first) and
its outcome is ignored.
"""
from __future__ import annotations

import asyncio
import contextvars
import ctypes
import threading
from typing import Any, Awaitable, Callable

from ..errors import RunTimeoutError


class _Abandoned(BaseException):
    """Raised inside an attempt that went past its deadline, to stop it."""


def call_with_timeout(fn: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """`fn()`, or RunTimeoutError naming `what` when it takes longer than `timeout_s`."""
    context = contextvars.copy_context()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def attempt() -> None:
        try:
            outcome["value"] = context.run(fn)
        except _Abandoned:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=attempt, daemon=True, name="flowpool-timed-attempt")
    thread.start()
    if not done.wait(timeout_s):
        _stop_thread(thread)
        raise RunTimeoutError(f"{what} exceeded its timeout of {timeout_s} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


async def await_with_timeout(awaitable: Awaitable[Any], timeout_s: float, what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, timeout_s)
    except asyncio.TimeoutError:
        raise RunTimeoutError(f"{what} exceeded its timeout of {timeout_s} s") from None


def _stop_thread(thread: threading.Thread) -> None:
    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(_Abandoned))


def run_coroutine(awaitable: Awaitable[Any]) -> Any:
    """Run a coroutine to its end from sync code: in this thread when no event loop runs
    here, else in a helper thread with its own loop (this one must not be blocked re-entrantly)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(awaitable))
    return call_with_timeout(lambda: asyncio.run(_awaited(awaitable)), None, "coroutine")


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
