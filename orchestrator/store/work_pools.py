"""Work pools and work queues in the database. Every pool has a `default` queue."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..errors import AlreadyExists, FieldError, NotFound
from ..jobs import check_base_job_template, default_base_job_template
from ..models import DEFAULT_QUEUE, WorkPool, WorkPoolCreate, WorkQueue, WorkQueueCreate, new_id
from .tables import work_pools, work_queues


def create_work_pool(conn: sa.Connection, request: WorkPoolCreate, now: datetime) -> WorkPool:
    if conn.execute(sa.select(work_pools.c.id).where(work_pools.c.name == request.name)).first():
        raise AlreadyExists(f"work pool {request.name!r} already exists", [FieldError(
            "name", "choose another name, or use the existing pool")])
    template = request.base_job_template or default_base_job_template(request.type)
    check_base_job_template(template)
    values = dict(id=new_id(), name=request.name, type=request.type,
                  description=request.description, base_job_template=template,
                  concurrency_limit=request.concurrency_limit, paused=False,
                  created=now, updated=now)
    conn.execute(work_pools.insert().values(**values))
    create_work_queue(conn, request.name, WorkQueueCreate(name=DEFAULT_QUEUE), now)
    return WorkPool(**values)


def read_work_pool(conn: sa.Connection, name: str) -> WorkPool:
    row = conn.execute(sa.select(work_pools).where(work_pools.c.name == name)).mappings().first()
    if row is None:
        known = ", ".join(list_work_pool_names(conn)) or "none yet"
        raise NotFound(f"work pool {name!r} does not exist", [FieldError(
            "work_pool", f"create it with `flowpool work-pool create {name} --type process`"
                         f" (existing pools: {known})")])
    return WorkPool.model_validate(dict(row))


def list_work_pools(conn: sa.Connection) -> list[WorkPool]:
    rows = conn.execute(sa.select(work_pools).order_by(work_pools.c.name)).mappings()
    return [WorkPool.model_validate(dict(row)) for row in rows]


def list_work_pool_names(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(work_pools.c.name).order_by(work_pools.c.name)).scalars())


def create_work_queue(conn: sa.Connection, pool_name: str, request: WorkQueueCreate,
                      now: datetime) -> WorkQueue:
    exists = sa.select(work_queues.c.id).where(work_queues.c.work_pool_name == pool_name,
                                               work_queues.c.name == request.name)
    if conn.execute(exists).first():
        raise AlreadyExists(f"work queue {request.name!r} already exists in pool {pool_name!r}",
                            [FieldError("name", "choose another name")])
    values = dict(id=new_id(), work_pool_name=pool_name, name=request.name,
                  priority=request.priority, concurrency_limit=request.concurrency_limit,
                  paused=False, description=request.description, created=now)
    conn.execute(work_queues.insert().values(**values))
    return WorkQueue(**values)


def list_work_queues(conn: sa.Connection, pool_name: str) -> list[WorkQueue]:
    """The pool's queues in the order they are served: priority, then name."""
    query = (sa.select(work_queues).where(work_queues.c.work_pool_name == pool_name)
             .order_by(work_queues.c.priority, work_queues.c.name))
    return [WorkQueue.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def read_work_queue(conn: sa.Connection, pool_name: str, name: str) -> WorkQueue:
    query = sa.select(work_queues).where(work_queues.c.work_pool_name == pool_name,
                                         work_queues.c.name == name)
    row = conn.execute(query).mappings().first()
    if row is None:
        known = ", ".join(q.name for q in list_work_queues(conn, pool_name))
        raise NotFound(f"work queue {name!r} does not exist in pool {pool_name!r}", [FieldError(
            "work_queue", f"use one of: {known}, or create it with"
                          f" `flowpool work-queue create {name} --pool {pool_name}`")])
    return WorkQueue.model_validate(dict(row))
