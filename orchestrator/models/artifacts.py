"""Artifacts as the API serves them: markdown, tables, links, images and progress that flow
code attached to a flow run (or one of its task runs). A key names an artifact across runs:
each artifact with that key is a version of it, the newest one its current value."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .base import Model


class Artifact(Model):
    id: str
    key: str | None = None
    type: str
    data: Any = None
    description: str | None = None
    flow_run_id: str
    root_flow_run_id: str
    task_run_id: str | None = None
    created: datetime
    updated: datetime
