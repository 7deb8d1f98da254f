"""Log lines of a flow run, shipped by the engine and the worker."""
from __future__ import annotations

from datetime import datetime

from .base import Model


class LogCreate(Model):
    timestamp: datetime
    level: int = 20
    message: str
    source: str = "engine"


class Log(LogCreate):
    id: int
    flow_run_id: str
