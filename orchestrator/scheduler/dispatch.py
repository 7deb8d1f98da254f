"""Dispatch: due SCHEDULED runs that every limit has room for become PENDING with a fresh
token, then one message each.

The database is the outbox: the PENDING state and its token are committed before the
message is published, and a PENDING run no worker claimed within the claim timeout is
dispatched again with a new token (the old message then carries a stale token and is dropped).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol

import sqlalchemy as sa

from ..errors import NotFound, StateRejected
from ..keys import celery_queue
from ..models import DispatchMessage, FlowRun, StateProposal
from ..states import SLOT_HOLDING_STATES, Origin, StateType
from ..store import flow_runs as runs_store
from ..store.database import Database
from ..store.tables import deployments, flow_runs, work_pools, work_queues
from .admission import (CANCEL_NEW, Candidate, DeploymentLimit, Limits, Usage, WorkerCapacity,
                        admit, cancel_new_reason, full_deployments, full_pools, full_queues)

log = logging.getLogger(__name__)
DISPATCH_LOCK_ID = 0x666C6F77  # PostgreSQL advisory lock: one dispatching transaction at a time


class Publisher(Protocol):
    def publish_many(self, messages: list[tuple[str, DispatchMessage]]) -> None: ...


@dataclass(frozen=True)
class Dispatch:
    queue: str
    message: DispatchMessage


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


def mark_pending(conn: sa.Connection, run_ids: list[str], current: StateType, now: datetime,
                 reason: str | None = None) -> list[Dispatch]:
    """Move the runs to PENDING, each with a new token; skip any that changed meanwhile."""
    position = {run_id: i for i, run_id in enumerate(run_ids)}  # publish in admission order
    rows = sorted(runs_store.issue_tokens(conn, run_ids, current, now, reason),
                  key=lambda r: position[r.id])
    return [Dispatch(celery_queue(r.work_pool_name, r.work_queue_name),
                     DispatchMessage(run_id=r.id, token=r.dispatch_token)) for r in rows]


def cancel(conn: sa.Connection, cancellations: list[tuple[str, str]], now: datetime) -> int:
    return sum(1 for run_id, reason in cancellations if _propose(
        conn, run_id, StateProposal(type=StateType.CANCELLED, message=reason), now))


def _propose(conn: sa.Connection, run_id: str, proposal: StateProposal,
             now: datetime) -> FlowRun | None:
    try:
        return runs_store.set_state(conn, run_id, proposal, Origin.SERVER, now)
    except (StateRejected, NotFound) as exc:
        log.info("run %s: %s not applied: %s", run_id, proposal.type.value, exc)
        return None


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


def _lock_dispatch(conn: sa.Connection) -> None:
    """Serialize dispatching transactions (SQLite already does, with BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": DISPATCH_LOCK_ID})


def dispatch_once(db: Database, publisher: Publisher, now: datetime, claim_timeout_s: float,
                  batch_size: int = 1000,
                  capacity: Callable[[list[str]], WorkerCapacity | None] | None = None,
                  ) -> list[Dispatch]:
    """One pass: re-dispatch unclaimed runs, cancel CANCEL_NEW collisions, admit due runs
    within every limit (and the online workers' capacity, when known); publish after commit."""
    with db.begin() as conn:
        _lock_dispatch(conn)
        dispatches = mark_pending(conn, unclaimed_runs(conn, now, claim_timeout_s),
                                  StateType.PENDING, now,
                                  "dispatched again: no worker claimed it in time")
        limits, usage = load_limits(conn), load_usage(conn)
        known = capacity(list(limits.pools)) if capacity else None
        if known is not None:
            limits = known.apply(limits)
        cancel(conn, runs_to_cancel_new(conn, now, limits, usage), now)
        admission = admit(due_candidates(conn, now, limits, usage, batch_size), limits, usage)
        cancel(conn, [(c.run_id, reason) for c, reason in admission.cancelled], now)
        dispatches += mark_pending(conn, [c.run_id for c in admission.admitted],
                                   StateType.SCHEDULED, now)
    publisher.publish_many([(d.queue, d.message) for d in dispatches])
    return dispatches
