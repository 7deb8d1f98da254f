"""What every UI route shares: its router class (a flowpool error becomes an HTML page with the
same status the API would answer, not JSON), the redirect after a form, and the app's parts."""
from __future__ import annotations

from typing import Any, Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from ..errors import FlowpoolError
from ..store.pages import MAX_CURSOR_CHARS
from .rendering import render


class PageRoute(APIRoute):
    """A UI route: kept out of the OpenAPI document, errors drawn as a page."""

    def __init__(self, *args, **kwargs):
        kwargs["include_in_schema"] = False
        super().__init__(*args, **kwargs)

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except FlowpoolError as exc:
                return error_page(request, exc)
        return handle


def error_page(request: Request, exc: FlowpoolError) -> Response:
    return render(request, "error.html", status_code=exc.status_code, title="Error",
                  message=exc.message, errors=exc.errors)


def back_to(path: str) -> RedirectResponse:
    """After a form: see the page it changed (303, so a reload does not send it again)."""
    return RedirectResponse(path, status_code=303)


def parts(request: Request):
    """(database, broker Redis or None, broker probe or None, scheduler doorbell or None)."""
    state = request.app.state
    return state.db, state.redis, state.broker_probe, state.doorbell


PER_PAGE = 100  # rows of a list page


def list_page(request: Request, after: str | None, read: Callable[[Any, str | None, int], Any]):
    """One page of a list (blocks, variables): `read(conn, cursor, limit)` from `after`, the
    cursor of the page before (clipped to a cursor's length; the store refuses a cursor it
    did not issue)."""
    cursor = after[:MAX_CURSOR_CHARS] if after is not None else None
    with parts(request)[0].connect() as conn:
        return read(conn, cursor, PER_PAGE)
