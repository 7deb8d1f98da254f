"""Blocks: each block's type, name and fields, its secret fields always shown masked (as the
API answers them by default); deleting one."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ..api import blocks as api_blocks
from ..store import blocks as store
from .forms_security import FormData, checked_form
from .rendering import render
from .routing import PageRoute, back_to, list_page, parts

router = APIRouter(route_class=PageRoute)


@router.get("/ui/blocks", response_class=HTMLResponse)
def block_list(request: Request, after: str | None = None):
    page = list_page(request, after, lambda conn, cursor, limit: store.page_blocks(
        conn, None, cursor, limit))
    blocks = [api_blocks.masked(b) for b in page.items]
    return render(request, "blocks.html", title="Blocks", blocks=blocks, cursor=page.cursor)


@router.post("/ui/blocks/{type}/{name}/delete")
def delete(request: Request, type: str, name: str, form: FormData = Depends(checked_form)):
    api_blocks.delete_block(type[:64], name[:100], parts(request)[0])
    return back_to("/ui/blocks")
