"""Log lines of flow runs, within each run's log budget.

A run may store `limit_bytes` of lines. The count is a column of the run, read under the run's
row lock and updated in the transaction that inserts the lines, so concurrent batches cannot
overshoot it. The batch that does not fit is stored up to the last line that fits; from the
first dropped line on, every later line is dropped and counted, and one marker line (the run's
last) says so, with the counts kept up to date.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..models import Log, LogCreate
from ..models.logs import LogBudget, LogsDropped, fit_line, line_bytes
from .flow_runs import flow_run_not_found
from .tables import flow_runs, logs

MARKER_SOURCE = "flowpool"


@dataclass(frozen=True)
class LogUsage:
    """A run's log counters, as read under its row lock."""

    stored_bytes: int
    dropped_lines: int
    dropped_bytes: int

    @property
    def spent(self) -> bool:
        return self.dropped_lines > 0


def create_logs(conn: sa.Connection, flow_run_id: str, entries: list[LogCreate],
                limit_bytes: int, now: datetime) -> LogBudget:
    """Store the entries that fit in the run's budget; drop and count the rest."""
    usage = _lock_usage(conn, flow_run_id)
    lines = [fit_line(entry.message) for entry in entries]
    sizes = [line_bytes(line) for line in lines]
    kept = 0 if usage.spent else _fitting(sizes, limit_bytes - usage.stored_bytes)
    if kept:
        conn.execute(logs.insert(), [
            dict(entry.model_dump(), message=line, flow_run_id=flow_run_id)
            for entry, line in zip(entries[:kept], lines[:kept])])
        usage = _add_stored(conn, flow_run_id, usage, sum(sizes[:kept]))
    dropped = LogsDropped(lines=len(entries) - kept, bytes=sum(sizes[kept:]))
    if dropped.lines:
        usage = _record_dropped(conn, flow_run_id, usage, dropped, limit_bytes, now)
    return _budget(usage, limit_bytes, created=kept, dropped=dropped.lines)


def record_dropped_logs(conn: sa.Connection, flow_run_id: str, dropped: LogsDropped,
                        limit_bytes: int, now: datetime) -> LogBudget:
    """Count lines the run's engine dropped itself: from here on the run's logs are cut."""
    usage = _lock_usage(conn, flow_run_id)
    if dropped.lines:
        usage = _record_dropped(conn, flow_run_id, usage, dropped, limit_bytes, now)
    return _budget(usage, limit_bytes)


def read_logs(conn: sa.Connection, flow_run_id: str, after_id: int = 0,
              limit: int = 1000) -> list[Log]:
    """One page of a run's lines in the order they were stored: those after `after_id`."""
    query = (sa.select(logs).where(logs.c.flow_run_id == flow_run_id, logs.c.id > after_id)
             .order_by(logs.c.id).limit(limit))
    return [Log.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def _lock_usage(conn: sa.Connection, flow_run_id: str) -> LogUsage:
    """The run's counters, its row locked until the transaction ends (SQLite has no row
    locks: its write transactions already run one at a time)."""
    row = conn.execute(
        sa.select(flow_runs.c.log_bytes, flow_runs.c.log_lines_dropped,
                  flow_runs.c.log_bytes_dropped)
        .where(flow_runs.c.id == flow_run_id).with_for_update()).first()
    if row is None:
        raise flow_run_not_found(flow_run_id)
    return LogUsage(row.log_bytes or 0, row.log_lines_dropped or 0, row.log_bytes_dropped or 0)


def _fitting(sizes: list[int], room: int) -> int:
    """How many of the first lines fit in `room` bytes."""
    total = 0
    for count, size in enumerate(sizes):
        total += size
        if total > room:
            return count
    return len(sizes)


def _add_stored(conn: sa.Connection, flow_run_id: str, usage: LogUsage, size: int) -> LogUsage:
    stored = usage.stored_bytes + size
    conn.execute(flow_runs.update().where(flow_runs.c.id == flow_run_id)
                 .values(log_bytes=stored))
    return LogUsage(stored, usage.dropped_lines, usage.dropped_bytes)


def _record_dropped(conn: sa.Connection, flow_run_id: str, usage: LogUsage,
                    dropped: LogsDropped, limit_bytes: int, now: datetime) -> LogUsage:
    """Add to the dropped counts; the first drop stores the marker, later ones update it."""
    after = LogUsage(usage.stored_bytes, usage.dropped_lines + dropped.lines,
                     usage.dropped_bytes + dropped.bytes)
    text = marker_text(limit_bytes, after)
    if usage.spent:
        marker = (sa.select(sa.func.max(logs.c.id))
                  .where(logs.c.flow_run_id == flow_run_id, logs.c.source == MARKER_SOURCE)
                  .scalar_subquery())
        conn.execute(logs.update().where(logs.c.id == marker).values(message=text))
    else:
        conn.execute(logs.insert().values(flow_run_id=flow_run_id, timestamp=now,
                                          level=logging.WARNING, message=text,
                                          source=MARKER_SOURCE))
    conn.execute(flow_runs.update().where(flow_runs.c.id == flow_run_id).values(
        log_lines_dropped=after.dropped_lines, log_bytes_dropped=after.dropped_bytes))
    return after


def marker_text(limit_bytes: int, usage: LogUsage) -> str:
    return (f"log budget reached (FLOWPOOL_RUN_LOG_LIMIT = {limit_bytes} bytes): "
            f"{usage.dropped_lines} later lines ({usage.dropped_bytes} bytes) were dropped")


def _budget(usage: LogUsage, limit_bytes: int, created: int = 0, dropped: int = 0) -> LogBudget:
    return LogBudget(created=created, dropped=dropped, spent=usage.spent,
                     bytes_left=0 if usage.spent else max(0, limit_bytes - usage.stored_bytes))
