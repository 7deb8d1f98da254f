"""Aggregates over flow runs for the dashboard and /metrics: each one indexed query that
counts in the database, so a page or a scrape costs the same with ten runs or a million.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..models import FlowRun
from ..states import SLOT_HOLDING_STATES, StateType
from .tables import deployments, flow_runs, work_queues

FAILED_STATES = (StateType.FAILED.value, StateType.CRASHED.value)


def _hour(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """'YYYY-MM-DD HH' of a naive-UTC timestamp column, in the database's own dialect."""
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM-DD HH24")
    # SQLite keeps timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text: its first 13 characters
    # are the hour, at a fraction of strftime's cost per row
    return sa.func.substr(column, 1, 13)


def runs_by_hour_and_state(conn: sa.Connection, since: datetime) -> list[tuple[str, str, int]]:
    """(hour 'YYYY-MM-DD HH' in UTC, state type, runs) of the runs created since `since`
    (ix_flow_runs_created bounds the scan to that window)."""
    hour = _hour(flow_runs.c.created, conn.dialect.name).label("hour")
    query = (sa.select(hour, flow_runs.c.state_type, sa.func.count())
             .where(flow_runs.c.created >= since)
             .group_by(hour, flow_runs.c.state_type))
    return [(h, state, count) for h, state, count in conn.execute(query)]


def runs_by_state_and_pool(conn: sa.Connection) -> list[tuple[str, str, int]]:
    """(state type, work pool, runs) over every run (ix_flow_runs_pool_state covers it)."""
    query = (sa.select(flow_runs.c.state_type, flow_runs.c.work_pool_name, sa.func.count())
             .group_by(flow_runs.c.state_type, flow_runs.c.work_pool_name))
    return [tuple(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class QueueLoad:
    """A work queue's due runs (queue depth) and the slots its runs hold."""

    work_pool_name: str
    work_queue_name: str
    concurrency_limit: int | None
    due: int
    slots_in_use: int


def queue_loads(conn: sa.Connection, now: datetime) -> list[QueueLoad]:
    """Every work queue with its depth (SCHEDULED runs due by `now`) and slots in use."""
    waiting = sa.and_(flow_runs.c.state_type == StateType.SCHEDULED.value,
                      flow_runs.c.scheduled_time <= now)
    holding = flow_runs.c.state_type.in_([s.value for s in SLOT_HOLDING_STATES])
    counts = (sa.select(flow_runs.c.work_pool_name, flow_runs.c.work_queue_name,
                        sa.func.sum(sa.case((waiting, 1), else_=0)).label("due"),
                        sa.func.sum(sa.case((holding, 1), else_=0)).label("in_use"))
              .where(sa.or_(waiting, holding))
              .group_by(flow_runs.c.work_pool_name, flow_runs.c.work_queue_name)).subquery()
    query = (sa.select(work_queues.c.work_pool_name, work_queues.c.name,
                       work_queues.c.concurrency_limit, counts.c.due, counts.c.in_use)
             .select_from(work_queues.outerjoin(counts, sa.and_(
                 counts.c.work_pool_name == work_queues.c.work_pool_name,
                 counts.c.work_queue_name == work_queues.c.name)))
             .order_by(work_queues.c.work_pool_name, work_queues.c.priority, work_queues.c.name))
    return [QueueLoad(pool, queue, limit, int(due or 0), int(in_use or 0))
            for pool, queue, limit, due, in_use in conn.execute(query)]


def _late(before: datetime):
    return sa.and_(flow_runs.c.state_type == StateType.SCHEDULED.value,
                   flow_runs.c.scheduled_time < before)


def late_runs_by_pool(conn: sa.Connection, before: datetime) -> dict[str, int]:
    """Work pool -> SCHEDULED runs whose time passed before `before` (ix_flow_runs_state_scheduled)."""
    query = (sa.select(flow_runs.c.work_pool_name, sa.func.count()).where(_late(before))
             .group_by(flow_runs.c.work_pool_name))
    return {pool: count for pool, count in conn.execute(query)}


def late_runs(conn: sa.Connection, before: datetime, limit: int) -> list[FlowRun]:
    """The `limit` most overdue SCHEDULED runs whose time passed before `before`."""
    query = (sa.select(flow_runs).where(_late(before))
             .order_by(flow_runs.c.scheduled_time, flow_runs.c.id).limit(limit))
    return [FlowRun.model_validate(dict(row)) for row in conn.execute(query).mappings()]


@dataclass(frozen=True)
class FailingDeployment:
    deployment_id: str
    flow_name: str
    name: str
    failed: int
    last_failed: datetime


def failing_deployments(conn: sa.Connection, since: datetime, limit: int) -> list[FailingDeployment]:
    """Deployments with FAILED or CRASHED runs created since `since`, most failures first."""
    last = sa.func.max(flow_runs.c.state_changed)
    failed = sa.func.count()
    query = (sa.select(flow_runs.c.deployment_id, deployments.c.flow_name, deployments.c.name,
                       failed.label("failed"), last.label("last_failed"))
             .select_from(flow_runs.join(deployments,
                                         deployments.c.id == flow_runs.c.deployment_id))
             .where(flow_runs.c.created >= since, flow_runs.c.state_type.in_(FAILED_STATES))
             .group_by(flow_runs.c.deployment_id, deployments.c.flow_name, deployments.c.name)
             .order_by(failed.desc(), last.desc()).limit(limit))
    return [FailingDeployment(r.deployment_id, r.flow_name, r.name, r.failed, r.last_failed)
            for r in conn.execute(query)]


def next_run_times(conn: sa.Connection, deployment_ids: list[str]) -> dict[str, datetime]:
    """Deployment id -> its soonest SCHEDULED run's time (ix_flow_runs_deployment_state)."""
    if not deployment_ids:
        return {}
    soonest = sa.func.min(flow_runs.c.scheduled_time)
    query = (sa.select(flow_runs.c.deployment_id, soonest)
             .where(flow_runs.c.deployment_id.in_(deployment_ids),
                    flow_runs.c.state_type == StateType.SCHEDULED.value)
             .group_by(flow_runs.c.deployment_id))
    return dict(conn.execute(query).all())  # min() keeps the column's type: UTC-aware
