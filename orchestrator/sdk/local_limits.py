"""Global concurrency limits enforced among the threads of this process: what flows called
directly (and tests) use, where the server's limits are not at hand.

A limit has `limit` slots; `acquire` takes slots on several limits at once (all or none, so
two callers asking for the same limits in another order cannot deadlock) and waits while
any of them is full. A limit with `slot_decay_per_second` frees its slots over time, which
is what a rate limit needs: its slots are never given back, they decay.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Sequence

from ..errors import ConcurrencySlotError, ConcurrencySlotTimeout
from .reporting import SlotLease


@dataclass
class _Limit:
    limit: int
    decay_per_s: float
    active: float = 0.0
    updated_at: float = 0.0

    def settle(self, now: float) -> None:
        """Let the slots decay up to `now`."""
        if self.decay_per_s:
            self.active = max(0.0, self.active - (now - self.updated_at) * self.decay_per_s)
        self.updated_at = now

    def wait_for_room_s(self, occupy: int) -> float:
        """How long until `occupy` slots are free through decay alone (inf without decay)."""
        excess = self.active + occupy - self.limit
        if excess <= 0:
            return 0.0
        return excess / self.decay_per_s if self.decay_per_s else float("inf")


class LocalLimits:
    def __init__(self):
        self._limits: dict[str, _Limit] = {}
        self._leases: dict[str, SlotLease] = {}
        self._changed = threading.Condition()

    def define(self, name: str, limit: int, slot_decay_per_second: float = 0.0) -> None:
        """Create or change the limit `name`."""
        if limit < 0 or slot_decay_per_second < 0:
            raise ValueError("a limit and its decay cannot be negative")
        with self._changed:
            self._limits[name] = _Limit(limit, slot_decay_per_second, updated_at=time.monotonic())
            self._changed.notify_all()

    def active_slots(self, name: str) -> float:
        with self._changed:
            limit = self._limits[name]
            limit.settle(time.monotonic())
            return limit.active

    def acquire(self, names: Sequence[str], occupy: int, timeout_s: float | None,
                rate_limit: bool, strict: bool) -> SlotLease:
        names = tuple(dict.fromkeys(names))
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._changed:
            held = self._check(names, occupy, rate_limit, strict)
            while True:
                now = time.monotonic()
                wait_s = self._wait_for_room_s(held, occupy, now)
                if wait_s == 0:
                    break
                if deadline is not None:
                    if now >= deadline:
                        raise ConcurrencySlotTimeout(
                            f"no {occupy} free slot(s) on {', '.join(held)} within {timeout_s} s")
                    wait_s = min(wait_s, deadline - now)
                self._changed.wait(None if wait_s == float("inf") else wait_s)
            for name in held:
                self._limits[name].active += occupy
            lease = SlotLease(str(uuid.uuid4()), held, occupy)
            if not rate_limit:
                self._leases[lease.id] = lease
            return lease

    def release(self, lease: SlotLease) -> None:
        with self._changed:
            if self._leases.pop(lease.id, None) is None:
                return  # released already, or a rate limit's slots, which decay instead
            now = time.monotonic()
            for name in lease.names:
                limit = self._limits.get(name)
                if limit is not None:
                    limit.settle(now)
                    limit.active = max(0.0, limit.active - lease.occupy)
            self._changed.notify_all()

    def _check(self, names: tuple[str, ...], occupy: int, rate_limit: bool,
               strict: bool) -> tuple[str, ...]:
        """The limits to take slots on; the errors no wait could fix."""
        missing = [name for name in names if name not in self._limits]
        if missing and strict:
            raise ConcurrencySlotError(f"concurrency limit(s) {', '.join(missing)} do not exist")
        held = tuple(name for name in names if name in self._limits)
        for name in held:
            limit = self._limits[name]
            if occupy > limit.limit:
                raise ConcurrencySlotError(
                    f"cannot take {occupy} slot(s) of concurrency limit {name}: it has {limit.limit}")
            if rate_limit and not limit.decay_per_s:
                raise ConcurrencySlotError(
                    f"rate_limit needs concurrency limit {name} to have a slot_decay_per_second")
        return held

    def _wait_for_room_s(self, held: tuple[str, ...], occupy: int, now: float) -> float:
        longest = 0.0
        for name in held:
            limit = self._limits[name]
            limit.settle(now)
            longest = max(longest, limit.wait_for_room_s(occupy))
        return longest
