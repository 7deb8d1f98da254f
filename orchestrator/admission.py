"""Which waiting runs may take a slot now: pure policy over limits and current usage.

A slot is held by a run in PENDING, RUNNING or CANCELLING; usage is counted from run states
in the same transaction that admits, so a slot frees itself when its run becomes final and
nothing can drift. Limits stack: pool, work queue and deployment must all have room.
Candidates arrive in admission order (queue priority, then scheduled time); a run that cannot
go is skipped, never waited on, so a blocked group holds back nobody else.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CANCEL_NEW = "CANCEL_NEW"


@dataclass(frozen=True)
class Candidate:
    run_id: str
    pool: str
    queue: str
    deployment_id: str | None


@dataclass(frozen=True)
class DeploymentLimit:
    limit: int
    collision_strategy: str = "ENQUEUE"


@dataclass(frozen=True)
class Limits:
    pools: dict[str, int | None] = field(default_factory=dict)
    queues: dict[tuple[str, str], int | None] = field(default_factory=dict)
    deployments: dict[str, DeploymentLimit] = field(default_factory=dict)


@dataclass
class Usage:
    pools: Counter = field(default_factory=Counter)
    queues: Counter = field(default_factory=Counter)
    deployments: Counter = field(default_factory=Counter)

    def take(self, c: Candidate) -> None:
        self.pools[c.pool] += 1
        self.queues[(c.pool, c.queue)] += 1
        if c.deployment_id:
            self.deployments[c.deployment_id] += 1


@dataclass(frozen=True)
class WorkerCapacity:
    """How many runs the online workers of each pool (and of each work queue) can hold."""

    pools: dict[str, int] = field(default_factory=dict)
    queues: dict[tuple[str, str], int] = field(default_factory=dict)
    # pool -> queues served by every worker of the pool (a worker without --work-queue)
    pools_serving_all: frozenset[str] = frozenset()

    @classmethod
    def from_beats(cls, beats_by_pool: dict, now: float, offline_after_s: float) -> "WorkerCapacity":
        pools, queues, serving_all = {}, {}, set()
        for pool, beats in beats_by_pool.items():
            online = [b for b in beats if b.online(now, offline_after_s)]
            pools[pool] = sum(b.limit for b in online)
            if any(not b.work_queues for b in online):
                serving_all.add(pool)
            for beat in online:
                for queue in beat.work_queues:
                    queues[(pool, queue)] = queues.get((pool, queue), 0) + beat.limit
        return cls(pools, queues, frozenset(serving_all))

    def for_queue(self, pool: str, queue: str) -> int:
        all_queues = self.pools.get(pool, 0) if pool in self.pools_serving_all else 0
        return all_queues + self.queues.get((pool, queue), 0)

    def apply(self, limits: "Limits") -> "Limits":
        """The limits tightened by what the online workers can take."""
        pools = {p: _tighter(limit, self.pools.get(p, 0)) for p, limit in limits.pools.items()}
        queues = {q: _tighter(limit, self.for_queue(*q)) for q, limit in limits.queues.items()}
        return Limits(pools, queues, limits.deployments)


def _tighter(limit: int | None, capacity: int) -> int:
    return capacity if limit is None else min(limit, capacity)


@dataclass
class Admission:
    admitted: list[Candidate] = field(default_factory=list)
    cancelled: list[tuple[Candidate, str]] = field(default_factory=list)


def is_full(limit: int | None, in_use: int) -> bool:
    return limit is not None and in_use >= limit


def full_pools(limits: Limits, usage: Usage) -> set[str]:
    return {p for p, limit in limits.pools.items() if is_full(limit, usage.pools[p])}


def full_queues(limits: Limits, usage: Usage) -> set[tuple[str, str]]:
    return {q for q, limit in limits.queues.items() if is_full(limit, usage.queues[q])}


def full_deployments(limits: Limits, usage: Usage, strategy: str | None = None) -> set[str]:
    return {d for d, rule in limits.deployments.items()
            if is_full(rule.limit, usage.deployments[d])
            and (strategy is None or rule.collision_strategy == strategy)}


def cancel_new_reason(rule: DeploymentLimit) -> str:
    return (f"cancelled: the deployment's concurrency limit of {rule.limit} was reached"
            " (collision strategy CANCEL_NEW)")


def admit(candidates: list[Candidate], limits: Limits, usage: Usage) -> Admission:
    """Walk the candidates in order, admitting each one every limit has room for."""
    result = Admission()
    for c in candidates:
        rule = limits.deployments.get(c.deployment_id) if c.deployment_id else None
        if rule and is_full(rule.limit, usage.deployments[c.deployment_id]):
            if rule.collision_strategy == CANCEL_NEW:
                result.cancelled.append((c, cancel_new_reason(rule)))
            continue
        if is_full(limits.pools.get(c.pool), usage.pools[c.pool]):
            continue
        if is_full(limits.queues.get((c.pool, c.queue)), usage.queues[(c.pool, c.queue)]):
            continue
        usage.take(c)
        result.admitted.append(c)
    return result
