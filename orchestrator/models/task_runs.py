"""Task runs as the API serves them: what the process of their flow run last reported."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ..states import StateType
from .base import Model


class TaskRun(Model):
    id: str
    flow_run_id: str
    root_flow_run_id: str
    name: str
    task_key: str
    tags: list[str] = Field(default_factory=list)
    state_type: StateType
    state_name: str
    state_message: str | None = None
    attempt: int = 0
    state_count: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    cache_key: str | None = None
    cache_hit: bool = False
    result: str | None = None  # a short summary of the value
    error: str | None = None  # the traceback of the last failed attempt
    history: list[dict[str, Any]] = Field(default_factory=list)  # {type, name, timestamp}
    created: datetime
    updated: datetime
