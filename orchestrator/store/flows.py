"""Flows as the database knows them: the flow names of deployments and runs, each with its
deployments and its latest run."""
from __future__ import annotations

import sqlalchemy as sa

from ..models.removals import FlowSummary, LastRun
from .tables import deployments, flow_runs

LAST_RUN_COLUMNS = [flow_runs.c[name] for name in LastRun.model_fields]


def list_flows(conn: sa.Connection, limit: int) -> list[FlowSummary]:
    """The first `limit` flows by name."""
    names = sa.union(sa.select(deployments.c.flow_name.label("name")),
                     sa.select(flow_runs.c.flow_name.label("name"))).subquery()
    found = list(conn.execute(sa.select(names.c.name).order_by(names.c.name).limit(limit))
                 .scalars())
    owned = _deployment_names(conn, found)
    last = _last_runs(conn, found)
    return [FlowSummary(name=name, deployments=owned.get(name, []), last_run=last.get(name))
            for name in found]


def _deployment_names(conn: sa.Connection, flow_names: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in conn.execute(sa.select(deployments.c.flow_name, deployments.c.name)
                            .where(deployments.c.flow_name.in_(flow_names))
                            .order_by(deployments.c.name)):
        found.setdefault(row.flow_name, []).append(row.name)
    return found


def _last_runs(conn: sa.Connection, flow_names: list[str]) -> dict[str, LastRun]:
    """Each flow's run created last, in one pass over the runs of these flows."""
    latest = (sa.select(flow_runs.c.flow_name, sa.func.max(flow_runs.c.created).label("created"))
              .where(flow_runs.c.flow_name.in_(flow_names))
              .group_by(flow_runs.c.flow_name).subquery())
    query = (sa.select(flow_runs.c.flow_name.label("flow"), *LAST_RUN_COLUMNS)
             .join(latest, sa.and_(flow_runs.c.flow_name == latest.c.flow_name,
                                   flow_runs.c.created == latest.c.created))
             .order_by(flow_runs.c.id))
    found: dict[str, LastRun] = {}
    for row in conn.execute(query).mappings():
        values = dict(row)
        found.setdefault(values.pop("flow"), LastRun.model_validate(values))
    return found
