"""Who may call the API.

With FLOWPOOL_API_KEY set, the exact path `/api/health` is the only one that answers without
the key: every other path (each route, whatever its resource is named, `/docs`,
`/openapi.json`, unknown paths) wants `Authorization: Bearer KEY`. The check runs before
routing, as ASGI middleware, so no route can forget it.

A flow run's process carries a run credential instead of the key (see `run_credentials`): it
opens only the few routes through which that one run reports on itself.

The web UI (`/` and `/ui/...`) also takes the session cookie its login page sets (see
`sessions`); its login page and static files are open, and a UI page asked for without a
session redirects to the login page instead of answering 401.
"""
from __future__ import annotations

import hmac
import json
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from . import run_credentials, sessions

OPEN_PATHS = frozenset({"/api/health"})
UNAUTHORIZED_RESPONSE = {"description": "The API key is missing or wrong.", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
UNAUTHORIZED_BODY = json.dumps({
    "detail": "the API key is missing or wrong",
    "errors": [{"field": "FLOWPOOL_API_KEY",
                "message": "set it to the key the server was started with"}],
}).encode()


class ApiKeyGuard:
    """Refuse, with 401, every request that needs the key and does not carry it."""

    def __init__(self, app: ASGIApp, api_key: str | None):
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.api_key and not self._allowed(scope):
            if sessions.is_ui_path(scope["path"]):
                await _to_login(scope, send)
            else:
                await _refuse(send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        path = scope["path"]
        if path in OPEN_PATHS or sessions.is_open_ui_path(path):
            return True
        headers = Headers(scope=scope)
        given = bearer_token(headers.get("authorization", ""))
        if hmac.compare_digest(given.encode(), self.api_key.encode()):
            return True
        if sessions.is_ui_path(path):
            cookie = sessions.cookie_value(headers.get("cookie", ""))
            return sessions.valid(self.api_key, cookie)
        return run_credentials.permits(self.api_key, given, scope["method"], path)


def bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _refuse(send: Send) -> None:
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(UNAUTHORIZED_BODY)).encode()),
        (b"www-authenticate", b"Bearer"),
    ]})
    await send({"type": "http.response.body", "body": UNAUTHORIZED_BODY})


async def _to_login(scope: Scope, send: Send) -> None:
    """303 to the login page, which brings the person back to the page asked for (a GET)."""
    back = scope["path"] if scope["method"] == "GET" else "/ui/"
    query = scope.get("query_string", b"").decode("latin-1")
    if scope["method"] == "GET" and query:
        back += "?" + query
    location = "/ui/login?next=" + quote(back, safe="")
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", location.encode("latin-1")), (b"content-length", b"0"),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": b""})


def document_api_key(app) -> None:
    """Say in the OpenAPI document what the guard enforces: a bearer key on every operation
    but the open ones, and the 401 that answers its absence."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["apiKey"] = {
                "type": "http", "scheme": "bearer", "description": "FLOWPOOL_API_KEY"}
            for path, operations in schema["paths"].items():
                if path not in OPEN_PATHS:
                    for operation in operations.values():
                        operation["security"] = [{"apiKey": []}]
                        operation["responses"].setdefault("401", UNAUTHORIZED_RESPONSE)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
