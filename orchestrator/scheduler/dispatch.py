"""Dispatch: due SCHEDULED runs become PENDING with a fresh token, then one message each.

The database is the outbox: the PENDING state and its token are committed before the
message is published, and a PENDING run no worker claimed within the claim timeout is
dispatched again with a new token (the old message then carries a stale token and is dropped).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa

from ..errors import NotFound, StateRejected
from ..keys import celery_queue
from ..models import DispatchMessage, FlowRun, StateProposal
from ..states import Origin, StateType
from ..store import flow_runs as runs_store
from ..store.database import Database
from ..store.tables import flow_runs, work_pools, work_queues

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, queue: str, message: DispatchMessage) -> None: ...


@dataclass(frozen=True)
class Dispatch:
    queue: str
    message: DispatchMessage


def due_runs(conn: sa.Connection, now: datetime, limit: int) -> list[FlowRun]:
    """SCHEDULED runs due by `now` in open pools and queues: queue priority, then time."""
    query = (
        sa.select(flow_runs)
        .join(work_pools, work_pools.c.name == flow_runs.c.work_pool_name)
        .join(work_queues, sa.and_(work_queues.c.work_pool_name == flow_runs.c.work_pool_name,
                                   work_queues.c.name == flow_runs.c.work_queue_name))
        .where(flow_runs.c.state_type == StateType.SCHEDULED.value,
               flow_runs.c.scheduled_time <= now,
               work_pools.c.paused.is_(False), work_queues.c.paused.is_(False))
        .order_by(work_queues.c.priority, flow_runs.c.scheduled_time, flow_runs.c.created)
        .limit(limit))
    return [FlowRun.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def unclaimed_runs(conn: sa.Connection, now: datetime, claim_timeout_s: float) -> list[FlowRun]:
    cutoff = now - timedelta(seconds=claim_timeout_s)
    query = sa.select(flow_runs).where(flow_runs.c.state_type == StateType.PENDING.value,
                                       flow_runs.c.state_changed <= cutoff)
    return [FlowRun.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def mark_pending(conn: sa.Connection, runs: list[FlowRun], now: datetime,
                 reason: str | None = None) -> list[Dispatch]:
    """Move each run to PENDING with a new token; skip any that changed meanwhile."""
    out = []
    for run in runs:
        try:
            pending = runs_store.set_state(conn, run.id, StateProposal(
                type=StateType.PENDING, message=reason), Origin.SERVER, now)
        except (StateRejected, NotFound) as exc:
            log.info("run %s not dispatched: %s", run.id, exc)
            continue
        out.append(Dispatch(celery_queue(pending.work_pool_name, pending.work_queue_name),
                            DispatchMessage(run_id=pending.id, token=pending.dispatch_token)))
    return out


def next_due_time(conn: sa.Connection, now: datetime) -> datetime | None:
    """When the earliest run scheduled in the future falls due (blocked runs wait for the doorbell)."""
    query = sa.select(sa.func.min(flow_runs.c.scheduled_time)).where(
        flow_runs.c.state_type == StateType.SCHEDULED.value, flow_runs.c.scheduled_time > now)
    return conn.execute(query).scalar()


def dispatch_once(db: Database, publisher: Publisher, now: datetime, claim_timeout_s: float,
                  batch_size: int = 1000) -> list[Dispatch]:
    """One pass: re-dispatch unclaimed runs, dispatch due ones, publish after commit."""
    with db.begin() as conn:
        dispatches = mark_pending(conn, unclaimed_runs(conn, now, claim_timeout_s), now,
                                  "dispatched again: no worker claimed it in time")
        dispatches += mark_pending(conn, due_runs(conn, now, batch_size), now)
    for dispatch in dispatches:
        publisher.publish(dispatch.queue, dispatch.message)
    return dispatches
