"""Task runs in the database: upserted from the snapshots a root run's process reports, read
a page at a time, and ended with their root run.

A snapshot replaces the stored one when it is as new or newer, judged by (attempt,
state_count): a run's state history only grows, so its length orders the snapshots of one
attempt, and a resent batch changes nothing. Once the root run has ended, its tree takes
only final states of runs not yet ended.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..models.reports import StateEntry, TaskRunReportIn
from ..models.task_runs import TaskRun
from ..states import DEFAULT_NAMES, FINAL_STATES, StateType
from .pages import Order, Page, fetch_page
from .tables import task_runs
from .upserts import insert

TASK_RUN_ORDER = Order((task_runs.c.created, task_runs.c.id))  # in the order they started
_FINAL = [s.value for s in FINAL_STATES]
_REPLACED = ("name", "task_key", "tags", "state_type", "state_name", "state_message", "attempt",
             "state_count", "start_time", "end_time", "cache_key", "cache_hit", "result",
             "error", "history", "updated")


def upsert_task_runs(conn: sa.Connection, root_id: str, reports: list[TaskRunReportIn],
                     now: datetime, root_ended: bool) -> int:
    """Store the snapshots (one statement); how many replaced a stored one or were new."""
    if root_ended:
        reports = [r for r in reports if r.state_type in FINAL_STATES]
    if not reports:
        return 0
    statement = insert(conn, task_runs)
    new = statement.excluded
    newer = sa.or_(task_runs.c.attempt < new.attempt,
                   sa.and_(task_runs.c.attempt == new.attempt,
                           task_runs.c.state_count <= new.state_count))
    condition = sa.and_(task_runs.c.root_flow_run_id == new.root_flow_run_id, newer)
    if root_ended:
        condition = sa.and_(condition, task_runs.c.state_type.not_in(_FINAL))
    upsert = statement.on_conflict_do_update(
        index_elements=[task_runs.c.id], set_={c: new[c] for c in _REPLACED}, where=condition)
    rows = [_row(report, root_id, now) for report in reports]
    return len(conn.execute(upsert.returning(task_runs.c.id), rows).all())


def _row(report: TaskRunReportIn, root_id: str, now: datetime) -> dict[str, Any]:
    return dict(
        id=report.id, flow_run_id=report.flow_run_id, root_flow_run_id=root_id,
        name=report.name, task_key=report.task_key, tags=report.tags,
        state_type=report.state_type.value, state_name=report.state_name,
        state_message=report.message, attempt=report.attempt,
        state_count=len(report.history), start_time=report.started_at,
        end_time=report.ended_at, cache_key=report.cache_key, cache_hit=report.cache_hit,
        result=report.result, error=report.error, history=history_json(report.history),
        created=first_seen(report.history, report.started_at, now), updated=now)


def history_json(history: list[StateEntry]) -> list[dict[str, str]]:
    return [{"type": e.type.value, "name": e.name, "timestamp": e.timestamp.isoformat()}
            for e in history]


def first_seen(history: list[StateEntry], started_at: datetime | None,
               now: datetime) -> datetime:
    """When the run was created: its first state, else its start, else now."""
    return history[0].timestamp if history else started_at or now


def page_task_runs(conn: sa.Connection, flow_run_id: str, cursor: str | None,
                   limit: int) -> Page[TaskRun]:
    query = sa.select(task_runs).where(task_runs.c.flow_run_id == flow_run_id)
    return fetch_page(conn, query, TASK_RUN_ORDER, cursor, limit,
                      lambda row: TaskRun.model_validate(dict(row)))


def end_open_task_runs(conn: sa.Connection, root_id: str, state: StateType, message: str,
                       now: datetime) -> int:
    """End every task run of the tree not yet final (its process is gone, or stopped);
    how many. Their reported history is kept as it was."""
    return conn.execute(task_runs.update().where(
        task_runs.c.root_flow_run_id == root_id, task_runs.c.state_type.not_in(_FINAL),
    ).values(state_type=state.value, state_name=DEFAULT_NAMES[state], state_message=message,
             end_time=now, updated=now)).rowcount
