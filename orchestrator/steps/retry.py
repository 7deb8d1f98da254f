"""Retry an action on transient failures, with a growing delay between attempts."""
from __future__ import annotations

import logging
import time
from typing import Callable, Sequence, TypeVar

from .errors import StepFailed

T = TypeVar("T")
log = logging.getLogger("flowpool.steps")


def call_with_retries(action: Callable[[], T], *, what: str,
                      is_transient: Callable[[StepFailed], bool],
                      delays_s: Sequence[float],
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `action`; after a transient StepFailed wait the next delay and try again.

    `len(delays_s) + 1` attempts in all. A failure that is not transient, or the last
    one, propagates unchanged.
    """
    attempts = len(delays_s) + 1
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except StepFailed as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            delay = delays_s[attempt - 1]
            log.warning("%s failed (attempt %d of %d), retrying in %.0f s: %s",
                        what, attempt, attempts, delay, exc.message)
            sleep(delay)
    raise AssertionError("unreachable")
