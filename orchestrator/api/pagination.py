"""Listings come in pages: `?limit=N` (1..1000) items, in a fixed order; when there are more,
the answer's `X-Next-Cursor` header holds the cursor to pass as `?after=` for the next page.
The body stays a plain JSON list, so a client that reads one page works as before."""
from __future__ import annotations

from typing import Callable, TypeVar

from fastapi import Query, Response

from ..bounds import MAX_PAGE
from ..store.pages import MAX_CURSOR_CHARS, Page

Item = TypeVar("Item")
NEXT_CURSOR_HEADER = "X-Next-Cursor"
PAGE_RESPONSES = {200: {"headers": {NEXT_CURSOR_HEADER: {
    "description": "Present when there are more items: pass it as `after` for the next page.",
    "schema": {"type": "string"}}}}}


class PageQuery:
    """The `limit` and `after` query parameters of a listing."""

    def __init__(self, limit: int, after: str | None):
        self.limit, self.after = limit, after


def page_query(default_limit: int = MAX_PAGE) -> Callable[..., PageQuery]:
    async def dependency(  # a coroutine: no thread hop (see `dependencies`)
            limit: int = Query(default_limit, ge=1, le=MAX_PAGE,
                               description=f"items per page, 1..{MAX_PAGE}"),
            after: str | None = Query(None, max_length=MAX_CURSOR_CHARS,
                                      description=f"the {NEXT_CURSOR_HEADER} of the previous"
                                                  " page")) -> PageQuery:
        return PageQuery(limit, after)
    return dependency


def send_page(response: Response, page: Page[Item]) -> list[Item]:
    if page.cursor:
        response.headers[NEXT_CURSOR_HEADER] = page.cursor
    return page.items
