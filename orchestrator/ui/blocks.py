"""Blocks: each block's type, name and fields, its secret fields always shown masked (as the
API answers them by default); deleting one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ..api import blocks as api_blocks
from ..store import blocks as store
from ..store.pages import MAX_CURSOR_CHARS
from .forms_security import FormData, checked_form
from .rendering import render
from .routing import PageRoute, back_to, parts

router = APIRouter(route_class=PageRoute)
PER_PAGE = 100


@router.get("/ui/blocks", response_class=HTMLResponse)
def block_list(request: Request, after: str | None = None):
    if after is not None:
        after = after[:MAX_CURSOR_CHARS]
    with parts(request)[0].connect() as conn:
        page = store.page_blocks(conn, None, after, PER_PAGE)
    blocks = [api_blocks.masked(b) for b in page.items]
    return render(request, "blocks.html", title="Blocks", blocks=blocks, cursor=page.cursor)


@router.post("/ui/blocks/{type}/{name}/delete")
def delete(request: Request, type: str, name: str, form: FormData = Depends(checked_form)):
    api_blocks.delete_block(type[:64], name[:100], parts(request)[0])
    return back_to("/ui/blocks")
