"""Deployments in the database, addressed by id or by FLOW/NAME."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..errors import FieldError, NotFound
from ..models import DEFAULT_QUEUE, Deployment, DeploymentCreate, new_id
from .deployment_schedules import (check_schedules_can_run, check_unique_slugs,
                                   delete_future_runs, read_schedules, replace_schedules,
                                   run_definition)
from .events import deployment_event, record_events
from .pages import Order, Page, fetch_page
from .tables import deployments

DEPLOYMENT_ORDER = Order((deployments.c.flow_name, deployments.c.name))


def upsert_deployment(conn: sa.Connection, request: DeploymentCreate, now: datetime) -> Deployment:
    """Create FLOW/NAME, or replace its definition and keep its id.

    Schedules: None keeps them, a list replaces them. When anything the runs are made from
    changes, the future auto-scheduled runs are deleted and the scheduler makes them again.
    """
    if request.schedules is not None:
        check_unique_slugs(request.schedules)
    values = request.model_dump(exclude={"schedules", "paused"})
    values["work_queue_name"] = request.work_queue_name or DEFAULT_QUEUE
    if request.paused is not None:
        values["paused"] = request.paused
    ident = conn.execute(sa.select(deployments.c.id).where(
        deployments.c.flow_name == request.flow_name, deployments.c.name == request.name)).scalar()
    before = read_deployment_by_id(conn, ident) if ident else None
    if before:
        conn.execute(deployments.update().where(deployments.c.id == ident)
                     .values(**values, updated=now))
    else:
        ident = new_id()
        conn.execute(deployments.insert().values(**values, id=ident, created=now, updated=now))
    if request.schedules is not None:
        replace_schedules(conn, ident, request.schedules, before.schedules if before else [], now)
    after = read_deployment_by_id(conn, ident)
    check_schedules_can_run(after)
    if before and run_definition(before) != run_definition(after):
        delete_future_runs(conn, now, deployment_id=ident)
    record_events(conn, [deployment_event(after, "updated" if before else "created", now)])
    return after


def read_deployment(conn: sa.Connection, flow_name: str, name: str,
                    schedules: bool = True) -> Deployment:
    """With `schedules=False` the deployment's `schedules` stay empty: creating or launching
    a run needs none, and it is one query less each time."""
    query = sa.select(deployments).where(deployments.c.flow_name == flow_name,
                                         deployments.c.name == name)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"deployment {flow_name}/{name} does not exist", [FieldError(
            "deployment", "see `flowpool deployment ls` for the deployments there are")])
    return _deployment(conn, row, schedules)


def read_deployment_by_id(conn: sa.Connection, deployment_id: str,
                          schedules: bool = True) -> Deployment:
    """`schedules=False`: as in `read_deployment`."""
    row = conn.execute(sa.select(deployments).where(deployments.c.id == deployment_id)).mappings().first()
    if row is None:
        raise NotFound(f"deployment {deployment_id} does not exist")
    return _deployment(conn, row, schedules)


def list_deployments(conn: sa.Connection, work_pool_name: str | None = None) -> list[Deployment]:
    query = sa.select(deployments).order_by(deployments.c.flow_name, deployments.c.name)
    if work_pool_name:
        query = query.where(deployments.c.work_pool_name == work_pool_name)
    return _with_schedules(conn, [Deployment.model_validate(dict(row))
                                  for row in conn.execute(query).mappings()])


def page_deployments(conn: sa.Connection, work_pool_name: str | None, cursor: str | None,
                     limit: int) -> Page[Deployment]:
    query = sa.select(deployments)
    if work_pool_name:
        query = query.where(deployments.c.work_pool_name == work_pool_name)
    page = fetch_page(conn, query, DEPLOYMENT_ORDER, cursor, limit,
                      lambda row: Deployment.model_validate(dict(row)))
    return Page(_with_schedules(conn, page.items), page.cursor)


def _deployment(conn: sa.Connection, row, schedules: bool) -> Deployment:
    deployment = Deployment.model_validate(dict(row))
    return _with_schedules(conn, [deployment])[0] if schedules else deployment


def _with_schedules(conn: sa.Connection, found: list[Deployment]) -> list[Deployment]:
    schedules = read_schedules(conn, [d.id for d in found])
    return [d.model_copy(update={"schedules": schedules[d.id]}) for d in found]
