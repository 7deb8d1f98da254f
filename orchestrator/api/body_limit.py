"""A cap on the size of request bodies (FLOWPOOL_MAX_REQUEST_BYTES): larger ones get 413.

The body is counted as it streams in, so a chunked body or a wrong Content-Length cannot
slip past, and no more than the cap is ever held in memory. The rest of a body over the
cap is read and dropped (up to DRAIN_LIMIT_BYTES) so the client, still sending, gets the
413 rather than a reset connection; a body declared larger still is refused unread.
"""
from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_LIMIT_BYTES = 8 * 1024 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_bytes + DRAIN_LIMIT_BYTES:
            await self._refuse(send, close=True)
            return
        body, too_large, more = await self._read(receive)
        if too_large:
            drained = not more or await _drain(receive)
            await self._refuse(send, close=not drained)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> tuple[bytes, bool, bool]:
        """The body; whether it went past the cap (then no more is kept); whether more of
        it is still to come."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False, False  # the client left; the app sees that
            chunk, more = message.get("body", b""), message.get("more_body", False)
            size += len(chunk)
            if size > self.max_bytes:
                return b"", True, more
            chunks.append(chunk)
            if not more:
                return b"".join(chunks), False, False

    async def _refuse(self, send: Send, close: bool) -> None:
        body = json.dumps({"detail": "the request body is too large", "errors": [{
            "field": "body", "message": f"send at most {self.max_bytes} bytes (the server's"
                                       " FLOWPOOL_MAX_REQUEST_BYTES)"}]}).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the server itself refuses a malformed Content-Length
    return 0


async def _drain(receive: Receive) -> bool:
    """Read and drop the rest of the body, up to DRAIN_LIMIT_BYTES; whether it all came."""
    seen = 0
    while seen <= DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return message["type"] == "http.request"
        seen += len(message.get("body", b""))
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body already read, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
