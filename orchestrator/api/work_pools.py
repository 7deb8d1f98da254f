"""Routes for work pools and their work queues."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query, Response

from ..errors import BrokerUnavailable, FieldError
from ..leases import read_worker_beats
from ..masking import restore_masked
from ..models import (WorkPool, WorkPoolCreate, WorkPoolDetail, WorkPoolUpdate, WorkQueue,
                      WorkQueueCreate, WorkQueueDetail, WorkQueueUpdate, WorkerStatus)
from ..models.removals import Removal
from ..store import work_pools as store
from ..store.removals import delete_work_pool as delete_from_store
from ..store.database import Database
from ..wakeup import Doorbell
from .checks import CheckedRoute
from .dependencies import get_db, get_doorbell, get_redis, ring, utcnow
from .errors import BROKER_DOWN, ERROR_RESPONSES
from .flow_runs import announce_cancelled
from .links import created
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page

router = APIRouter(prefix="/work_pools", tags=["work pools"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)


POOL = {"name": "$response.body#/name"}
QUEUE = {"name": "$request.path.name", "queue": "$response.body#/name"}


@router.post("", status_code=201, responses=created(
    201, ReadWorkPool=("get", "/work_pools/{name}", POOL),
    UpdateWorkPool=("patch", "/work_pools/{name}", POOL),
    CreateWorkQueue=("post", "/work_pools/{name}/queues", POOL)))
def create_work_pool(request: WorkPoolCreate, db: Database = Depends(get_db)) -> WorkPool:
    with db.begin() as conn:
        return store.create_work_pool(conn, request, utcnow()).masked()


@router.get("", responses=PAGE_RESPONSES)
def list_work_pools(response: Response, page: PageQuery = Depends(page_query()),
                    db: Database = Depends(get_db)) -> list[WorkPool]:
    """Work pools by name, a page at a time."""
    with db.connect() as conn:
        found = store.page_work_pools(conn, page.after, page.limit)
    return [pool.masked() for pool in send_page(response, found)]


@router.get("/{name}")
def read_work_pool(name: str, db: Database = Depends(get_db)) -> WorkPoolDetail:
    """The pool, its queues, and for each limit the slots in use and which runs hold them."""
    with db.connect() as conn:
        return store.read_work_pool_detail(conn, name).masked()


@router.patch("/{name}")
def update_work_pool(name: str, update: WorkPoolUpdate, db: Database = Depends(get_db),
                     doorbell: Doorbell | None = Depends(get_doorbell)) -> WorkPool:
    with db.begin() as conn:
        current = store.read_work_pool(conn, name)
        if update.base_job_template is not None:  # a template read from the API, sent back
            update.base_job_template = restore_masked(update.base_job_template,
                                                      current.base_job_template)
        pool = store.update_work_pool(conn, name, update, utcnow())
    ring(doorbell, "work pool changed")
    return pool.masked()


@router.delete("/{name}")
def delete_work_pool(name: str,
                     force: bool = Query(False, description="cancel the runs in progress"
                                                            " instead of refusing"),
                     db: Database = Depends(get_db), redis=Depends(get_redis),
                     doorbell: Doorbell | None = Depends(get_doorbell)) -> Removal:
    """Delete a pool no deployment uses, and its queues; its waiting runs go with it. While
    runs are in progress it refuses (409, naming them), unless `force` cancels them."""
    with db.begin() as conn:
        removal, cancelled = delete_from_store(conn, name, force, utcnow())
    announce_cancelled(cancelled, redis)
    ring(doorbell, "work pool deleted")
    return removal


@router.get("/{name}/queues", responses=PAGE_RESPONSES)
def list_work_queues(name: str, response: Response, page: PageQuery = Depends(page_query()),
                     db: Database = Depends(get_db)) -> list[WorkQueue]:
    """The pool's queues in the order they are served (priority, then name)."""
    with db.connect() as conn:
        store.read_work_pool(conn, name)
        return send_page(response, store.page_work_queues(conn, name, page.after, page.limit))


@router.post("/{name}/queues", status_code=201, responses=created(
    201, ReadWorkQueue=("get", "/work_pools/{name}/queues/{queue}", QUEUE),
    UpdateWorkQueue=("patch", "/work_pools/{name}/queues/{queue}", QUEUE),
    DeleteWorkQueue=("delete", "/work_pools/{name}/queues/{queue}", QUEUE)))
def create_work_queue(name: str, request: WorkQueueCreate,
                      db: Database = Depends(get_db)) -> WorkQueue:
    with db.begin() as conn:
        store.read_work_pool(conn, name)
        return store.create_work_queue(conn, name, request, utcnow())


@router.get("/{name}/queues/{queue}")
def read_work_queue(name: str, queue: str, db: Database = Depends(get_db)) -> WorkQueueDetail:
    with db.connect() as conn:
        detail = store.read_work_pool_detail(conn, name)
    matches = [q for q in detail.work_queues if q.name == queue]
    if not matches:
        with db.connect() as conn:
            store.read_work_queue(conn, name, queue)  # raises NotFound with the fix
    return matches[0]


@router.patch("/{name}/queues/{queue}")
def update_work_queue(name: str, queue: str, update: WorkQueueUpdate,
                      db: Database = Depends(get_db),
                      doorbell: Doorbell | None = Depends(get_doorbell)) -> WorkQueue:
    with db.begin() as conn:
        updated = store.update_work_queue(conn, name, queue, update)
    ring(doorbell, "work queue changed")
    return updated


@router.delete("/{name}/queues/{queue}", status_code=204)
def delete_work_queue(name: str, queue: str, db: Database = Depends(get_db)) -> None:
    with db.begin() as conn:
        store.delete_work_queue(conn, name, queue)


@router.get("/{name}/workers", responses=BROKER_DOWN)
def list_workers(name: str, db: Database = Depends(get_db), redis=Depends(get_redis)) -> list[WorkerStatus]:
    """The pool's workers, ONLINE while their heartbeat is fresh, with the runs they hold."""
    from config.settings import get_settings

    with db.connect() as conn:
        store.read_work_pool(conn, name)
        holders = store.runs_by_worker(conn, name)
    beats = _worker_beats(redis, name)
    offline_after_s = get_settings().worker_offline_after_s
    now = time.time()
    return [WorkerStatus(
        name=b.name, status="ONLINE" if b.online(now, offline_after_s) else "OFFLINE",
        limit=b.limit, work_queues=b.work_queues, hostname=b.hostname, pid=b.pid,
        last_seen=datetime.fromtimestamp(b.last_seen, timezone.utc),
        runs=holders.get(b.name, [])) for b in beats]


def _worker_beats(redis, pool: str) -> list:
    if redis is None:
        return []
    try:
        return read_worker_beats(redis, pool)
    except Exception as exc:  # redis-py's connection and timeout errors
        raise BrokerUnavailable(f"the broker does not answer ({type(exc).__name__}): the"
                                " workers' status is unknown until it is back", [FieldError(
                                    "broker", "see `flowpool server start`'s log; the bundled"
                                    " Redis is restarted by the server")]) from None
