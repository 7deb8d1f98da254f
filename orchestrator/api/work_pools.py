"""Routes for work pools and their work queues."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from ..models import WorkPool, WorkPoolCreate, WorkQueue
from ..store import work_pools as store
from ..store.database import Database
from .dependencies import get_db, utcnow

router = APIRouter(prefix="/work_pools", tags=["work pools"])


@router.post("", status_code=201)
def create_work_pool(request: WorkPoolCreate, db: Database = Depends(get_db)) -> WorkPool:
    with db.begin() as conn:
        return store.create_work_pool(conn, request, utcnow())


@router.get("")
def list_work_pools(db: Database = Depends(get_db)) -> list[WorkPool]:
    with db.connect() as conn:
        return store.list_work_pools(conn)


@router.get("/{name}")
def read_work_pool(name: str, db: Database = Depends(get_db)) -> WorkPool:
    with db.connect() as conn:
        return store.read_work_pool(conn, name)


@router.get("/{name}/queues")
def list_work_queues(name: str, db: Database = Depends(get_db)) -> list[WorkQueue]:
    with db.connect() as conn:
        store.read_work_pool(conn, name)
        return store.list_work_queues(conn, name)
