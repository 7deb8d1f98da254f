"""Dispatch: due SCHEDULED runs that every limit has room for become PENDING with a fresh
token, then one message each.

The database is the outbox: the PENDING state and its token are committed before the
message is published, and a PENDING run no worker claimed within the claim timeout is
dispatched again with a new token (the old message then carries a stale token and is dropped).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

import sqlalchemy as sa

from ..admission import WorkerCapacity, admit
from ..errors import NotFound, StateRejected
from ..keys import celery_queue
from ..models import DispatchMessage, FlowRun, StateProposal
from ..states import Origin, StateType
from ..store import flow_runs as runs_store
from ..store.database import Database
from ..store.dispatch import (due_candidates, load_limits, load_usage, lock_dispatch,
                              runs_to_cancel_new, unclaimed_runs)

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish_many(self, messages: list[tuple[str, DispatchMessage]]) -> None: ...


@dataclass(frozen=True)
class Dispatch:
    queue: str
    message: DispatchMessage


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


def dispatch_once(db: Database, publisher: Publisher, now: datetime, claim_timeout_s: float,
                  batch_size: int = 1000,
                  capacity: Callable[[list[str]], WorkerCapacity | None] | None = None,
                  ) -> list[Dispatch]:
    """One pass: re-dispatch unclaimed runs, cancel CANCEL_NEW collisions, admit due runs
    within every limit (and the online workers' capacity, when known); publish after commit."""
    with db.begin() as conn:
        lock_dispatch(conn)
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
