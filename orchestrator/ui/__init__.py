"""The web UI, served by the API at `/` (which leads to `/ui/`): server-rendered pages from
Jinja2 templates with a small vendored script for live parts; no build step, no CDN.

It reads through the same store functions as the API routes, shows secrets masked, and
changes things by calling the API's own route functions, so a click and an API call do the
same thing.
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse


def install_ui(app: FastAPI) -> None:
    from . import (automations, blocks, dashboard, deployments, events, login, runs, static,
                   variables, work_pools)

    for module in (static, login, dashboard, runs, deployments, work_pools, variables, blocks,
                   events, automations):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @app.get("/ui", include_in_schema=False)
    def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)
