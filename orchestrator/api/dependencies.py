"""What routes receive: the database, the scheduler's doorbell, the clock."""
from __future__ import annotations

import hmac
from datetime import datetime, timezone

from fastapi import Request

from ..broker import BrokerProbe
from ..errors import FieldError, Unauthorized
from ..store.database import Database
from ..wakeup import Doorbell


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_doorbell(request: Request) -> Doorbell | None:
    return request.app.state.doorbell


def get_redis(request: Request):
    """The broker's Redis, for cancel requests; None when the app runs without one."""
    return request.app.state.redis


def get_broker_probe(request: Request) -> BrokerProbe | None:
    """Whether the broker answers (cached briefly); None when the app runs without one."""
    return request.app.state.broker_probe


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def ring(doorbell: Doorbell | None, reason: str) -> None:
    if doorbell is not None:
        doorbell.ring(reason)


def require_api_key(request: Request) -> None:
    """With FLOWPOOL_API_KEY set on the server, refuse requests that do not carry it."""
    expected = request.app.state.api_key
    if not expected or request.url.path.endswith("/health"):
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        raise Unauthorized("the API key is missing or wrong", [FieldError(
            "FLOWPOOL_API_KEY", "set it to the key the server was started with")])
