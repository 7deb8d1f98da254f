"""Retry policy of tasks and flows, as pure functions: how long to wait before the next
attempt, with jitter, and exponential backoff."""
from __future__ import annotations

import random
from typing import Callable, Sequence

from ..states import retry_delay_s as base_delay_s

Delays = float | Sequence[float] | Callable[[int], Sequence[float]]


def delay_list(delays: Delays | None, retries: int) -> float | list[float]:
    """`retry_delay_seconds` as a number or a list (a callable is asked once, with `retries`)."""
    if delays is None:
        return 0.0
    if callable(delays):
        delays = delays(retries)
    return list(delays) if isinstance(delays, (list, tuple)) else float(delays)


def retry_delay_s(delays: float | list[float], attempt: int, jitter_factor: float | None = None,
                  uniform: Callable[[], float] = random.random) -> float:
    """The wait after failed attempt `attempt` (1-based): the list's entry for it (its last
    repeats), moved at random by up to `jitter_factor` of itself either way, never below 0."""
    delay = base_delay_s(delays, attempt)
    if not jitter_factor or not delay:
        return delay
    low, high = delay * max(0.0, 1 - jitter_factor), delay * (1 + jitter_factor)
    return low + (high - low) * uniform()


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """`retry_delay_seconds=exponential_backoff(10)`: 10, 20, 40, ... seconds."""
    if backoff_factor < 0:
        raise ValueError("backoff_factor cannot be negative")

    def delays(retries: int) -> list[float]:
        return [backoff_factor * 2 ** attempt for attempt in range(retries)]

    return delays
