"""Log lines of a flow run, shipped by the engine and the worker."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from .base import Count, Model, Timestamp


class LogCreate(Model):
    timestamp: Timestamp
    level: Count = 20
    message: str
    source: Annotated[str, Field(max_length=20)] = "engine"


class Log(LogCreate):
    id: int
    flow_run_id: str
    timestamp: datetime  # as stored: not re-checked against the input bounds
