"""Deployments: a flow's entrypoint with its parameters, pool, queue, job variables and
schedules."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ..masking import mask_secrets
from ..schedules import DeploymentSchedule
from .base import (MAX_LIST_ITEMS, TAGS_FIELD, Count, DisplayName, Flag, JsonObject, Model,
                   Name, PositiveCount, Seconds)


CollisionStrategy = Literal["ENQUEUE", "CANCEL_NEW"]
# one delay for every retry, or one per retry (the last repeats)
RetryDelays = Seconds | Annotated[list[Seconds], Field(max_length=MAX_LIST_ITEMS)]


class DeploymentCreate(Model):
    """What `flowpool deploy` sends: created, or replaced when FLOW/NAME exists."""

    flow_name: DisplayName
    name: DisplayName
    entrypoint: str
    path: str | None = None
    description: str | None = None
    version: Annotated[str, Field(max_length=100)] | None = None
    tags: list[str] = TAGS_FIELD
    parameters: JsonObject = Field(default_factory=dict)
    parameter_schema: JsonObject = Field(default_factory=dict)
    enforce_parameter_schema: Flag = True
    work_pool_name: Name
    work_queue_name: Name | None = None
    job_variables: JsonObject = Field(default_factory=dict)
    pull_steps: list[dict[str, Any]] | None = None
    concurrency_limit: PositiveCount | None = None
    collision_strategy: CollisionStrategy = "ENQUEUE"
    retries: Count = 0
    retry_delay_seconds: RetryDelays = 0.0
    timeout_seconds: Annotated[Seconds, Field(gt=0)] | None = None
    # Left out (or null) keeps the deployment's schedules as they are (a redeploy without
    # schedule flags leaves the ones made with `deployment schedule create`); a list, even
    # [], replaces them.
    schedules: Annotated[list[DeploymentSchedule], Field(max_length=MAX_LIST_ITEMS)] | None = None
    # Null (or left out) keeps the current value; a new deployment starts active.
    paused: Flag | None = None


class StoredSchedule(DeploymentSchedule):
    """A schedule of a deployment as stored: its id names it in commands and in the
    idempotency keys of the runs it creates, and survives redeploys. `error` says why the
    scheduler skips it (a schedule an older version accepted and this one refuses, or one
    that failed to give its times); it clears once the schedule works."""

    id: str
    created: datetime
    updated: datetime
    error: str | None = None


class ScheduleUpdate(Model):
    """What `deployment schedule pause|resume` changes."""

    active: Flag


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
