"""Slots of global concurrency limits, held in Redis as leases that expire unless renewed.

Each limit has a sorted set of leases, member "OCCUPY|RUN_ID|LEASE_ID" scored by its expiry,
and a hash of the slots rate limits took, which decay at the limit's rate. A limit's slots in
use are the live leases' OCCUPY plus the decayed level. Every change is one Lua script, so
taking slots on several limits is all or none, and nothing else runs between the check and
the take; expired leases are dropped by every acquire, so a holder that died (SIGKILL, a lost
host) frees its slots when its lease runs out: nothing leaks, nothing needs a reaper. Times
are Redis's own clock (TIME), the same for every API replica.

The API calls these for flow runs (which have no Redis access); the lease's TTL is
FLOWPOOL_CRASH_AFTER_S, and holders renew well within it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from . import keys

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Drop the expired leases of a limit; the slots its live leases hold.
_HELD = """
local function held(leases, now)
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', '(' .. now)
  local total = 0
  for _, member in ipairs(redis.call('ZRANGE', leases, 0, -1)) do
    total = total + tonumber(string.match(member, '^(%d+)|'))
  end
  return total
end
local function level(decay, rate, now)
  local fields = redis.call('HMGET', decay, 'level', 'at')
  local value, at = tonumber(fields[1]) or 0, tonumber(fields[2]) or now
  if rate > 0 then value = math.max(0, value - (now - at) / 1000 * rate) end
  return value
end
"""

# KEYS: leases, decay of each limit. ARGV: member, occupy, ttl_ms, mode, then limit and rate of
# each limit. Returns {1} when taken, else {0, ms until decay alone frees enough, or -1}.
_ACQUIRE = _NOW_MS + _HELD + """
local occupy, ttl, mode = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local levels, wait, full = {}, 0, false
for i = 1, #KEYS / 2 do
  local limit, rate = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
  local in_use = held(KEYS[2 * i - 1], now)
  levels[i] = level(KEYS[2 * i], rate, now)
  local over = in_use + levels[i] + occupy - limit
  if over > 1e-9 then
    full = true
    if rate > 0 and over <= levels[i] + 1e-9 and wait >= 0 then
      wait = math.max(wait, math.ceil(over / rate * 1000))
    else
      wait = -1
    end
  end
end
if full then return {0, wait} end
for i = 1, #KEYS / 2 do
  if mode == 'rate_limit' then
    redis.call('HSET', KEYS[2 * i], 'level', tostring(levels[i] + occupy), 'at', now)
  else
    redis.call('ZADD', KEYS[2 * i - 1], now + ttl, ARGV[1])
  end
end
return {1, 0}
"""

# KEYS: leases of each limit of the lease. ARGV: member, ttl_ms. How many still held (an
# expired one is dropped, not revived).
_RENEW = _NOW_MS + """
local renewed = 0
for _, leases in ipairs(KEYS) do
  local expiry = tonumber(redis.call('ZSCORE', leases, ARGV[1]))
  if expiry and expiry >= now then
    redis.call('ZADD', leases, 'XX', now + tonumber(ARGV[2]), ARGV[1])
    renewed = renewed + 1
  elseif expiry then
    redis.call('ZREM', leases, ARGV[1])
  end
end
return renewed
"""

# KEYS: leases, decay. ARGV: rate. {slots held by live leases, decayed level} as text.
_USAGE = _NOW_MS + _HELD + """
return {tostring(held(KEYS[1], now)), tostring(level(KEYS[2], tonumber(ARGV[1]), now)), now}
"""


@dataclass(frozen=True)
class Limit:
    """What the acquire script needs of a limit (its row is in the database)."""

    name: str
    limit: int
    slot_decay_per_second: float = 0.0


@dataclass(frozen=True)
class Attempt:
    acquired: bool
    retry_after_s: float | None = None  # None: unknown (held slots free when released)


@dataclass(frozen=True)
class Holding:
    lease_id: str
    flow_run_id: str
    occupy: int
    expires: datetime


def member(occupy: int, run_id: str, lease_id: str) -> str:
    return f"{occupy}|{run_id}|{lease_id}"


def acquire(redis, limits: list[Limit], run_id: str, lease_id: str, occupy: int,
            rate_limit: bool, ttl_s: float) -> Attempt:
    """Take `occupy` slots on every limit at once (a lease, or a rate limit's decaying
    slots), or none when one of them has no room."""
    if not limits:
        return Attempt(True)
    script = redis.register_script(_ACQUIRE)
    args: list = [member(occupy, run_id, lease_id), occupy, _ms(ttl_s),
                  "rate_limit" if rate_limit else "concurrency"]
    for limit in limits:
        args += [limit.limit, repr(float(limit.slot_decay_per_second))]
    taken, wait_ms = script(keys=_limit_keys(limits), args=args)
    if taken:
        return Attempt(True)
    return Attempt(False, None if int(wait_ms) < 0 else int(wait_ms) / 1000)


def renew(redis, names: list[str], run_id: str, lease_id: str, occupy: int,
          ttl_s: float) -> bool:
    """Extend a lease on every limit it holds; False when it had expired on any (its slots
    may be someone else's now)."""
    script = redis.register_script(_RENEW)
    renewed = script(keys=[keys.concurrency_leases(n) for n in names],
                     args=[member(occupy, run_id, lease_id), _ms(ttl_s)])
    return int(renewed) == len(names)


def release(redis, names: list[str], run_id: str, lease_id: str, occupy: int) -> bool:
    """Give a lease's slots back; False when there was nothing left to give (idempotent)."""
    lease = member(occupy, run_id, lease_id)
    with redis.pipeline(transaction=True) as pipe:
        for name in names:
            pipe.zrem(keys.concurrency_leases(name), lease)
        return any(pipe.execute())


def usage(redis, limit: Limit) -> tuple[float, list[Holding]]:
    """Slots in use now (held plus not yet decayed), and the live leases holding them."""
    script = redis.register_script(_USAGE)
    held, level, now_ms = script(keys=_limit_keys([limit]),
                                 args=[repr(float(limit.slot_decay_per_second))])
    leases = redis.zrangebyscore(keys.concurrency_leases(limit.name), int(now_ms), "+inf",
                                 withscores=True)
    return float(held) + float(level), [_holding(m, score) for m, score in leases]


def forget(redis, name: str) -> None:
    """Drop a deleted limit's leases and decay."""
    redis.delete(keys.concurrency_leases(name), keys.concurrency_decay(name))


def _holding(raw: bytes | str, expiry_ms: float) -> Holding:
    text = raw.decode() if isinstance(raw, bytes) else raw
    occupy, run_id, lease_id = text.split("|", 2)
    return Holding(lease_id, run_id, int(occupy),
                   datetime.fromtimestamp(expiry_ms / 1000, timezone.utc))


def _limit_keys(limits: list[Limit]) -> list[str]:
    return [key for limit in limits
            for key in (keys.concurrency_leases(limit.name), keys.concurrency_decay(limit.name))]


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
