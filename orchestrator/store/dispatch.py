"""The queries of admission and dispatch: limits and slots in use, due candidates, runs to
cancel or dispatch again, when the next thing falls due, and the lock that serializes
dispatching transactions. The scheduler decides with `admission.py`; the API reads the same
limits and usage to say why a run waits. The state writes are `flow_runs.set_state` and its
bulk form `flow_runs.issue_tokens`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..admission import (CANCEL_NEW, Candidate, DeploymentLimit, Limits, Usage, cancel_new_reason,
                         full_deployments, full_pools, full_queues)
from ..states import SLOT_HOLDING_STATES, StateType
from .tables import deployments, flow_runs, work_pools, work_queues

DISPATCH_LOCK_ID = 0x666C6F77  # PostgreSQL advisory lock: one dispatching transaction at a time
LEASED_STATES = (StateType.RUNNING.value, StateType.CANCELLING.value)


def lock_dispatch(conn: sa.Connection) -> None:
    """Serialize dispatching transactions (SQLite already does, with BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": DISPATCH_LOCK_ID})


def load_limits(conn: sa.Connection) -> Limits:
    pools = {r.name: r.concurrency_limit for r in conn.execute(
        sa.select(work_pools.c.name, work_pools.c.concurrency_limit))}
    queues = {(r.work_pool_name, r.name): r.concurrency_limit for r in conn.execute(
        sa.select(work_queues.c.work_pool_name, work_queues.c.name,
                  work_queues.c.concurrency_limit))}
    limited = conn.execute(sa.select(deployments.c.id, deployments.c.concurrency_limit,
                                     deployments.c.collision_strategy)
                           .where(deployments.c.concurrency_limit.is_not(None)))
    return Limits(pools, queues, {r.id: DeploymentLimit(r.concurrency_limit, r.collision_strategy)
                                  for r in limited})


def load_usage(conn: sa.Connection) -> Usage:
    """Slots in use, counted from run states (indexed on state_type)."""
    query = (sa.select(flow_runs.c.work_pool_name, flow_runs.c.work_queue_name,
                       flow_runs.c.deployment_id, sa.func.count())
             .where(flow_runs.c.state_type.in_([s.value for s in SLOT_HOLDING_STATES]),
                    flow_runs.c.parent_flow_run_id.is_(None))  # child runs hold no slot
             .group_by(flow_runs.c.work_pool_name, flow_runs.c.work_queue_name,
                       flow_runs.c.deployment_id))
    usage = Usage()
    for pool, queue, deployment_id, count in conn.execute(query):
        usage.pools[pool] += count
        usage.queues[(pool, queue)] += count
        if deployment_id:
            usage.deployments[deployment_id] += count
    return usage


def paused_pools_and_queues(conn: sa.Connection) -> tuple[frozenset[str],
                                                          frozenset[tuple[str, str]]]:
    """The names of the paused work pools, and (pool, queue) of the paused work queues."""
    pools = conn.execute(sa.select(work_pools.c.name).where(work_pools.c.paused.is_(True)))
    queues = conn.execute(sa.select(work_queues.c.work_pool_name, work_queues.c.name)
                          .where(work_queues.c.paused.is_(True)))
    return frozenset(pools.scalars()), frozenset((r.work_pool_name, r.name) for r in queues)


def _due(now: datetime):
    return sa.and_(flow_runs.c.state_type == StateType.SCHEDULED.value,
                   flow_runs.c.scheduled_time <= now,
                   flow_runs.c.parent_flow_run_id.is_(None))  # child runs are never dispatched


def due_candidates(conn: sa.Connection, now: datetime, limits: Limits, usage: Usage,
                   limit: int) -> list[Candidate]:
    """Due runs in open pools and queues whose limits have room: queue priority, then time.

    Groups that are already full are filtered out here, before the window is cut, so runs
    that cannot go never crowd out runs that can.
    """
    query = (
        sa.select(flow_runs.c.id, flow_runs.c.work_pool_name, flow_runs.c.work_queue_name,
                  flow_runs.c.deployment_id)
        .join(work_pools, work_pools.c.name == flow_runs.c.work_pool_name)
        .join(work_queues, sa.and_(work_queues.c.work_pool_name == flow_runs.c.work_pool_name,
                                   work_queues.c.name == flow_runs.c.work_queue_name))
        .where(_due(now), work_pools.c.paused.is_(False), work_queues.c.paused.is_(False))
        .order_by(work_queues.c.priority, flow_runs.c.scheduled_time, flow_runs.c.created)
        .limit(limit))
    if pools := full_pools(limits, usage):
        query = query.where(flow_runs.c.work_pool_name.not_in(pools))
    if queues := full_queues(limits, usage):
        query = query.where(sa.tuple_(flow_runs.c.work_pool_name,
                                      flow_runs.c.work_queue_name).not_in(list(queues)))
    if blocked := full_deployments(limits, usage, "ENQUEUE"):
        query = query.where(flow_runs.c.deployment_id.not_in(blocked))
    return [Candidate(r.id, r.work_pool_name, r.work_queue_name, r.deployment_id)
            for r in conn.execute(query)]


def runs_to_cancel_new(conn: sa.Connection, now: datetime, limits: Limits,
                       usage: Usage) -> list[tuple[str, str]]:
    """Due runs of CANCEL_NEW deployments at their limit, wherever they wait."""
    full = full_deployments(limits, usage, CANCEL_NEW)
    if not full:
        return []
    query = sa.select(flow_runs.c.id, flow_runs.c.deployment_id).where(
        _due(now), flow_runs.c.deployment_id.in_(full))
    return [(r.id, cancel_new_reason(limits.deployments[r.deployment_id]))
            for r in conn.execute(query)]


def unclaimed_runs(conn: sa.Connection, now: datetime, claim_timeout_s: float) -> list[str]:
    cutoff = now - timedelta(seconds=claim_timeout_s)
    query = sa.select(flow_runs.c.id).where(flow_runs.c.state_type == StateType.PENDING.value,
                                            flow_runs.c.state_changed <= cutoff,
                                            flow_runs.c.parent_flow_run_id.is_(None))
    return list(conn.execute(query).scalars())


def leased_runs(conn: sa.Connection, now: datetime, quiet_s: float) -> list[tuple[str, str]]:
    """(id, state) of the RUNNING and CANCELLING runs whose state is older than `quiet_s`:
    the ones whose heartbeat lease the reaper checks."""
    cutoff = now - timedelta(seconds=quiet_s)
    query = sa.select(flow_runs.c.id, flow_runs.c.state_type).where(
        flow_runs.c.state_type.in_(LEASED_STATES), flow_runs.c.state_changed <= cutoff,
        flow_runs.c.parent_flow_run_id.is_(None))  # a child run ends with its root
    return [(r.id, r.state_type) for r in conn.execute(query)]


def next_due_time(conn: sa.Connection, now: datetime, claim_timeout_s: float) -> datetime | None:
    """When the next thing falls due: the earliest run scheduled in the future, or the earliest
    claim deadline of a PENDING run (its message may be lost: nothing else rings for that).
    Runs blocked by a limit or a pause wait for the doorbell."""
    scheduled = conn.execute(sa.select(sa.func.min(flow_runs.c.scheduled_time)).where(
        flow_runs.c.state_type == StateType.SCHEDULED.value,
        flow_runs.c.scheduled_time > now, flow_runs.c.parent_flow_run_id.is_(None))).scalar()
    pending = conn.execute(sa.select(sa.func.min(flow_runs.c.state_changed)).where(
        flow_runs.c.state_type == StateType.PENDING.value)).scalar()
    claim_deadline = pending + timedelta(seconds=claim_timeout_s) if pending else None
    return min((t for t in (scheduled, claim_deadline) if t is not None), default=None)
