"""Flow runs, their state history, and what workers and engines propose about them."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import Field

from ..masking import mask_secrets
from ..states import StateType
from .base import TAGS_FIELD, Flag, JsonObject, Model, Name, Timestamp
from .deployments import Deployment
from .json_values import FiniteJSON
from .logs import MAX_ENTRIES_PER_REQUEST, LogCreate
from .work_pools import WorkPool


class FlowRunCreate(Model):
    """A run of a deployment, as `flowpool deployment run` asks for it."""

    parameters: JsonObject = Field(default_factory=dict)
    job_variables: JsonObject = Field(default_factory=dict)
    work_queue_name: Name | None = None
    scheduled_time: Timestamp | None = None
    tags: list[str] = TAGS_FIELD
    name: Annotated[str, Field(max_length=200)] | None = None


class StateRecord(Model):
    """One entry of a run's state history."""

    type: StateType
    name: str
    message: str | None = None
    timestamp: datetime
    attempt: int = 0


class WaitingCode(str, Enum):
    """Why a run that has not started yet is waiting (stable names, for programs)."""

    SCHEDULED_IN_FUTURE = "scheduled_in_future"
    AWAITING_RETRY = "awaiting_retry"
    WORK_POOL_PAUSED = "work_pool_paused"
    WORK_QUEUE_PAUSED = "work_queue_paused"
    NO_WORKER_ONLINE = "no_worker_online"
    DEPLOYMENT_LIMIT_FULL = "deployment_limit_full"
    WORK_POOL_LIMIT_FULL = "work_pool_limit_full"
    WORK_QUEUE_LIMIT_FULL = "work_queue_limit_full"
    WORKERS_BUSY = "workers_busy"
    NO_SCHEDULER = "no_scheduler"
    BROKER_UNREACHABLE = "broker_unreachable"
    AWAITING_DISPATCH = "awaiting_dispatch"
    AWAITING_CLAIM = "awaiting_claim"


class WaitingReason(Model):
    """Why a run is waiting: a code for programs, a sentence for people."""

    code: WaitingCode
    message: str


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
    retries: int = 0
    retry_delay_seconds: float | list[float] = 0.0
    timeout_seconds: float | None = None
    dispatch_token: str | None = None
    scheduled_time: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    worker_name: str | None = None
    result: Any = None
    result_is_repr: bool = False
    idempotency_key: str | None = None
    schedule_id: str | None = None  # the schedule that created it, if one did
    auto_scheduled: bool = False
    created: datetime
    updated: datetime
    # Computed when read, never stored: SCHEDULED for longer than FLOWPOOL_LATE_AFTER_S past
    # its scheduled time, and why a run that has not started is waiting.
    late: bool = False
    waiting_reason: WaitingReason | None = None
    # Bytes of log lines stored, and what was dropped once FLOWPOOL_RUN_LOG_LIMIT was reached.
    log_bytes: int = 0
    log_lines_dropped: int = 0
    log_bytes_dropped: int = 0
    # A child flow run: the run (and task run) that called it, and the root of its tree.
    parent_flow_run_id: str | None = None
    parent_task_run_id: str | None = None
    root_flow_run_id: str | None = None

    def masked(self):
        """As shown to people: secrets in its job variables masked."""
        return self.model_copy(update={"job_variables": mask_secrets(self.job_variables)})


class FlowRunDetail(FlowRun):
    history: list[StateRecord] = Field(default_factory=list)


class StateProposal(Model):
    """A state a worker or engine proposes for a run, with the attempt's dispatch token."""

    type: StateType
    name: Annotated[str, Field(max_length=50)] | None = None
    message: str | None = None
    token: Annotated[str, Field(max_length=36)] | None = None
    result: FiniteJSON = None
    result_is_repr: Flag = False
    # a short run's last log lines, stored with the state in one request (within the budget)
    logs: Annotated[list[LogCreate], Field(max_length=MAX_ENTRIES_PER_REQUEST)] | None = None


class ClaimRequest(Model):
    token: Annotated[str, Field(max_length=36)]
    worker_name: Annotated[str, Field(max_length=200)]


# The environment variable that names the pipe on which a process run's engine receives its
# ClaimedRun from the worker (an engine without it asks the API: GET /flow_runs/{id}/launch).
LAUNCH_FD_VARIABLE = "FLOWPOOL_LAUNCH_FD"
# the pipe on which a process run's engine tells its worker the state it reported last, so
# the worker need not read the run back from the API before it frees the slot
REPORT_FD_VARIABLE = "FLOWPOOL_REPORT_FD"


class ClaimedRun(Model):
    """Everything a worker needs to launch a run it has claimed, secrets unmasked; with an API
    key set, the credential the run's process reports with (it never gets the key)."""

    flow_run: FlowRun
    deployment: Deployment
    work_pool: WorkPool
    run_credential: str | None = None
