"""Variables: the named JSON values that project files and flows read; shown masked where
their name looks secret."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..masking import mask_secrets
from ..store.variables import page_variables
from .rendering import render
from .routing import PageRoute, list_page

router = APIRouter(route_class=PageRoute)


@router.get("/ui/variables", response_class=HTMLResponse)
def variable_list(request: Request, after: str | None = None):
    page = list_page(request, after, page_variables)
    shown = [(v, mask_secrets({v.name: v.value})[v.name]) for v in page.items]
    return render(request, "variables.html", title="Variables", variables=shown,
                  cursor=page.cursor)
