"""Variables: the named JSON values that project files and flows read; shown masked where
their name looks secret."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..masking import mask_secrets
from ..store.pages import MAX_CURSOR_CHARS
from ..store.variables import page_variables
from .rendering import render
from .routing import PageRoute, parts

router = APIRouter(route_class=PageRoute)
PER_PAGE = 100


@router.get("/ui/variables", response_class=HTMLResponse)
def variable_list(request: Request, after: str | None = None):
    if after is not None:
        after = after[:MAX_CURSOR_CHARS]
    with parts(request)[0].connect() as conn:
        page = page_variables(conn, after, PER_PAGE)
    shown = [(v, mask_secrets({v.name: v.value})[v.name]) for v in page.items]
    return render(request, "variables.html", title="Variables", variables=shown,
                  cursor=page.cursor)
