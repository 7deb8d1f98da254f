"""Deployments in the database, addressed by id or by FLOW/NAME."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..errors import FieldError, NotFound
from ..models import DEFAULT_QUEUE, Deployment, DeploymentCreate, new_id
from .tables import deployments


def upsert_deployment(conn: sa.Connection, request: DeploymentCreate, now: datetime) -> Deployment:
    """Create FLOW/NAME, or replace its definition and keep its id."""
    values = request.model_dump()
    values["work_queue_name"] = request.work_queue_name or DEFAULT_QUEUE
    existing = conn.execute(sa.select(deployments.c.id, deployments.c.created).where(
        deployments.c.flow_name == request.flow_name, deployments.c.name == request.name)).first()
    if existing:
        conn.execute(deployments.update().where(deployments.c.id == existing.id)
                     .values(**values, updated=now))
        return Deployment(**values, id=existing.id, created=existing.created, updated=now)
    ident = new_id()
    conn.execute(deployments.insert().values(**values, id=ident, created=now, updated=now))
    return Deployment(**values, id=ident, created=now, updated=now)


def read_deployment(conn: sa.Connection, flow_name: str, name: str) -> Deployment:
    query = sa.select(deployments).where(deployments.c.flow_name == flow_name,
                                         deployments.c.name == name)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"deployment {flow_name}/{name} does not exist", [FieldError(
            "deployment", "see `flowpool deployment ls` for the deployments there are")])
    return Deployment.model_validate(dict(row))


def read_deployment_by_id(conn: sa.Connection, deployment_id: str) -> Deployment:
    row = conn.execute(sa.select(deployments).where(deployments.c.id == deployment_id)).mappings().first()
    if row is None:
        raise NotFound(f"deployment {deployment_id} does not exist")
    return Deployment.model_validate(dict(row))


def list_deployments(conn: sa.Connection, work_pool_name: str | None = None) -> list[Deployment]:
    query = sa.select(deployments).order_by(deployments.c.flow_name, deployments.c.name)
    if work_pool_name:
        query = query.where(deployments.c.work_pool_name == work_pool_name)
    return [Deployment.model_validate(dict(row)) for row in conn.execute(query).mappings()]
