"""The FastAPI application: REST API under /api, the web UI under /ui, /metrics."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from config.settings import get_settings

from .. import __version__
from ..broker import BrokerProbe, redis_client
from ..store.database import Database
from ..ui import install_ui
from ..wakeup import Doorbell
from . import (artifacts, automations, blocks, concurrency_limits, deployment_schedules,
               deployments, events, flow_runs, flows, logs, reports, slots, task_cache, task_runs,
               variables, work_pools)
from .auth import ApiKeyGuard, document_api_key
from .body_limit import BodyLimit
from .errors import install_error_handlers
from .metrics import install_metrics

REDIS_TIMEOUT_S = 2.0


def create_app(db: Database, broker_url: str | None, api_key: str | None = None,
               max_request_bytes: int | None = None) -> FastAPI:
    """The app; with a broker URL it also rings the scheduler and posts cancel requests; with
    an API key, every path but /api/health wants `Authorization: Bearer KEY` (see auth).
    Request bodies over `max_request_bytes` (default: FLOWPOOL_MAX_REQUEST_BYTES) get 413."""
    app = FastAPI(title="flowpool", version=__version__, lifespan=_lifespan)
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes or get_settings().max_request_bytes)
    app.state.api_key = api_key
    app.state.db = db
    app.state.secret_box = None  # made on first use (api/dependencies.get_secret_box)
    app.state.redis = redis_client(broker_url, REDIS_TIMEOUT_S) if broker_url else None
    app.state.doorbell = Doorbell(app.state.redis) if broker_url else None
    app.state.broker_url = broker_url
    app.state.broker_probe = BrokerProbe(broker_url) if broker_url else None
    api = APIRouter(prefix="/api")
    api.include_router(work_pools.router)
    api.include_router(deployments.router)
    api.include_router(deployment_schedules.router)
    api.include_router(flows.router)
    api.include_router(flow_runs.router)
    api.include_router(logs.router)
    api.include_router(variables.router)
    api.include_router(blocks.router)
    api.include_router(blocks.types_router)
    api.include_router(reports.router)
    api.include_router(task_runs.router)
    api.include_router(artifacts.router)
    api.include_router(task_cache.router)
    api.include_router(concurrency_limits.router)
    api.include_router(slots.router)
    api.include_router(events.router)
    api.include_router(automations.router)

    @api.get("/health", response_model=None)
    def health() -> dict | JSONResponse:
        """503 while the broker does not answer, so whatever watches the server sees it."""
        probe = app.state.broker_probe
        if probe is None:
            return {"status": "ok", "version": __version__, "broker": None}
        if probe.up():
            return {"status": "ok", "version": __version__, "broker": "ok"}
        return JSONResponse({"status": "degraded", "version": __version__, "broker": "down"},
                            status_code=503)

    @api.get("/broker")
    def broker() -> dict:
        """Where workers and a separate scheduler find the broker when FLOWPOOL_REDIS_URL is
        unset: its URL, password included (so this route wants the API key when one is set)."""
        return {"redis_url": app.state.broker_url}

    app.include_router(api)
    install_error_handlers(app)
    install_ui(app)
    app.add_middleware(ApiKeyGuard, api_key=api_key)
    install_metrics(app)  # outermost: counts every answer, refusals included
    if api_key:
        document_api_key(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    yield
    if app.state.doorbell is not None:  # its thread would outlive the app
        app.state.doorbell.close()
