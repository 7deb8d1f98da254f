"""Events in the database: written in the transaction of the change they record, listed,
handed to the automations once each, and deleted after the retention period.

Emitting costs one INSERT beside the change's own UPDATE (one statement for a whole dispatch
batch); nothing is published anywhere else, so an event exists exactly when its change does.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from ..models import new_id
from ..models.events import RESOURCE_ID, Event, EventCreate, resource
from .tables import events

RESULT_IN_PAYLOAD_CHARS = 2000  # a larger result is left out of the Completed event
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_.:\-]")


def record_events(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if rows:
        conn.execute(events.insert(), rows)


def event_row(name: str, resource_labels: dict[str, str], related: list[dict[str, str]],
              payload: dict[str, Any], occurred: datetime) -> dict[str, Any]:
    return dict(id=new_id(), event=name, occurred=occurred,
                resource_id=resource_labels[RESOURCE_ID], resource=resource_labels,
                related=related, payload=payload, evaluated=False)


def emit_event(conn: sa.Connection, request: EventCreate, now: datetime) -> Event:
    """Store an event a client sent; when it occurred is its own (default: now)."""
    row = event_row(request.event, request.resource, request.related, request.payload,
                    request.occurred or now)
    seq = conn.execute(events.insert().values(**row).returning(events.c.seq)).scalar_one()
    return _event({**row, "seq": seq})


# --- what flowpool emits ----------------------------------------------------------------------

def flow_run_event(run: Mapping[str, Any], state_type: str, state_name: str,
                   message: str | None, now: datetime, result: Any = None) -> dict[str, Any]:
    """`flowpool.flow-run.STATE` about run `run` (a row or a FlowRun's fields), related to its
    flow, deployment, work pool and tags."""
    payload: dict[str, Any] = {"state": {"type": state_type, "name": state_name,
                                         "message": message}}
    if result is not None and len(json.dumps(result, default=str)) <= RESULT_IN_PAYLOAD_CHARS:
        payload["result"] = result
    labels = resource(f"flowpool.flow-run.{run['id']}", run["name"],
                      **{"flowpool.state-type": state_type, "flowpool.state-name": state_name})
    return event_row(f"flowpool.flow-run.{_NOT_IN_NAMES.sub('', state_name) or state_type}",
                     labels, run_related(run), payload, now)


def run_related(run: Mapping[str, Any]) -> list[dict[str, str]]:
    related = [resource(f"flowpool.flow.{run['flow_name']}", run["flow_name"], "flow")]
    if run.get("deployment_id"):
        related.append(resource(f"flowpool.deployment.{run['deployment_id']}",
                                run.get("deployment_name") or "", "deployment",
                                **{"flowpool.deployment.full-name":
                                   f"{run['flow_name']}/{run.get('deployment_name')}"}))
    related.append(resource(f"flowpool.work-pool.{run['work_pool_name']}",
                            run["work_pool_name"], "work-pool"))
    related += [resource(f"flowpool.tag.{tag}", tag, "tag") for tag in run.get("tags") or []]
    return related


def deployment_event(deployment: Any, what: str, now: datetime) -> dict[str, Any]:
    """`flowpool.deployment.WHAT` (created, updated, paused, resumed, deleted)."""
    labels = resource(f"flowpool.deployment.{deployment.id}", deployment.name,
                      **{"flowpool.deployment.full-name":
                         f"{deployment.flow_name}/{deployment.name}"})
    related = [resource(f"flowpool.flow.{deployment.flow_name}", deployment.flow_name, "flow"),
               resource(f"flowpool.work-pool.{deployment.work_pool_name}",
                        deployment.work_pool_name, "work-pool")]
    return event_row(f"flowpool.deployment.{what}", labels, related, {}, now)


def worker_event(pool: str, worker: str, what: str, now: datetime) -> dict[str, Any]:
    """`flowpool.worker.online` / `.offline`, related to its work pool."""
    labels = resource(f"flowpool.worker.{pool}.{worker}", worker)
    related = [resource(f"flowpool.work-pool.{pool}", pool, "work-pool")]
    return event_row(f"flowpool.worker.{what}", labels, related, {}, now)


# --- reading --------------------------------------------------------------------------------

def _like(pattern: str) -> str:
    """A `*` pattern as SQL LIKE (with `\\` escaping LIKE's own wildcards)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def list_events(conn: sa.Connection, name: str | None = None, resource_id: str | None = None,
                after_seq: int | None = None, limit: int = 100,
                before_seq: int | None = None) -> list[Event]:
    """Events oldest first: those after `after_seq` (following a feed), or else the newest
    `limit` (stored before `before_seq`, when given: paging back). `name` and `resource_id`
    are patterns where `*` matches any text."""
    query = sa.select(events)
    if name:
        query = query.where(events.c.event.like(_like(name), escape="\\"))
    if resource_id:
        query = query.where(events.c.resource_id.like(_like(resource_id), escape="\\"))
    if before_seq is not None:
        query = query.where(events.c.seq < before_seq)
    if after_seq is not None:
        rows = conn.execute(query.where(events.c.seq > after_seq)
                            .order_by(events.c.seq).limit(limit)).mappings().all()
    else:
        rows = conn.execute(query.order_by(events.c.seq.desc()).limit(limit)).mappings().all()
        rows = list(reversed(rows))
    return [_event(row) for row in rows]


def _event(row: Mapping[str, Any]) -> Event:
    return Event(seq=row["seq"], id=row["id"], event=row["event"], occurred=row["occurred"],
                 resource=row["resource"], related=row["related"], payload=row["payload"])


def claim_unevaluated(conn: sa.Connection, limit: int) -> list[Event] | None:
    """The oldest events no evaluation has taken yet, marked taken in this transaction; None
    when another transaction took some of them first (its evaluation stands, this one must
    roll back). Marking first holds the rows, so a second evaluator waits, then finds them
    taken."""
    rows = conn.execute(sa.select(events).where(events.c.evaluated.is_(False))
                        .order_by(events.c.seq).limit(limit)).mappings().all()
    if not rows:
        return []
    taken = conn.execute(events.update().where(
        events.c.seq.in_([row["seq"] for row in rows]), events.c.evaluated.is_(False),
    ).values(evaluated=True))
    if taken.rowcount != len(rows):
        return None
    return [_event(row) for row in rows]


def mark_all_evaluated(conn: sa.Connection) -> int:
    """Mark every event not yet evaluated as seen (when no automation is enabled)."""
    return conn.execute(events.update().where(events.c.evaluated.is_(False))
                        .values(evaluated=True)).rowcount


def delete_events_before(conn: sa.Connection, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` of the events that occurred before `cutoff` (evaluated ones: an
    event is never dropped before the automations saw it)."""
    doomed = (sa.select(events.c.seq).where(events.c.occurred < cutoff,
                                            events.c.evaluated.is_(True)).limit(limit))
    return conn.execute(events.delete().where(events.c.seq.in_(doomed.scalar_subquery()))).rowcount
