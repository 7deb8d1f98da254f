"""The UI's stylesheet and script, vendored in the package and held in memory: served with a
long cache lifetime, their URLs carry the version so an upgrade is fetched anew."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from ..errors import NotFound
from .routing import PageRoute

STATIC = Path(__file__).parent / "static"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml"}
FILES = {path.name: (path.read_bytes(), TYPES[path.suffix])
         for path in STATIC.iterdir() if path.suffix in TYPES}
router = APIRouter(route_class=PageRoute)


@router.get("/ui/static/{name}")
def static_file(name: str) -> Response:
    if name not in FILES:
        raise NotFound(f"no static file {name!r}")
    body, media_type = FILES[name]
    return Response(body, media_type=media_type, headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff"})
