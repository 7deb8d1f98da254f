"""The FastAPI application: REST API under /api."""
from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from config.settings import get_settings

from .. import __version__
from ..store.database import Database
from ..wakeup import Doorbell
from . import deployments, flow_runs, schedules, variables, work_pools
from .body_limit import BodyLimit
from .dependencies import require_api_key
from .errors import install_error_handlers


def create_app(db: Database, broker_url: str | None, api_key: str | None = None,
               max_request_bytes: int | None = None) -> FastAPI:
    """The app; with a broker URL it also rings the scheduler and posts cancel requests; with
    an API key, every route but /api/health wants `Authorization: Bearer KEY`. Request
    bodies over `max_request_bytes` (default: FLOWPOOL_MAX_REQUEST_BYTES) get 413."""
    app = FastAPI(title="flowpool", version=__version__)
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes or get_settings().max_request_bytes)
    app.state.api_key = api_key
    app.state.db = db
    app.state.redis = _redis_client(broker_url) if broker_url else None
    app.state.doorbell = Doorbell(app.state.redis) if broker_url else None
    app.state.broker_url = broker_url
    api = APIRouter(prefix="/api", dependencies=[Depends(require_api_key)])
    api.include_router(work_pools.router)
    api.include_router(deployments.router)
    api.include_router(schedules.router)
    api.include_router(flow_runs.router)
    api.include_router(variables.router)

    @api.get("/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @api.get("/broker")
    def broker() -> dict:
        """Where workers on this machine find the broker when FLOWPOOL_REDIS_URL is unset."""
        return {"redis_url": app.state.broker_url}

    app.include_router(api)
    install_error_handlers(app)
    return app


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
