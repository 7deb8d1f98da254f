"""The FastAPI application: REST API under /api."""
from __future__ import annotations

from fastapi import APIRouter, FastAPI

from .. import __version__
from ..store.database import Database
from ..wakeup import Doorbell
from . import deployments, flow_runs, logs, schedules, variables, work_pools
from .auth import ApiKeyGuard
from .errors import install_error_handlers


def create_app(db: Database, broker_url: str | None, api_key: str | None = None) -> FastAPI:
    """The app; with a broker URL it also rings the scheduler and posts cancel requests; with
    an API key, every path but /api/health wants `Authorization: Bearer KEY` (see auth)."""
    app = FastAPI(title="flowpool", version=__version__)
    app.state.api_key = api_key
    app.state.db = db
    app.state.redis = _redis_client(broker_url) if broker_url else None
    app.state.doorbell = Doorbell(app.state.redis) if broker_url else None
    app.state.broker_url = broker_url
    api = APIRouter(prefix="/api")
    api.include_router(work_pools.router)
    api.include_router(deployments.router)
    api.include_router(schedules.router)
    api.include_router(flow_runs.router)
    api.include_router(logs.router)
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
    app.add_middleware(ApiKeyGuard, api_key=api_key)
    return app


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
