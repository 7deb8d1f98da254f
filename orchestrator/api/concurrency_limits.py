"""Routes for global concurrency limits: create, list, read (with the leases holding slots),
update, delete. The slots themselves are taken through a run's slot routes (api/slots.py)."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Path, Response

from .. import slots
from ..models.concurrency_limits import (LIMIT_NAME_PATTERN, ConcurrencyLimit,
                                         ConcurrencyLimitCreate, ConcurrencyLimitDetail,
                                         ConcurrencyLimitUpdate, SlotHolding)
from ..store import concurrency_limits as store
from ..store.database import Database
from .checks import CheckedRoute
from .dependencies import get_db, get_redis, utcnow
from .errors import ERROR_RESPONSES
from .links import created
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page

log = logging.getLogger(__name__)
router = APIRouter(prefix="/concurrency_limits", tags=["concurrency limits"],
                   route_class=CheckedRoute, responses=ERROR_RESPONSES)
LimitNamePath = Path(pattern=LIMIT_NAME_PATTERN, max_length=100)
LIMIT = {"name": "$response.body#/name"}


@router.post("", status_code=201, responses=created(
    201, ReadConcurrencyLimit=("get", "/concurrency_limits/{name}", LIMIT),
    UpdateConcurrencyLimit=("patch", "/concurrency_limits/{name}", LIMIT)))
def create_concurrency_limit(request: ConcurrencyLimitCreate,
                             db: Database = Depends(get_db)) -> ConcurrencyLimit:
    with db.begin() as conn:
        return store.create_concurrency_limit(conn, request, utcnow())


@router.get("", responses=PAGE_RESPONSES)
def list_concurrency_limits(response: Response, page: PageQuery = Depends(page_query()),
                            db: Database = Depends(get_db),
                            redis=Depends(get_redis)) -> list[ConcurrencyLimit]:
    """Limits by name, a page at a time, each with its slots in use."""
    with db.connect() as conn:
        found = store.page_concurrency_limits(conn, page.after, page.limit)
    return [with_usage(limit, redis) for limit in send_page(response, found)]


@router.get("/{name}")
def read_concurrency_limit(name: str = LimitNamePath, db: Database = Depends(get_db),
                           redis=Depends(get_redis)) -> ConcurrencyLimitDetail:
    """The limit, its slots in use and the leases holding them."""
    with db.connect() as conn:
        limit = store.read_concurrency_limit(conn, name)
    return with_usage(limit, redis, detail=True)


@router.patch("/{name}")
def update_concurrency_limit(update: ConcurrencyLimitUpdate, name: str = LimitNamePath,
                             db: Database = Depends(get_db),
                             redis=Depends(get_redis)) -> ConcurrencyLimit:
    """Change the limit; slots held stay held (a lower limit takes effect as they free)."""
    with db.begin() as conn:
        limit = store.update_concurrency_limit(conn, name, update, utcnow())
    return with_usage(limit, redis)


@router.delete("/{name}")
def delete_concurrency_limit(name: str = LimitNamePath, db: Database = Depends(get_db),
                             redis=Depends(get_redis)) -> ConcurrencyLimit:
    """Delete the limit; its holders keep running, and later acquires skip it as missing."""
    with db.begin() as conn:
        limit = store.delete_concurrency_limit(conn, name)
    if redis is not None:
        try:
            slots.forget(redis, name)
        except Exception as exc:  # redis-py's errors; its leases expire by themselves
            log.warning("concurrency limit %s deleted; its slots in Redis stay until they "
                        "expire (%s)", name, exc)
    return limit


def with_usage(limit: ConcurrencyLimit, redis, detail: bool = False):
    """The limit with its slots in use (and holders), read from Redis; unknown (None) while
    the broker does not answer."""
    active_slots, holders = None, []
    if redis is not None:
        try:
            active_slots, holders = slots.usage(redis, as_slot_limit(limit))
        except Exception as exc:  # redis-py's connection and timeout errors
            log.warning("cannot read the slots of concurrency limit %s (%s)", limit.name, exc)
    fields = dict(limit.model_dump(), active_slots=active_slots)
    if not detail:
        return ConcurrencyLimit(**fields)
    return ConcurrencyLimitDetail(**fields, holders=[
        SlotHolding(lease_id=h.lease_id, flow_run_id=h.flow_run_id, occupy=h.occupy,
                    expires=h.expires) for h in holders])


def as_slot_limit(limit: ConcurrencyLimit) -> slots.Limit:
    return slots.Limit(limit.name, limit.limit, limit.slot_decay_per_second)
