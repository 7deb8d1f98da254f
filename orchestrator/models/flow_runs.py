"""Flow runs, their state history, and what workers and engines propose about them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ..states import StateType
from .base import Model, Name
from .deployments import Deployment
from .work_pools import WorkPool


class FlowRunCreate(Model):
    """A run of a deployment, as `flowpool deployment run` asks for it."""

    parameters: dict[str, Any] = Field(default_factory=dict)
    job_variables: dict[str, Any] = Field(default_factory=dict)
    work_queue_name: Name | None = None
    scheduled_time: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    name: str | None = None


class StateRecord(Model):
    """One entry of a run's state history."""

    type: StateType
    name: str
    message: str | None = None
    timestamp: datetime
    attempt: int = 0


class FlowRun(Model):
    id: str
    name: str
    flow_name: str
    deployment_id: str | None = None
    deployment_name: str | None = None
    work_pool_name: str
    work_queue_name: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    job_variables: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    state_type: StateType
    state_name: str
    state_message: str | None = None
    state_changed: datetime
    attempt: int = 0
    dispatch_token: str | None = None
    scheduled_time: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    worker_name: str | None = None
    result: Any = None
    result_is_repr: bool = False
    idempotency_key: str | None = None
    created: datetime
    updated: datetime


class FlowRunDetail(FlowRun):
    history: list[StateRecord] = Field(default_factory=list)


class StateProposal(Model):
    """A state a worker or engine proposes for a run, with the attempt's dispatch token."""

    type: StateType
    name: str | None = None
    message: str | None = None
    token: str | None = None
    result: Any = None
    result_is_repr: bool = False


class ClaimRequest(Model):
    token: str
    worker_name: str


class ClaimedRun(Model):
    """Everything a worker needs to launch a run it has claimed."""

    flow_run: FlowRun
    deployment: Deployment
    work_pool: WorkPool
