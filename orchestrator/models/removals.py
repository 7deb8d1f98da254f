"""What deleting a deployment or a work pool did to the runs that belonged to it, and the
flows as `flowpool flow ls` lists them."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ..states import StateType
from .base import Model


class Removal(Model):
    """A deleted deployment or work pool: the runs in progress it cancelled (with --force) and
    how many of its waiting runs went with it."""

    name: str
    cancelled_runs: list[str] = Field(default_factory=list)
    deleted_waiting_runs: int = 0


class LastRun(Model):
    id: str
    name: str
    deployment_name: str | None = None
    state_type: StateType
    state_name: str
    scheduled_time: datetime
    start_time: datetime | None = None


class FlowSummary(Model):
    """A flow: a name that deployments and runs share, with its deployments and latest run."""

    name: str
    deployments: list[str] = Field(default_factory=list)
    last_run: LastRun | None = None
