"""What flow code needs from the outside world, as one interface: the Reporter.

The SDK runs flows, tasks and child flows in this process; whatever it must tell or ask goes
through a Reporter. `LocalReporter` (orchestrator/local_reporter.py) keeps everything in
memory and is used when a flow is called directly and in tests; the engine implements the
same interface over HTTP for deployed runs.

Reports are snapshots keyed by a client-made id (uuid4 strings): a run's later snapshot
replaces its earlier one, so the SDK hands them over in batches, never one call per task:
the buffer (orchestrator/report_buffer.py) keeps only the latest snapshot of each run and
calls `send` when a batch is full, every `flush_interval_s`, and when the root run ends.
Times are epoch seconds (`time.time()`). A reporter may also have a `console` attribute (a
text stream): run-logger lines are then written there as they happen, for people watching.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Protocol, Sequence

# A run's state history: (state type, state name, timestamp) for each state it went through.
History = tuple[tuple[str, str, float], ...]


class FlowRunReport(NamedTuple):
    """A flow run as it is now. The root run of a deployed run is reported too; the engine
    owns that run's state on the server and may ignore it (its id is the run's own)."""

    id: str
    name: str
    flow_name: str
    parent_flow_run_id: str | None  # set for a child (sub)flow run
    parent_task_run_id: str | None  # the task run that called it, when called from a task
    parameters: dict[str, Any]
    tags: tuple[str, ...]
    state_type: str
    state_name: str
    message: str | None
    attempt: int
    started_at: float | None
    ended_at: float | None
    result: str | None  # a short summary of the return value, never the value itself
    history: History


class TaskRunReport(NamedTuple):
    """A task run as it is now."""

    id: str
    flow_run_id: str
    name: str
    task_key: str  # module.qualname of the task's function
    tags: tuple[str, ...]
    state_type: str
    state_name: str
    message: str | None  # for a failure: "ExceptionType: message"
    attempt: int
    started_at: float | None
    ended_at: float | None
    cache_key: str | None
    cache_hit: bool
    result: str | None
    error: str | None  # the traceback of the last failed attempt
    history: History


class LogLine(NamedTuple):
    """One line of a run logger (`get_run_logger()`, or `print` under `log_prints`)."""

    flow_run_id: str
    task_run_id: str | None
    timestamp: float
    level: int
    logger: str
    message: str


class ArtifactReport(NamedTuple):
    """An artifact; a later report with the same id (a progress update) replaces it."""

    id: str
    key: str | None
    type: str  # markdown, table, link, progress, image
    data: Any  # JSON-ready: text, rows, a URL, a percentage
    description: str | None
    flow_run_id: str | None
    task_run_id: str | None
    created_at: float


class ReportBatch(NamedTuple):
    """What the SDK hands over at once. Flow runs come first: a child run a task run or log
    line refers to is in the same batch or an earlier one."""

    flow_runs: list[FlowRunReport]
    task_runs: list[TaskRunReport]
    logs: list[LogLine]
    artifacts: list[ArtifactReport]


class CacheEntry(NamedTuple):
    value: Any
    expires_at: float | None  # None: never expires


class SlotLease(NamedTuple):
    """Slots held on global concurrency limits, to give back with `release_slots`."""

    id: str
    names: tuple[str, ...]  # the limits actually held (a missing, non-strict one is skipped)
    occupy: int


class Reporter(Protocol):
    """What the engine provides to flow code running in a deployed run."""

    # How often the SDK hands over what it has (seconds); None: only when a batch is full and
    # when the root run ends (enough in memory).
    flush_interval_s: float | None

    def send(self, batch: ReportBatch) -> None:
        """Take a batch of snapshots. Called from any thread, one batch at a time, in order;
        it should return quickly (ship in the background) and never raise for the API being
        away: flow code must not fail because its reports are late."""

    def read_variable(self, name: str, default: Any = None) -> Any:
        """The value of the variable `name`, or `default` when it is not set."""

    def write_variable(self, name: str, value: Any, overwrite: bool = False) -> None:
        """Set a variable (JSON value); AlreadyExists when it is set and not `overwrite`."""

    def delete_variable(self, name: str) -> bool:
        """Unset a variable; whether it was set."""

    def read_block(self, type_: str, name: str) -> dict[str, Any]:
        """The data of block TYPE/NAME, secret fields in the clear; NotFound when it does not
        exist."""

    def write_block(self, type_: str, name: str, data: dict[str, Any],
                    overwrite: bool = False) -> None:
        """Keep block TYPE/NAME; AlreadyExists when it exists and not `overwrite`."""
    def emit_event(self, request: Any) -> Any:
        """Store an event (an EventCreate); the stored Event, or None when it could not be
        delivered (never raises for the API being away)."""

    def acquire_slots(self, names: Sequence[str], occupy: int, timeout_s: float | None,
                      rate_limit: bool, strict: bool) -> SlotLease:
        """Take `occupy` slots on every limit in `names` at once, waiting up to `timeout_s`
        (None: as long as it takes), else ConcurrencySlotTimeout. A missing limit is skipped,
        or ConcurrencySlotError when `strict`. For a rate limit the slots are not given back:
        they decay at the limit's `slot_decay_per_second`."""

    def release_slots(self, lease: SlotLease) -> None:
        """Give the slots of `lease` back (idempotent)."""

    def read_cache(self, key: str) -> CacheEntry | None:
        """The task result cached under `key` (expired entries may be returned: the SDK
        checks `expires_at`)."""

    def write_cache(self, key: str, value: Any, expires_at: float | None) -> bool:
        """Cache a task result under `key`; False when the value cannot be stored."""
