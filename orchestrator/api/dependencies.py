"""What routes receive: the database, the scheduler's doorbell, the clock, the secret box.

The accessors are coroutines: FastAPI calls those on its event loop, where a plain function
would cost a hop to a worker thread and back on every request."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import Request

from config.settings import get_settings

from ..broker import BrokerProbe
from ..encryption import SecretBox, secret_box
from ..store.database import Database
from ..wakeup import Doorbell


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_doorbell(request: Request) -> Doorbell | None:
    return request.app.state.doorbell


async def get_redis(request: Request):
    """The broker's Redis, for cancel requests; None when the app runs without one."""
    return request.app.state.redis


async def get_broker_probe(request: Request) -> BrokerProbe | None:
    """Whether the broker answers (cached briefly); None when the app runs without one."""
    return request.app.state.broker_probe


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def ring(doorbell: Doorbell | None, reason: str) -> None:
    if doorbell is not None:
        doorbell.ring(reason)


def get_secret_box(request: Request) -> SecretBox:
    """The box that seals blocks' secret fields, made on first use (so a server that never
    keeps a block never makes a key)."""
    state = request.app.state
    if getattr(state, "secret_box", None) is None:
        settings = get_settings()
        key = settings.secret_key.get_secret_value() if settings.secret_key else None
        state.secret_box = secret_box(settings.home, key)
    return state.secret_box
