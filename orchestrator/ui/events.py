"""The event feed: the newest events first, a page at a time back in time, filtered by the
start of their name."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..errors import FieldError, InvalidInput
from ..masking import mask_secrets
from ..store import events as store
from .rendering import render
from .routing import PageRoute, parts

router = APIRouter(route_class=PageRoute)
PER_PAGE = 100
MAX_PREFIX_CHARS = 200


@router.get("/ui/events", response_class=HTMLResponse)
def event_feed(request: Request, name: str = "", before: str = ""):
    if len(name) > MAX_PREFIX_CHARS:
        raise InvalidInput("event name filter too long", [FieldError(
            "name", f"at most {MAX_PREFIX_CHARS} characters")])
    before_seq = _seq(before)
    with parts(request)[0].connect() as conn:
        found = store.list_events(conn, f"{name}*" if name else None, None, None,
                                  limit=PER_PAGE, before_seq=before_seq)
    found.reverse()  # newest first
    # payloads carry results and client data: shown with secret-looking keys masked
    found = [e.model_copy(update={"payload": mask_secrets(e.payload)}) for e in found]
    older = found[-1].seq if len(found) == PER_PAGE else None
    return render(request, "events.html", title="Event feed", events=found, prefix=name,
                  older=older)


def _seq(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"invalid page {text[:40]!r}", [FieldError(
            "before", "a whole number, as the 'older' link gives it")])
    return int(text)
