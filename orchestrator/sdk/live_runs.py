"""The flow runs and task runs in progress in this process.

Each is a plain object with the run's facts and state history; every state change appends
to the history and hands a snapshot to the session's report buffer. They are what hooks get
as `flow_run` / `task_run`, what `get_run_context()` holds, and what `end_open_runs` ends
when the root run is stopped.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from .reporting import FlowRunReport, TaskRunReport
from .states import State
from ..states import StateType

if TYPE_CHECKING:
    from .run_session import RunSession

SUMMARY_CHARS = 200
_PLAIN = (bool, int, float, type(None))


def summarize(value: Any) -> str:
    """A short, cheap description of a result: small values as themselves, others by type."""
    if isinstance(value, _PLAIN):
        return repr(value)
    if isinstance(value, str):
        return repr(value[:SUMMARY_CHARS])
    try:
        return f"{type(value).__name__} of {len(value)}"
    except TypeError:
        return type(value).__name__


def json_ready(value: Any) -> Any:
    """`value` as JSON can hold it: models dumped, other objects by their (short) repr."""
    if isinstance(value, (str, bool, int, float, type(None))):
        return value
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_ready(item) for item in value]
    if hasattr(value, "model_dump"):
        try:
            return value.model_dump(mode="json")
        except Exception:  # noqa: BLE001 - then as any other object
            pass
    return repr(value)[:SUMMARY_CHARS]


class DeploymentInfo(NamedTuple):
    """The deployment a root run belongs to (what `runtime.deployment` shows)."""

    id: str
    name: str
    parameters: dict[str, Any]
    version: str | None = None


class _Run:
    __slots__ = ()

    def _enter_state(self, state: State) -> bool:
        """Record `state`; False when the run was ended from outside and takes no more."""
        if self.closed:
            return False
        self.state = state
        self.history.append((state.type.value, state.name, state.timestamp))
        if state.type is StateType.RUNNING and self.started_at is None:
            self.started_at = state.timestamp
        if state.is_final():
            self.ended_at = state.timestamp
            self.session.open_runs.pop(self.id, None)
        return True

    def end(self, state: State) -> None:
        """End the run from outside (its parent stopped); later states are ignored."""
        self.set_state(state)
        self.closed = True

    @property
    def run_count(self) -> int:
        return self.attempt


class FlowRun(_Run):
    __slots__ = ("id", "name", "flow_name", "parent_flow_run_id", "parent_task_run_id",
                 "parameters", "reported_parameters", "tags", "attempt", "state", "history", "started_at", "ended_at",
                 "result", "scheduled_start_time", "deployment", "session", "closed")

    def __init__(self, session: "RunSession", id: str, name: str, flow_name: str,
                 parameters: dict[str, Any], tags: tuple[str, ...],
                 parent_flow_run_id: str | None = None, parent_task_run_id: str | None = None,
                 scheduled_start_time: Any = None, deployment: DeploymentInfo | None = None,
                 attempt: int = 1):
        self.session, self.id, self.name, self.flow_name = session, id, name, flow_name
        self.parameters, self.tags = parameters, tags
        self.reported_parameters: dict[str, Any] | None = None  # JSON, made at the 1st report
        self.parent_flow_run_id, self.parent_task_run_id = parent_flow_run_id, parent_task_run_id
        self.scheduled_start_time, self.deployment = scheduled_start_time, deployment
        self.attempt = attempt
        self.state: State | None = None
        self.history: list[tuple[str, str, float]] = []
        self.started_at = self.ended_at = None
        self.result: str | None = None
        self.closed = False
        session.open_runs[id] = self

    @property
    def deployment_id(self) -> str | None:
        return self.deployment.id if self.deployment else None

    def set_state(self, state: State) -> None:
        if self._enter_state(state):
            if state.is_completed():
                self.result = summarize(state.data)
            self.session.buffer.flow_run(self.report())

    def report(self) -> FlowRunReport:
        state = self.state
        if self.reported_parameters is None:
            self.reported_parameters = json_ready(self.parameters)
        return FlowRunReport(
            self.id, self.name, self.flow_name, self.parent_flow_run_id, self.parent_task_run_id,
            self.reported_parameters, self.tags, state.type.value, state.name, state.message,
            self.attempt, self.started_at, self.ended_at, self.result, tuple(self.history))


class TaskRun(_Run):
    __slots__ = ("id", "name", "task_name", "task_key", "flow_run_id", "parameters", "tags",
                 "attempt", "state", "history", "started_at", "ended_at", "cache_key",
                 "cache_hit", "result", "error", "session", "closed")

    def __init__(self, session: "RunSession", id: str, task_name: str, task_key: str,
                 flow_run_id: str, tags: tuple[str, ...]):
        self.session, self.id, self.task_name, self.task_key = session, id, task_name, task_key
        self.flow_run_id, self.tags = flow_run_id, tags
        self.name = task_name
        self.parameters: dict[str, Any] = {}
        self.attempt = 0
        self.state: State | None = None
        self.history: list[tuple[str, str, float]] = []
        self.started_at = self.ended_at = None
        self.cache_key: str | None = None
        self.cache_hit = False
        self.result: str | None = None
        self.error: str | None = None
        self.closed = False
        session.open_runs[id] = self

    def set_state(self, state: State) -> None:
        if self._enter_state(state):
            if state.is_completed():
                self.result = summarize(state.data)
            self.session.buffer.task_run(self.report())

    def report(self) -> TaskRunReport:
        state = self.state
        return TaskRunReport(
            self.id, self.flow_run_id, self.name, self.task_key, self.tags, state.type.value,
            state.name, state.message, self.attempt, self.started_at, self.ended_at,
            self.cache_key, self.cache_hit, self.result, self.error, tuple(self.history))
