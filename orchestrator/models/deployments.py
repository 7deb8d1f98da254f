"""Deployments: a flow's entrypoint with its parameters, pool, queue, job variables and
schedules."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ..masking import mask_secrets
from ..schedules import DeploymentSchedule
from .base import Model, Name


CollisionStrategy = Literal["ENQUEUE", "CANCEL_NEW"]
# one delay for every retry, or one per retry (the last repeats)
RetryDelays = Annotated[float, Field(ge=0)] | list[Annotated[float, Field(ge=0)]]


class DeploymentCreate(Model):
    """What `flowpool deploy` sends: created, or replaced when FLOW/NAME exists."""

    flow_name: Name
    name: Name
    entrypoint: str
    path: str | None = None
    description: str | None = None
    version: str | None = None
    tags: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    parameter_schema: dict[str, Any] = Field(default_factory=dict)
    enforce_parameter_schema: bool = True
    work_pool_name: Name
    work_queue_name: Name | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)
    pull_steps: list[dict[str, Any]] | None = None
    concurrency_limit: int | None = Field(default=None, ge=1)
    collision_strategy: CollisionStrategy = "ENQUEUE"
    retries: int = Field(default=0, ge=0)
    retry_delay_seconds: RetryDelays = 0.0
    timeout_seconds: float | None = Field(default=None, gt=0)
    # None keeps the deployment's schedules as they are (a redeploy without schedule flags
    # leaves the ones made with `deployment schedule create`); a list, even [], replaces them.
    schedules: list[DeploymentSchedule] | None = None
    # None keeps the current value; a new deployment starts active.
    paused: bool | None = None


class StoredSchedule(DeploymentSchedule):
    """A schedule of a deployment as stored: its id names it in commands and in the
    idempotency keys of the runs it creates, and survives redeploys."""

    id: str
    created: datetime
    updated: datetime


class ScheduleUpdate(Model):
    """What `deployment schedule pause|resume` changes."""

    active: bool


class Deployment(DeploymentCreate):
    id: str
    work_queue_name: str
    schedules: list[StoredSchedule] = Field(default_factory=list)
    paused: bool = False
    created: datetime
    updated: datetime

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    def masked(self) -> "Deployment":
        """As shown to people: secrets in job variables and pull steps masked."""
        return self.model_copy(update={"job_variables": mask_secrets(self.job_variables),
                                       "pull_steps": mask_secrets(self.pull_steps)})
