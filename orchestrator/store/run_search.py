"""Flow runs found by what a person filters on: state, deployment, work pool, tag and a time
window, newest first, a page at a time (keyset pages, as every listing)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..models import FlowRun
from ..states import StateType
from .flow_runs import RUN_ORDER
from .pages import Page, fetch_page
from .tables import flow_runs

LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class RunFilter:
    states: tuple[StateType, ...] = ()
    deployment_id: str | None = None
    work_pool_name: str | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def search_runs(conn: sa.Connection, found: RunFilter, cursor: str | None,
                limit: int) -> Page[FlowRun]:
    """Runs matching every given criterion, newest first."""
    query = sa.select(flow_runs).where(*_criteria(found))
    return fetch_page(conn, query, RUN_ORDER, cursor, limit,
                      lambda row: FlowRun.model_validate(dict(row)))


def _criteria(found: RunFilter) -> list[sa.ColumnElement]:
    criteria = []
    if found.states:
        criteria.append(flow_runs.c.state_type.in_([s.value for s in found.states]))
    if found.deployment_id:
        criteria.append(flow_runs.c.deployment_id == found.deployment_id)
    if found.work_pool_name:
        criteria.append(flow_runs.c.work_pool_name == found.work_pool_name)
    if found.created_after:
        criteria.append(flow_runs.c.created >= found.created_after)
    if found.created_before:
        criteria.append(flow_runs.c.created < found.created_before)
    if found.tag:
        criteria.append(_has_tag(found.tag))
    return criteria


def _has_tag(tag: str) -> sa.ColumnElement:
    """Tags are a JSON list stored as text (SQLite) or `json` (PostgreSQL), both written by
    json.dumps: the tag's own JSON encoding, quotes included, matches it whole."""
    encoded = json.dumps(tag)
    for special in (LIKE_ESCAPE, "%", "_"):
        encoded = encoded.replace(special, LIKE_ESCAPE + special)
    return sa.cast(flow_runs.c.tags, sa.Text).like(f"%{encoded}%", escape=LIKE_ESCAPE)


def child_flow_runs(conn: sa.Connection, parent_id: str, limit: int = 200) -> list[FlowRun]:
    """The flow runs `parent_id` started, oldest first; none while runs record no parent."""
    parent = flow_runs.c.get("parent_flow_run_id")
    if parent is None:
        return []
    query = (sa.select(flow_runs).where(parent == parent_id)
             .order_by(flow_runs.c.created, flow_runs.c.id).limit(limit))
    return [FlowRun.model_validate(dict(row)) for row in conn.execute(query).mappings()]
