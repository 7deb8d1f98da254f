"""Routes for events: emit one (flow code's `emit_event`), list and follow them."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ..models.events import Event, EventCreate
from ..store import events as store
from ..store.database import Database
from ..wakeup import Doorbell
from .checks import CheckedRoute
from .dependencies import get_db, get_doorbell, ring, utcnow
from .errors import ERROR_RESPONSES

router = APIRouter(prefix="/events", tags=["events"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)
MAX_EVENTS_PER_PAGE = 1000


@router.post("", status_code=201)
def emit_event(request: EventCreate, db: Database = Depends(get_db),
               doorbell: Doorbell | None = Depends(get_doorbell)) -> Event:
    """Store an event; the automations see it on the scheduler's next look (rung now)."""
    with db.begin() as conn:
        stored = store.emit_event(conn, request, utcnow())
    ring(doorbell, "event emitted")
    return stored


@router.get("")
def list_events(name: str | None = Query(None, max_length=200,
                                         description="event name pattern, `*` matches any text"),
                resource: str | None = Query(None, max_length=1000,
                                             description="resource id pattern, `*` as in name"),
                after: int | None = Query(None, ge=0, le=2**62,
                                          description="only events stored after this seq"),
                limit: int = Query(100, ge=1, le=MAX_EVENTS_PER_PAGE),
                db: Database = Depends(get_db)) -> list[Event]:
    """Events oldest first: the newest `limit`, or with `after`, the next `limit` (a feed)."""
    with db.connect() as conn:
        return store.list_events(conn, name, resource, after, limit=limit)
