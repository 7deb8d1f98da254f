"""Liveness in Redis: per-run heartbeat leases, cancel requests, worker heartbeats, and who
holds the scheduler's leader lease (read here; taken and kept by `scheduler/leader.py`).

A worker's supervisor renews its run's lease from a thread user code cannot starve; the
scheduler treats a RUNNING run without a lease as crashed. Workers record a heartbeat per pool
so the scheduler knows which workers are online and how many runs they can take.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from . import keys

CANCEL_REQUEST_TTL_S = 24 * 3600


def renew_lease(redis, run_id: str, token: str, ttl_s: float) -> None:
    redis.set(keys.run_lease(run_id), token, px=int(ttl_s * 1000))


def drop_lease(redis, run_id: str) -> None:
    redis.delete(keys.run_lease(run_id))


def live_leases(redis, run_ids: list[str]) -> set[str]:
    """The runs among `run_ids` whose lease has not expired."""
    if not run_ids:
        return set()
    values = redis.mget([keys.run_lease(r) for r in run_ids])
    return {run_id for run_id, value in zip(run_ids, values) if value is not None}


def request_cancel(redis, run_id: str) -> None:
    redis.set(keys.cancel_request(run_id), "1", ex=CANCEL_REQUEST_TTL_S)


def cancel_requested(redis, run_id: str) -> bool:
    return bool(redis.exists(keys.cancel_request(run_id)))


def clear_cancel_request(redis, run_id: str) -> None:
    redis.delete(keys.cancel_request(run_id))


@dataclass
class WorkerBeat:
    """What a worker says about itself on each heartbeat."""

    name: str
    pool: str
    limit: int
    work_queues: list[str] = field(default_factory=list)  # empty: every queue of the pool
    hostname: str = ""
    pid: int = 0
    started: float = 0.0
    last_seen: float = 0.0

    def online(self, now: float, offline_after_s: float) -> bool:
        return now - self.last_seen <= offline_after_s

    def serves(self, queue: str) -> bool:
        return not self.work_queues or queue in self.work_queues


def record_worker_beat(redis, beat: WorkerBeat) -> None:
    beat.last_seen = time.time()
    redis.hset(keys.pool_workers(beat.pool), beat.name, json.dumps(asdict(beat)))


def forget_worker(redis, pool: str, name: str) -> None:
    redis.hdel(keys.pool_workers(pool), name)


def read_worker_beats(redis, pool: str) -> list[WorkerBeat]:
    raw = redis.hgetall(keys.pool_workers(pool))
    return sorted((WorkerBeat(**json.loads(v)) for v in raw.values()), key=lambda b: b.name)


def current_leader(redis) -> str | None:
    """The identity of the scheduler that holds the lease, or None when nobody leads."""
    value = redis.get(keys.SCHEDULER_LEADER_LOCK)
    return value.decode() if isinstance(value, bytes) else value
