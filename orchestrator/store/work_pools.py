"""Work pools and work queues in the database. Every pool has a `default` queue."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..errors import AlreadyExists, FieldError, InvalidInput, NotFound
from ..jobs import check_base_job_template, default_base_job_template
from ..models import (DEFAULT_QUEUE, LimitUsage, SlotHolder, WorkPool, WorkPoolCreate,
                      WorkPoolDetail, WorkPoolUpdate, WorkQueue, WorkQueueCreate,
                      WorkQueueDetail, WorkQueueUpdate, new_id)
from ..states import FINAL_STATES, SLOT_HOLDING_STATES, StateType
from .pages import Order, Page, fetch_page
from .tables import deployments, flow_runs, work_pools, work_queues

POOL_ORDER = Order((work_pools.c.name,))
QUEUE_ORDER = Order((work_queues.c.priority, work_queues.c.name))  # the order they are served


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


def page_work_pools(conn: sa.Connection, cursor: str | None, limit: int) -> Page[WorkPool]:
    return fetch_page(conn, sa.select(work_pools), POOL_ORDER, cursor, limit,
                      lambda row: WorkPool.model_validate(dict(row)))


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


def page_work_queues(conn: sa.Connection, pool_name: str, cursor: str | None,
                     limit: int) -> Page[WorkQueue]:
    query = sa.select(work_queues).where(work_queues.c.work_pool_name == pool_name)
    return fetch_page(conn, query, QUEUE_ORDER, cursor, limit,
                      lambda row: WorkQueue.model_validate(dict(row)))


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


def update_work_pool(conn: sa.Connection, name: str, update: WorkPoolUpdate,
                     now: datetime) -> WorkPool:
    read_work_pool(conn, name)
    values = update.model_dump(include=update.model_fields_set)
    if values.get("base_job_template") is not None:
        check_base_job_template(values["base_job_template"])
    if values:
        conn.execute(work_pools.update().where(work_pools.c.name == name).values(**values, updated=now))
    return read_work_pool(conn, name)


def update_work_queue(conn: sa.Connection, pool_name: str, name: str,
                      update: WorkQueueUpdate) -> WorkQueue:
    read_work_queue(conn, pool_name, name)
    values = update.model_dump(include=update.model_fields_set)
    if values:
        conn.execute(work_queues.update().where(work_queues.c.work_pool_name == pool_name,
                                                work_queues.c.name == name).values(**values))
    return read_work_queue(conn, pool_name, name)


def delete_work_queue(conn: sa.Connection, pool_name: str, name: str) -> None:
    """Delete a queue no deployment targets and no unfinished run sits in."""
    read_work_queue(conn, pool_name, name)
    if name == DEFAULT_QUEUE:
        raise InvalidInput("the default queue cannot be deleted", [FieldError(
            "work_queue", "delete another queue, or the pool")])
    users = list(conn.execute(sa.select(deployments.c.flow_name, deployments.c.name).where(
        deployments.c.work_pool_name == pool_name, deployments.c.work_queue_name == name)))
    if users:
        names = ", ".join(f"{u.flow_name}/{u.name}" for u in users)
        raise InvalidInput(f"work queue {name!r} is used by deployments: {names}", [FieldError(
            "work_queue", "redeploy them to another queue first")])
    waiting = conn.execute(sa.select(sa.func.count()).select_from(flow_runs).where(
        flow_runs.c.work_pool_name == pool_name, flow_runs.c.work_queue_name == name,
        flow_runs.c.state_type.not_in([s.value for s in FINAL_STATES]))).scalar()
    if waiting:
        raise InvalidInput(f"work queue {name!r} has {waiting} unfinished run(s)", [FieldError(
            "work_queue", "wait for them to finish, or cancel them")])
    conn.execute(work_queues.delete().where(work_queues.c.work_pool_name == pool_name,
                                            work_queues.c.name == name))


def slot_holders(conn: sa.Connection, pool_name: str, queue_name: str | None = None) -> list[SlotHolder]:
    """The runs holding slots of a pool (or one of its queues), oldest first."""
    query = (sa.select(flow_runs.c.id, flow_runs.c.name, flow_runs.c.state_type,
                       flow_runs.c.deployment_name, flow_runs.c.flow_name,
                       flow_runs.c.work_queue_name)
             .where(flow_runs.c.work_pool_name == pool_name,
                    flow_runs.c.state_type.in_([s.value for s in SLOT_HOLDING_STATES]),
                    flow_runs.c.parent_flow_run_id.is_(None))  # child runs hold no slot
             .order_by(flow_runs.c.state_changed))
    if queue_name:
        query = query.where(flow_runs.c.work_queue_name == queue_name)
    return [SlotHolder.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def read_work_pool_detail(conn: sa.Connection, name: str) -> WorkPoolDetail:
    pool = read_work_pool(conn, name)
    holders = slot_holders(conn, name)
    queues = [WorkQueueDetail(**q.model_dump(), usage=_usage(
        q.concurrency_limit, [h for h in holders if h.work_queue_name == q.name]))
        for q in list_work_queues(conn, name)]
    return WorkPoolDetail(**pool.model_dump(), usage=_usage(pool.concurrency_limit, holders),
                          work_queues=queues)


def _usage(limit: int | None, holders: list[SlotHolder]) -> LimitUsage:
    return LimitUsage(limit=limit, in_use=len(holders), holders=holders)


def runs_by_worker(conn: sa.Connection, pool_name: str) -> dict[str, list[str]]:
    """Worker name -> ids of the runs it holds (RUNNING or CANCELLING) in this pool."""
    query = sa.select(flow_runs.c.worker_name, flow_runs.c.id).where(
        flow_runs.c.work_pool_name == pool_name,
        flow_runs.c.state_type.in_([StateType.RUNNING.value, StateType.CANCELLING.value]),
        flow_runs.c.parent_flow_run_id.is_(None))  # a child run runs in its root's process
    held: dict[str, list[str]] = {}
    for worker, run_id in conn.execute(query):
        held.setdefault(worker, []).append(run_id)
    return held
