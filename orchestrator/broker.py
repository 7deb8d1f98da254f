"""Clients of the broker's Redis that fail fast, and whether the broker answers."""
from __future__ import annotations

PROBE_TIMEOUT_S = 0.5


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
