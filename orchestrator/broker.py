"""Clients of the broker's Redis that fail fast, and whether the broker answers: one PING with
a short timeout and no retries, remembered for a moment, so a health endpoint polled often
stays fast and costs Redis almost nothing."""
from __future__ import annotations

import threading
import time
from typing import Callable

PROBE_TIMEOUT_S = 0.5
REMEMBER_S = 0.25


def redis_client(url: str, timeout_s: float, retries: int = 1, **options):
    """A Redis client whose commands fail within about (1 + `retries`) x `timeout_s`: one
    immediate retry covers a pooled connection that died with a restarted Redis, while
    redis-py's default (ten retries with backoff) would hold callers for seconds whenever the
    broker is down. Callers retry on their own schedule (heartbeats, ticks, requests)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                retry=Retry(NoBackoff(), retries), **options)


def quick_client(url: str, timeout_s: float = PROBE_TIMEOUT_S):
    """A client for probing: one attempt of at most `timeout_s`."""
    return redis_client(url, timeout_s, retries=0)


def answers(client) -> bool:
    """True when the server replies to PING (not when it refuses, is loading, or is away)."""
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


class BrokerProbe:
    """`up()` answers from the last PING while it is younger than `remember_s`."""

    def __init__(self, url: str, remember_s: float = REMEMBER_S,
                 clock: Callable[[], float] = time.monotonic):
        self.client = quick_client(url)
        self.remember_s, self.clock = remember_s, clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._up = False

    def up(self) -> bool:
        with self._lock:  # concurrent callers share one PING
            now = self.clock()
            if self._checked_at is None or now - self._checked_at >= self.remember_s:
                self._up = answers(self.client)
                self._checked_at = self.clock()
            return self._up

    def close(self) -> None:
        self.client.close()
