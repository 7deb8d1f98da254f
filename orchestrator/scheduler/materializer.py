"""The scheduler's materialization pass: every active schedule of every deployment that is
not paused gets its runs ahead of time, as SCHEDULED runs keyed by (deployment, schedule,
time) and inserted with INSERT ... ON CONFLICT DO NOTHING.

Which times is the pure policy of `schedules/lookahead.py`; this module reads what exists and
writes what is missing. Safe to run from any number of processes at once, and again after a
crash in the middle: each time's key is the same everywhere, so a run is never created twice.
Deployments are handled in batches, one short transaction each, so the database is never
held for long.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa

from ..models import Deployment, FlowRunCreate
from ..models.deployments import StoredSchedule
from ..schedules import (DEFAULT_LOOKAHEAD, NO_FUTURE_RUNS, FutureRuns, Lookahead, check_stored,
                         idempotency_key, run_parameters, times_not_yet_created, times_to_create)
from ..store import deployment_schedules as store
from ..store.database import Database
from ..store.flow_runs import new_run_values

log = logging.getLogger(__name__)
DEPLOYMENTS_PER_TRANSACTION = 200
MATERIALIZE_INTERVAL_S = 10.0


@dataclass(frozen=True)
class MaterializeResult:
    deployments: int = 0
    created: int = 0


class Materializer:
    """Runs the pass when a deployment or schedule changed, and otherwise every
    `interval_s`: far more often than the lookahead needs (at least an hour ahead), and
    cheap between passes (one small query per tick)."""

    def __init__(self, db: Database, interval_s: float = MATERIALIZE_INTERVAL_S,
                 lookahead: Lookahead = DEFAULT_LOOKAHEAD):
        self.db, self.interval_s, self.lookahead = db, interval_s, lookahead
        self._last_pass: datetime | None = None
        self._last_version: tuple | None = None

    def run(self, now: datetime) -> MaterializeResult | None:
        """The pass, if one is due at `now`; None otherwise."""
        with self.db.connect() as conn:
            version = store.schedules_version(conn)
        if version == self._last_version and not self._interval_elapsed(now):
            return None
        result = materialize(self.db, now, self.lookahead)
        self._last_pass, self._last_version = now, version
        return result

    def _interval_elapsed(self, now: datetime) -> bool:
        return self._last_pass is None or (now - self._last_pass).total_seconds() >= self.interval_s


def materialize(db: Database, now: datetime, lookahead: Lookahead = DEFAULT_LOOKAHEAD,
                batch_size: int = DEPLOYMENTS_PER_TRANSACTION) -> MaterializeResult:
    """Create the missing runs of every active schedule at `now`."""
    with db.connect() as conn:
        ids = store.schedulable_deployment_ids(conn)
    created = 0
    for start in range(0, len(ids), batch_size):
        with db.begin() as conn:
            created += materialize_batch(conn, ids[start:start + batch_size], now, lookahead)
    if created:
        log.info("created %d scheduled run(s) for %d deployment(s)", created, len(ids))
    return MaterializeResult(len(ids), created)


def materialize_batch(conn: sa.Connection, deployment_ids: Sequence[str], now: datetime,
                      lookahead: Lookahead = DEFAULT_LOOKAHEAD) -> int:
    """One transaction's worth: read the deployments (skipping any paused meanwhile), what
    their schedules have ahead, and insert the rest. A schedule that fails is skipped and
    marked, so the others keep their runs."""
    found = store.read_schedulable(conn, deployment_ids)
    active = [(d, s) for d in found for s in d.schedules if s.active]
    existing = store.future_runs(conn, [s.id for _, s in active], now)
    rows: list[dict[str, Any]] = []
    errors: dict[str, str | None] = {}
    for deployment, schedule in active:
        try:
            rows += scheduled_run_rows(deployment, schedule, now,
                                       existing.get(schedule.id, NO_FUTURE_RUNS), lookahead)
            error = None
        except Exception as exc:  # noqa: BLE001 - one bad schedule must not stop the others
            error = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        if error != schedule.error:
            errors[schedule.id] = error
            _log_finding(deployment, schedule, error)
    store.set_schedule_errors(conn, errors)
    return store.insert_runs_once(conn, rows)


def _log_finding(deployment: Deployment, schedule: StoredSchedule, error: str | None) -> None:
    # Logged when the finding changes, not on every pass: it is kept on the schedule row.
    if error:
        log.error("skipping schedule %s of deployment %s: %s", schedule.id,
                  deployment.full_name, error)
    else:
        log.info("schedule %s of deployment %s creates runs again", schedule.id,
                 deployment.full_name)


def scheduled_run_rows(deployment: Deployment, schedule: StoredSchedule, now: datetime,
                       existing: FutureRuns = NO_FUTURE_RUNS,
                       lookahead: Lookahead = DEFAULT_LOOKAHEAD) -> list[dict[str, Any]]:
    """The rows to offer the idempotent insert for one schedule: each run made the way a
    triggered run is (new_run_values), with the schedule's parameters over the deployment's.
    ValueError for a stored schedule that today's bounds refuse."""
    check_stored(schedule)
    times = times_not_yet_created(times_to_create(schedule, now, existing, lookahead), existing)
    parameters = run_parameters(deployment.parameters, schedule)
    return [{**new_run_values(deployment, deployment.work_queue_name,
                              FlowRunCreate(scheduled_time=when), parameters,
                              now, idempotency_key(deployment.id, schedule.id, when)),
             "schedule_id": schedule.id, "auto_scheduled": True}
            for when in times]
