"""Crash detection: a RUNNING run whose heartbeat lease expired becomes CRASHED (and is retried
if it has retries left); a CANCELLING run whose worker is gone ends CANCELLED."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..errors import NotFound, StateRejected
from ..leases import live_leases
from ..models import StateProposal
from ..states import Origin, StateType
from ..store import flow_runs as runs_store
from ..store.database import Database
from ..store.tables import flow_runs

log = logging.getLogger(__name__)
LEASED_STATES = (StateType.RUNNING.value, StateType.CANCELLING.value)


class Reaper:
    """Remembers when Redis was last unreachable: right after an outage, a missing lease
    may only mean its renewal has not come yet, so nothing is reaped until a full lease
    period has passed with Redis answering."""

    def __init__(self, db: Database, redis, crash_after_s: float):
        self.db, self.redis, self.crash_after_s = db, redis, crash_after_s
        self.redis_ok_since = time.monotonic()

    def redis_away(self) -> None:
        """Redis did not answer just now (seen here or by the scheduler): renewals that fell
        in the outage may be missing, so wait a full lease period before reaping again."""
        self.redis_ok_since = time.monotonic()

    def reap(self, now: datetime) -> int:
        candidates = self._leased_runs(now)
        if not candidates:
            return 0
        try:
            alive = live_leases(self.redis, [run_id for run_id, _ in candidates])
        except Exception as exc:
            log.warning("cannot read heartbeat leases (%s); not reaping", exc)
            self.redis_away()
            return 0
        if time.monotonic() - self.redis_ok_since < self.crash_after_s:
            return 0
        dead = [(run_id, state) for run_id, state in candidates if run_id not in alive]
        with self.db.begin() as conn:
            return sum(self._end(conn, run_id, StateType(state), now) for run_id, state in dead)

    def _leased_runs(self, now: datetime) -> list[tuple[str, str]]:
        cutoff = now - timedelta(seconds=self.crash_after_s)
        query = sa.select(flow_runs.c.id, flow_runs.c.state_type).where(
            flow_runs.c.state_type.in_(LEASED_STATES), flow_runs.c.state_changed <= cutoff,
            flow_runs.c.parent_flow_run_id.is_(None))  # a child run ends with its root
        with self.db.connect() as conn:
            return [(r.id, r.state_type) for r in conn.execute(query)]

    def _end(self, conn: sa.Connection, run_id: str, state: StateType, now: datetime) -> bool:
        silence = f"no heartbeat from its worker for {self.crash_after_s:g}s"
        proposal = (StateProposal(type=StateType.CANCELLED, message=f"cancelled: {silence}")
                    if state is StateType.CANCELLING else
                    StateProposal(type=StateType.CRASHED, message=f"crashed: {silence}"
                                  " (the worker or its host is gone)"))
        try:
            runs_store.set_state(conn, run_id, proposal, Origin.SERVER, now)
        except (StateRejected, NotFound) as exc:
            log.info("run %s not reaped: %s", run_id, exc)
            return False
        log.warning("run %s: %s", run_id, proposal.message)
        return True
