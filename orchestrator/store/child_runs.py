"""Child (sub)flow runs in the database: rows of flow_runs reported by the process of their
root run, upserted from its snapshots.

A child run belongs to its root's tree (`root_flow_run_id`) and copies the root's pool and
queue for display; it has no deployment and no dispatch token, and the dispatcher, the
limits and the reaper leave it out (`parent_flow_run_id IS NULL` there): its root run is
what holds the slot and the heartbeat. A snapshot replaces the stored one when it is as new
or newer by (attempt, number of states); its new states are appended to the run's history.
Once the root has ended, its tree takes only final states of runs not yet ended.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..models import FlowRun
from ..models.reports import FlowRunReportIn
from ..states import FINAL_STATES
from .tables import flow_run_states, flow_runs
from .task_runs import first_seen


def upsert_child_runs(conn: sa.Connection, root: FlowRun, reports: list[FlowRunReportIn],
                      now: datetime, root_ended: bool) -> tuple[int, int]:
    """Store the snapshots, parents before children; (stored, ignored)."""
    if not reports:
        return 0, 0
    ids = [r.id for r in reports]
    stored = {r.id: r for r in conn.execute(
        sa.select(flow_runs.c.id, flow_runs.c.state_type, flow_runs.c.attempt)
        .where(flow_runs.c.id.in_(ids)))}
    counts = dict(conn.execute(
        sa.select(flow_run_states.c.flow_run_id, sa.func.count())
        .where(flow_run_states.c.flow_run_id.in_(ids)).group_by(flow_run_states.c.flow_run_id)).all())
    taken = 0
    for report in reports:
        current = stored.get(report.id)
        state_count = counts.get(report.id, 0)
        if not _replaces(report, current, state_count, root_ended):
            continue
        if current is None:
            conn.execute(flow_runs.insert().values(**_new_row(report, root, now)))
        else:
            conn.execute(flow_runs.update().where(flow_runs.c.id == report.id)
                         .values(**_state_values(report, now)))
        _append_history(conn, report, state_count)
        taken += 1
    return taken, len(reports) - taken


def _replaces(report: FlowRunReportIn, current: Any, state_count: int, root_ended: bool) -> bool:
    """Whether the snapshot is stored: newer than what is, and, once the root has ended, a
    final state of a run not yet ended."""
    if root_ended and (report.state_type not in FINAL_STATES
                       or (current is not None and current.state_type in _FINAL)):
        return False
    if current is None:
        return True
    return (report.attempt, len(report.history)) >= (current.attempt, state_count)


_FINAL = {s.value for s in FINAL_STATES}


def _new_row(report: FlowRunReportIn, root: FlowRun, now: datetime) -> dict[str, Any]:
    return dict(
        id=report.id, name=report.name, flow_name=report.flow_name, deployment_id=None,
        deployment_name=None, work_pool_name=root.work_pool_name,
        work_queue_name=root.work_queue_name, parameters=report.parameters, job_variables={},
        tags=report.tags, dispatch_token=None, retries=0, retry_delay_seconds=0,
        scheduled_time=first_seen(report.history, report.started_at, now),
        worker_name=root.worker_name, auto_scheduled=False, created=now,
        parent_flow_run_id=report.parent_flow_run_id,
        parent_task_run_id=report.parent_task_run_id, root_flow_run_id=root.id,
        **_state_values(report, now))


def _state_values(report: FlowRunReportIn, now: datetime) -> dict[str, Any]:
    changed = report.history[-1].timestamp if report.history else now
    return dict(state_type=report.state_type.value, state_name=report.state_name,
                state_message=report.message, state_changed=changed, attempt=report.attempt,
                start_time=report.started_at, end_time=report.ended_at,
                result=report.result, result_is_repr=report.result is not None, updated=now)


def _append_history(conn: sa.Connection, report: FlowRunReportIn, stored_count: int) -> None:
    """The states the run went through since the stored snapshot."""
    new = report.history[stored_count:]
    if new:  # the run's message is its current state's, the last one
        messages = [None] * (len(new) - 1) + [report.message]
        conn.execute(flow_run_states.insert(), [
            dict(flow_run_id=report.id, type=entry.type.value, name=entry.name, message=message,
                 attempt=report.attempt, timestamp=entry.timestamp)
            for entry, message in zip(new, messages)])
