"""Automations in the database, their triggers' open windows (buckets) and their firings."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..errors import FieldError, NotFound
from ..models import new_id
from ..models.automations import Automation, AutomationCreate
from ..triggers import Bucket
from .tables import automation_buckets, automation_firings, automations
from .upserts import insert


def create_automation(conn: sa.Connection, request: AutomationCreate, now: datetime) -> Automation:
    values = dict(request.model_dump(mode="json"), id=new_id(), created=now, updated=now)
    conn.execute(automations.insert().values(**values))
    return Automation.model_validate(values)


def replace_deployment_automations(conn: sa.Connection, deployment_id: str,
                                   requests: list[AutomationCreate],
                                   now: datetime) -> list[Automation]:
    """The automations made from a deployment's `triggers:`, as the latest deploy wrote them."""
    conn.execute(automations.delete().where(automations.c.deployment_id == deployment_id))
    return [create_automation(conn, r.model_copy(update={"deployment_id": deployment_id}), now)
            for r in requests]


def read_automation(conn: sa.Connection, ref: str) -> Automation:
    """By id, or by name when exactly one automation has it."""
    rows = conn.execute(sa.select(automations).where(automations.c.id == ref)).mappings().all()
    if not rows:
        rows = conn.execute(sa.select(automations).where(automations.c.name == ref)
                            .limit(2)).mappings().all()
    if len(rows) != 1:
        why = "does not exist" if not rows else "names more than one automation; use its id"
        raise NotFound(f"automation {ref!r} {why}", [FieldError(
            "automation", "see `flowpool automation ls` for the automations there are")])
    return Automation.model_validate(dict(rows[0]))


def list_automations(conn: sa.Connection, enabled_only: bool = False) -> list[Automation]:
    query = sa.select(automations).order_by(automations.c.name, automations.c.id)
    if enabled_only:
        query = query.where(automations.c.enabled.is_(True))
    return [Automation.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def set_automation_enabled(conn: sa.Connection, ref: str, enabled: bool,
                           now: datetime) -> Automation:
    """Pause or resume; resuming starts its trigger afresh (its open windows are dropped)."""
    found = read_automation(conn, ref)
    conn.execute(automations.update().where(automations.c.id == found.id)
                 .values(enabled=enabled, updated=now))
    conn.execute(automation_buckets.delete().where(automation_buckets.c.automation_id == found.id))
    return found.model_copy(update={"enabled": enabled, "updated": now})


def delete_automation(conn: sa.Connection, ref: str) -> Automation:
    found = read_automation(conn, ref)
    conn.execute(automations.delete().where(automations.c.id == found.id))
    return found


# --- trigger state ---------------------------------------------------------------------------

def read_buckets(conn: sa.Connection, automation_ids: list[str]) -> dict[tuple[str, str], Bucket]:
    if not automation_ids:
        return {}
    rows = conn.execute(sa.select(automation_buckets).where(
        automation_buckets.c.automation_id.in_(automation_ids))).mappings()
    return {(row["automation_id"], row["key"]): Bucket(
        key=row["key"], start=row["start"], end=row["end"], count=row["count"],
        event=row["event"]) for row in rows}


def write_bucket(conn: sa.Connection, automation_id: str, key: str,
                 bucket: Bucket | None) -> None:
    """Keep `bucket` as the automation's window for `key` (None: it has none)."""
    conn.execute(automation_buckets.delete().where(
        automation_buckets.c.automation_id == automation_id, automation_buckets.c.key == key))
    if bucket is not None:
        conn.execute(automation_buckets.insert().values(
            automation_id=automation_id, key=key, start=bucket.start, end=bucket.end,
            count=bucket.count, event=bucket.event))


def record_firing(conn: sa.Connection, automation_id: str, firing_key: str,
                  now: datetime) -> int | None:
    """The new firing's id; None when this firing was recorded before (it acted then)."""
    statement = insert(conn, automation_firings).values(
        automation_id=automation_id, firing_key=firing_key, fired=now, outcome=[],
    ).on_conflict_do_nothing(index_elements=[automation_firings.c.firing_key])
    inserted = conn.execute(statement.returning(automation_firings.c.id)).scalar()
    return inserted


def fired_since(conn: sa.Connection, automation_id: str, since: datetime, limit: int) -> bool:
    """Whether the automation fired `limit` times or more since `since`: its `limit`-th
    latest firing is that recent (one row read through the automation's index)."""
    fired = conn.execute(sa.select(automation_firings.c.fired).where(
        automation_firings.c.automation_id == automation_id)
        .order_by(automation_firings.c.id.desc()).offset(limit - 1).limit(1)).scalar()
    return fired is not None and fired >= since


def set_firing_outcome(conn: sa.Connection, firing_id: int, outcome: list[Any]) -> None:
    conn.execute(automation_firings.update().where(automation_firings.c.id == firing_id)
                 .values(outcome=outcome))


def recent_firings(conn: sa.Connection, automation_id: str, limit: int = 10) -> list[dict]:
    rows = conn.execute(sa.select(automation_firings).where(
        automation_firings.c.automation_id == automation_id)
        .order_by(automation_firings.c.id.desc()).limit(limit)).mappings()
    return [dict(fired=row["fired"], key=row["firing_key"], outcome=row["outcome"])
            for row in rows]
