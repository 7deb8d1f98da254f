"""The FastAPI application: REST API under /api."""
from __future__ import annotations

from fastapi import APIRouter, FastAPI

from .. import __version__
from ..store.database import Database
from ..wakeup import Doorbell
from . import deployments, flow_runs, work_pools
from .errors import install_error_handlers


def create_app(db: Database, doorbell: Doorbell | None, broker_url: str | None = None) -> FastAPI:
    app = FastAPI(title="flowpool", version=__version__)
    app.state.db = db
    app.state.doorbell = doorbell
    app.state.broker_url = broker_url
    api = APIRouter(prefix="/api")
    api.include_router(work_pools.router)
    api.include_router(deployments.router)
    api.include_router(flow_runs.router)

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
