"""Deployments: a flow's entrypoint with its parameters, pool, queue and job variables."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from .base import Model, Name


CollisionStrategy = Literal["ENQUEUE", "CANCEL_NEW"]


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


class Deployment(DeploymentCreate):
    id: str
    work_queue_name: str
    created: datetime
    updated: datetime

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"
