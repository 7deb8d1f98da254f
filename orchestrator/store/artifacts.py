"""Artifacts in the database: upserted by id from the reports of a root run's process (a
progress artifact's update replaces it), listed by flow run or by key, newest first."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..models.artifacts import Artifact
from ..models.reports import ArtifactReportIn
from .pages import Order, Page, fetch_page
from .tables import artifacts
from .upserts import insert

ARTIFACT_ORDER = Order((artifacts.c.created, artifacts.c.id), descending=True)
_REPLACED = ("key", "type", "data", "description", "task_run_id", "updated")


def upsert_artifacts(conn: sa.Connection, root_id: str, reports: list[ArtifactReportIn],
                     now: datetime) -> int:
    """Store the artifacts (an artifact without a run goes to the root run); how many were
    stored."""
    if not reports:
        return 0
    statement = insert(conn, artifacts)
    new = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[artifacts.c.id], set_={c: new[c] for c in _REPLACED},
        where=artifacts.c.root_flow_run_id == new.root_flow_run_id)  # never another tree's
    rows = [_row(report, root_id, now) for report in reports]
    return len(conn.execute(upsert.returning(artifacts.c.id), rows).all())


def _row(report: ArtifactReportIn, root_id: str, now: datetime) -> dict[str, Any]:
    return dict(id=report.id, key=report.key, type=report.type, data=report.data,
                description=report.description, flow_run_id=report.flow_run_id or root_id,
                root_flow_run_id=root_id, task_run_id=report.task_run_id,
                created=report.created_at, updated=now)


def page_artifacts(conn: sa.Connection, flow_run_id: str | None, key: str | None,
                   cursor: str | None, limit: int) -> Page[Artifact]:
    """Artifacts of a flow run, or versions of a key (the first is the latest), newest first."""
    query = sa.select(artifacts)
    if flow_run_id is not None:
        query = query.where(artifacts.c.flow_run_id == flow_run_id)
    if key is not None:
        query = query.where(artifacts.c.key == key)
    return fetch_page(conn, query, ARTIFACT_ORDER, cursor, limit,
                      lambda row: Artifact.model_validate(dict(row)))
