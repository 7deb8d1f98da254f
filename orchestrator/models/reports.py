"""What the process of a root flow run reports in one request: snapshots of its child flow
runs and task runs, log lines and artifacts, keyed by ids the process made (uuid4); and the
answer. A later snapshot of a run replaces an earlier one (see store/reports.py).

Every field is bounded; the HTTP reporter (engine/http_reporter.py) cuts text to these bounds
before sending, so a long message or traceback never costs the batch it travels in.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from ..bounds import MAX_LIST_ITEMS, check_json_size
from ..states import StateType
from .base import TAGS_FIELD, WHOLE_NUMBER, Count, Flag, JsonObject, Model, Timestamp
from .json_values import finite_json

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
RunId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
MAX_REPORTS = 1000  # of each kind in one request
MAX_NAME_CHARS = 200
MAX_FLOW_NAME_CHARS = 100
MAX_STATE_NAME_CHARS = 50
MAX_KEY_CHARS = 500  # task keys and cache keys
MAX_MESSAGE_CHARS = 16 * 1024  # a state's message, an artifact's description
MAX_SUMMARY_CHARS = 2000  # a result's summary
MAX_ERROR_CHARS = 64 * 1024  # a traceback
ARTIFACT_KEY_PATTERN = r"^[a-z0-9-]+$"
ARTIFACT_TYPES = ("markdown", "table", "link", "progress", "image")

RunName = Annotated[str, Field(max_length=MAX_NAME_CHARS)]  # run names and tags
FlowName = Annotated[str, Field(max_length=MAX_FLOW_NAME_CHARS)]
StateName = Annotated[str, Field(max_length=MAX_STATE_NAME_CHARS)]
Key = Annotated[str, Field(max_length=MAX_KEY_CHARS)]
Message = Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)]
Summary = Annotated[str, Field(max_length=MAX_SUMMARY_CHARS)]
Traceback = Annotated[str, Field(max_length=MAX_ERROR_CHARS)]
ArtifactKey = Annotated[str, StringConstraints(pattern=ARTIFACT_KEY_PATTERN, max_length=200)]
ArtifactType = Literal["markdown", "table", "link", "progress", "image"]
ArtifactData = Annotated[Any, AfterValidator(finite_json), AfterValidator(check_json_size)]


class StateEntry(Model):
    """One state a run went through."""

    type: StateType
    name: StateName
    timestamp: Timestamp


History = Annotated[list[StateEntry], Field(max_length=MAX_LIST_ITEMS)]


class RunSnapshotIn(Model):
    """What a flow run's and a task run's snapshots share: where the run is now."""

    id: RunId
    name: RunName
    tags: list[RunName] = TAGS_FIELD
    state_type: StateType
    state_name: StateName
    message: Message | None = None
    attempt: Count = 0
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    result: Summary | None = None


class FlowRunReportIn(RunSnapshotIn):
    """A flow run as its process sees it now. The root run's own snapshot is ignored: its
    state is proposed by its engine, with the attempt's token."""

    flow_name: FlowName
    parent_flow_run_id: RunId | None = None
    parent_task_run_id: RunId | None = None
    parameters: JsonObject = Field(default_factory=dict)
    history: History = Field(default_factory=list)


class TaskRunReportIn(RunSnapshotIn):
    """A task run as its process sees it now."""

    flow_run_id: RunId
    task_key: Key
    cache_key: Key | None = None
    cache_hit: Flag = False
    error: Traceback | None = None
    history: History = Field(default_factory=list)


class LogLineIn(Model):
    """One line of a run logger; stored in the logs of its flow run, within that run's log
    budget. Lines longer than 64 KiB are cut, as every log line is."""

    flow_run_id: RunId
    task_run_id: RunId | None = None
    timestamp: Timestamp
    level: Annotated[int, Field(ge=0, le=100), WHOLE_NUMBER] = 20
    message: str


class ArtifactReportIn(Model):
    """An artifact; a later report of the same id (a progress update) replaces it. Without a
    flow run it belongs to the root run the batch is reported for."""

    id: RunId
    key: ArtifactKey | None = None
    type: ArtifactType
    data: ArtifactData = None
    description: Message | None = None
    flow_run_id: RunId | None = None
    task_run_id: RunId | None = None
    created_at: Timestamp


class ReportBatchIn(Model):
    """One request: flow runs first (a run that a task run, a log line or a child refers to is
    in this batch or an earlier one)."""

    flow_runs: Annotated[list[FlowRunReportIn], Field(max_length=MAX_REPORTS)] = \
        Field(default_factory=list)
    task_runs: Annotated[list[TaskRunReportIn], Field(max_length=MAX_REPORTS)] = \
        Field(default_factory=list)
    logs: Annotated[list[LogLineIn], Field(max_length=MAX_REPORTS)] = Field(default_factory=list)
    artifacts: Annotated[list[ArtifactReportIn], Field(max_length=MAX_REPORTS)] = \
        Field(default_factory=list)


class ReportResult(Model):
    """What a batch changed. `ignored`: snapshots older than the stored ones, or of runs of a
    tree whose root has ended. `logs_spent`: runs whose log budget is spent (send no more of
    their lines)."""

    flow_runs: int = 0
    task_runs: int = 0
    artifacts: int = 0
    logs_created: int = 0
    logs_dropped: int = 0
    ignored: int = 0
    logs_spent: list[str] = Field(default_factory=list)
