"""One scheduler leads at a time: a Redis lease lock (SET NX PX) that its holder renews from a
thread, so a leader that crashes or loses Redis stops leading within one lease period.

The holder trusts its lease only until `lease_s` after it last sent a successful renewal,
measured on its own monotonic clock from before the command was sent; Redis's copy of the
key outlives that, so the old leader has always stopped before anyone else can start. Even
if two schedulers ever overlapped, dispatch stays safe: each run moves to PENDING by a
compare-and-set, and runs are created with idempotency keys.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Callable

from .. import keys

log = logging.getLogger(__name__)

# Renew three times per lease: two renewals can fail before the lease lapses.
RENEWALS_PER_LEASE = 3

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def scheduler_identity() -> str:
    """Who holds the lease, as shown in logs and in Redis: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLease:
    """The lease itself: acquire, renew, release, and whether it is still ours."""

    def __init__(self, redis, lease_s: float, identity: str | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.redis, self.lease_s, self.clock = redis, lease_s, clock
        self.identity = identity or scheduler_identity()
        self._valid_until = 0.0
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def held(self) -> bool:
        return self.clock() < self._valid_until

    def acquire(self) -> bool:
        """Take the lease if nobody holds it (or renew it if we do)."""
        sent_at = self.clock()
        taken = self.redis.set(keys.SCHEDULER_LEADER_LOCK, self.identity, nx=True,
                               px=self._lease_ms())
        if taken or self._renewed():
            self._valid_until = sent_at + self.lease_s
            return True
        return False

    def renew(self) -> bool:
        """Extend the lease; False (and no longer held) when it is not ours any more."""
        sent_at = self.clock()
        if self._renewed():
            self._valid_until = sent_at + self.lease_s
            return True
        self._valid_until = 0.0
        return False

    def release(self) -> None:
        """Give the lease up at once, so a standby takes over without waiting it out."""
        self._valid_until = 0.0
        self._release(keys=[keys.SCHEDULER_LEADER_LOCK], args=[self.identity])

    def _renewed(self) -> bool:
        return bool(self._renew(keys=[keys.SCHEDULER_LEADER_LOCK],
                                args=[self.identity, self._lease_ms()]))

    def _lease_ms(self) -> int:
        return int(self.lease_s * 1000)


class LeaseKeeper(threading.Thread):
    """Renews a held lease from its own thread, so a long tick cannot let it lapse; calls
    `on_lost` when a renewal finds the lease gone or Redis unreachable for too long."""

    def __init__(self, lease: LeaderLease, stop: threading.Event, on_lost: Callable[[], None]):
        super().__init__(name="flowpool-leader-lease", daemon=True)
        self.lease, self.stop, self.on_lost = lease, stop, on_lost

    def run(self) -> None:
        while not self.stop.wait(self.lease.lease_s / RENEWALS_PER_LEASE):
            if not self.lease.held():
                continue  # standby, or lapsed already (the scheduler loop sees that itself)
            self._renew()
            if not self.lease.held():
                log.warning("scheduler %s lost the leadership", self.lease.identity)
                self.on_lost()

    def _renew(self) -> None:
        try:
            self.lease.renew()
        except Exception as exc:  # Redis away: keep trying while the lease lasts
            log.warning("cannot renew the scheduler lease (%s)", exc)
