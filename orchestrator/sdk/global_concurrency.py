"""Global concurrency limits from flow code: hold slots while a block runs, or take slots of a
rate limit.

    with concurrency("gpu", occupy=1): ...          # waits while the limit is full
    async with concurrency("db", occupy=2): ...     # same, without blocking the event loop
    rate_limit("api")                               # a limit with slot_decay_per_second

Limits are the reporter's: the server's for deployed runs, this process's for flows called
directly (`LocalReporter.create_concurrency_limit`). A limit that does not exist is skipped
with a warning, or refused with `strict=True`. `max_retries` and `lease_duration` are
accepted and ignored: slots are waited for until `timeout_seconds`, and held until the block
ends.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any, Sequence

from .reporting import SlotLease
from .run_context import ambient_reporter, current_run_context


class concurrency:
    """Hold `occupy` slots of each named limit for the duration of a `with` (or `async
    with`) block."""

    def __init__(self, names: str | Sequence[str], occupy: int = 1,
                 timeout_seconds: float | None = None, max_retries: int | None = None,
                 lease_duration: float | None = None, strict: bool = False, **ignored: Any):
        self.names = _name_list(names)
        self.occupy, self.timeout_seconds, self.strict = occupy, timeout_seconds, strict
        self._lease: SlotLease | None = None
        self._reporter: Any = None

    def __enter__(self) -> None:
        self._reporter = ambient_reporter()
        self._lease = _acquire(self._reporter, self.names, self.occupy, self.timeout_seconds,
                               False, self.strict)

    def __exit__(self, *exc_info: Any) -> None:
        self._reporter.release_slots(self._lease)

    async def __aenter__(self) -> None:
        self._reporter = ambient_reporter()
        taking = asyncio.get_running_loop().run_in_executor(
            None, contextvars.copy_context().run, _acquire, self._reporter, self.names,
            self.occupy, self.timeout_seconds, False, self.strict)
        try:
            self._lease = await asyncio.shield(taking)
        except asyncio.CancelledError:
            # Cancelled while waiting: slots taken after that are given back at once.
            taking.add_done_callback(self._give_back_if_taken)
            raise

    async def __aexit__(self, *exc_info: Any) -> None:
        await asyncio.to_thread(self._reporter.release_slots, self._lease)

    def _give_back_if_taken(self, taking: asyncio.Future) -> None:
        if not taking.cancelled() and taking.exception() is None:
            self._reporter.release_slots(taking.result())


def rate_limit(names: str | Sequence[str], occupy: int = 1, timeout_seconds: float | None = None,
               strict: bool = False) -> None:
    """Take `occupy` slots of each named limit (which must have slot_decay_per_second), waiting
    while they are spent; they come back as they decay."""
    _acquire(ambient_reporter(), _name_list(names), occupy, timeout_seconds, True, strict)


async def rate_limit_async(names: str | Sequence[str], occupy: int = 1,
                           timeout_seconds: float | None = None, strict: bool = False) -> None:
    await asyncio.to_thread(rate_limit, names, occupy, timeout_seconds, strict)


def _acquire(reporter: Any, names: list[str], occupy: int, timeout_s: float | None,
             rate_limit: bool, strict: bool) -> SlotLease:
    if occupy < 1:
        raise ValueError("occupy must be at least 1")
    lease = reporter.acquire_slots(names, occupy, timeout_s, rate_limit, strict)
    missing = [name for name in names if name not in lease.names]
    if missing:
        _logger().warning("concurrency limit(s) %s do not exist: running without them",
                          ", ".join(missing))
    return lease


def _name_list(names: str | Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _logger() -> Any:
    context = current_run_context()
    if context is None:
        return logging.getLogger("flowpool.concurrency")
    from .run_logging import run_logger

    return run_logger(context)
