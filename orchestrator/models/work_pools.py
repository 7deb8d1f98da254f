"""Work pools (an infrastructure type and its base job template) and their work queues."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ..masking import mask_secrets
from .base import Count, Flag, JsonObject, Model, Name, Priority, unset_by_default

WorkerType = Literal["process", "docker", "kubernetes"]
DEFAULT_QUEUE = "default"


class WorkPoolCreate(Model):
    name: Name
    type: WorkerType
    description: str | None = None
    base_job_template: JsonObject | None = None
    concurrency_limit: Count | None = None


class WorkPool(Model):
    id: str
    name: str
    type: WorkerType
    description: str | None = None
    base_job_template: dict[str, Any]
    concurrency_limit: int | None = None
    paused: bool = False
    created: datetime
    updated: datetime

    def masked(self):
        """As shown to people: secrets in the base job template masked."""
        return self.model_copy(update={"base_job_template": mask_secrets(self.base_job_template)})


class WorkQueueCreate(Model):
    name: Name
    priority: Priority = 1
    concurrency_limit: Count | None = None
    description: str | None = None


class WorkQueue(Model):
    id: str
    work_pool_name: str
    name: str
    priority: int
    concurrency_limit: int | None = None
    paused: bool = False
    description: str | None = None
    created: datetime


class WorkPoolUpdate(Model):
    """Fields to change (left out: unchanged); an explicit null clears the concurrency limit
    or the description, and is refused where it means nothing (paused, base_job_template)."""

    description: str | None = None
    base_job_template: JsonObject = Field(default=None, json_schema_extra=unset_by_default)
    concurrency_limit: Count | None = None
    paused: Flag = Field(default=None, json_schema_extra=unset_by_default)


class WorkQueueUpdate(Model):
    """Fields to change (left out: unchanged); an explicit null clears the concurrency limit
    or the description, and is refused for priority and paused."""

    priority: Priority = Field(default=None, json_schema_extra=unset_by_default)
    concurrency_limit: Count | None = None
    paused: Flag = Field(default=None, json_schema_extra=unset_by_default)
    description: str | None = None


class SlotHolder(Model):
    """A run that holds a concurrency slot: it is PENDING, RUNNING or CANCELLING."""

    id: str
    name: str
    state_type: str
    deployment_name: str | None = None
    flow_name: str
    work_queue_name: str


class LimitUsage(Model):
    """One concurrency limit: how many slots it has, and which runs hold them."""

    limit: int | None
    in_use: int
    holders: list[SlotHolder]


class WorkQueueDetail(WorkQueue):
    usage: LimitUsage


class WorkerStatus(Model):
    """A worker of a pool as its heartbeats describe it, with the runs it is running."""

    name: str
    status: Literal["ONLINE", "OFFLINE"]
    limit: int
    work_queues: list[str]
    hostname: str
    pid: int
    last_seen: datetime
    runs: list[str]


class WorkPoolDetail(WorkPool):
    usage: LimitUsage
    work_queues: list[WorkQueueDetail]
