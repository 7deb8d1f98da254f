"""The Reporter of flows called directly (not through a deployment) and of tests.

It keeps every report in memory (the latest snapshot of each run, every log line and
artifact), variables, blocks and concurrency limits in process-wide stores (so two flows called one
after the other, or from two threads, share them), and task results on local disk.

    with LocalReporter() as reporter:        # flows called directly in here report to it
        my_flow(x=1)
    reporter.task_runs, reporter.log_messages(), reporter.child_runs(root_id)
"""
from __future__ import annotations

import json
import re
import threading
from typing import Any, Sequence, TextIO

from ..errors import AlreadyExists, FieldError, InvalidInput, NotFound, VariableExists
from .local_limits import LocalLimits
from .reporting import (ArtifactReport, CacheEntry, FlowRunReport, LogLine, ReportBatch,
                        SlotLease, TaskRunReport)
from .task_cache import DiskCache

_shared_lock = threading.RLock()  # process_reporter() makes a LocalReporter, which takes it too
_shared_variables: dict[str, Any] = {}
_shared_blocks: dict[tuple[str, str], dict[str, Any]] = {}  # (type, name): data
_shared_limits: LocalLimits | None = None
_process_reporter: "LocalReporter | None" = None


def shared_limits() -> LocalLimits:
    """The process-wide concurrency limits of flows called directly."""
    global _shared_limits
    with _shared_lock:
        if _shared_limits is None:
            _shared_limits = LocalLimits()
        return _shared_limits


def process_reporter() -> "LocalReporter":
    """The LocalReporter of variables, limits and artifacts used outside any run."""
    global _process_reporter
    with _shared_lock:
        if _process_reporter is None:
            _process_reporter = LocalReporter()
        return _process_reporter


class LocalReporter:
    flush_interval_s = None  # all in memory: a batch when full and when the root run ends

    def __init__(self, console: TextIO | None = None, variables: dict[str, Any] | None = None,
                 limits: LocalLimits | None = None, cache: DiskCache | None = None):
        self.console = console  # where run-logger lines are echoed as they happen, if anywhere
        self.flow_runs: dict[str, FlowRunReport] = {}
        self.task_runs: dict[str, TaskRunReport] = {}
        self.logs: list[LogLine] = []
        self.artifacts: dict[str, ArtifactReport] = {}
        self.batches = 0
        self.events: list[Any] = []
        self.variables = _shared_variables if variables is None else variables
        self.limits = limits or shared_limits()
        self._cache = cache
        self._lock = threading.Lock()
        self._token = None

    # Reports

    def send(self, batch: ReportBatch) -> None:
        with self._lock:
            self.batches += 1
            self.flow_runs.update((r.id, r) for r in batch.flow_runs)
            self.task_runs.update((r.id, r) for r in batch.task_runs)
            self.logs.extend(batch.logs)
            self.artifacts.update((a.id, a) for a in batch.artifacts)

    # Variables

    def read_variable(self, name: str, default: Any = None) -> Any:
        return self.variables.get(name, default)

    def write_variable(self, name: str, value: Any, overwrite: bool = False) -> None:
        stored = _checked_variable(name, value)
        with self._lock:
            if name in self.variables and not overwrite:
                raise VariableExists(f"variable {name!r} exists; pass overwrite=True to replace it")
            self.variables[name] = stored

    def delete_variable(self, name: str) -> bool:
        with self._lock:
            return self.variables.pop(name, _MISSING) is not _MISSING

    # Blocks

    def read_block(self, type_: str, name: str) -> dict[str, Any]:
        with _shared_lock:
            data = _shared_blocks.get((type_, name))
        if data is None:
            raise NotFound(f"block {type_}/{name} does not exist", [FieldError(
                "name", f"save it first: {type_} block .save({name!r})")])
        return dict(data)

    def write_block(self, type_: str, name: str, data: dict[str, Any],
                    overwrite: bool = False) -> None:
        from ..models.blocks import checked_block_data

        checked = checked_block_data(type_, data)
        with _shared_lock:
            if (type_, name) in _shared_blocks and not overwrite:
                raise AlreadyExists(f"block {type_}/{name} exists; pass overwrite=True to "
                                    "replace it")
            _shared_blocks[(type_, name)] = json.loads(json.dumps(checked))
    # Events (kept in memory, in the order emitted)

    def emit_event(self, request: Any) -> Any:
        from datetime import datetime, timezone

        from ..models import new_id
        from ..models.events import Event

        with self._lock:
            event = Event(seq=len(self.events) + 1, id=new_id(), event=request.event,
                          occurred=request.occurred or datetime.now(timezone.utc),
                          resource=request.resource, related=request.related,
                          payload=request.payload)
            self.events.append(event)
        return event

    # Global concurrency limits

    def create_concurrency_limit(self, name: str, limit: int,
                                 slot_decay_per_second: float = 0.0) -> None:
        self.limits.define(name, limit, slot_decay_per_second)

    def acquire_slots(self, names: Sequence[str], occupy: int, timeout_s: float | None,
                      rate_limit: bool, strict: bool) -> SlotLease:
        return self.limits.acquire(names, occupy, timeout_s, rate_limit, strict)

    def release_slots(self, lease: SlotLease) -> None:
        self.limits.release(lease)

    # Task cache

    @property
    def cache(self) -> DiskCache:
        if self._cache is None:  # FLOWPOOL_HOME is read when a task first uses the cache
            self._cache = DiskCache()
        return self._cache

    def read_cache(self, key: str) -> CacheEntry | None:
        return self.cache.read(key)

    def write_cache(self, key: str, value: Any, expires_at: float | None) -> bool:
        return self.cache.write(key, value, expires_at)

    # Reading what was reported

    def runs_of(self, flow_name: str) -> list[FlowRunReport]:
        return [run for run in self.flow_runs.values() if run.flow_name == flow_name]

    def child_runs(self, parent_flow_run_id: str) -> list[FlowRunReport]:
        return [run for run in self.flow_runs.values()
                if run.parent_flow_run_id == parent_flow_run_id]

    def root_runs(self) -> list[FlowRunReport]:
        return [run for run in self.flow_runs.values() if run.parent_flow_run_id is None]

    def log_messages(self, flow_run_id: str | None = None) -> list[str]:
        return [line.message for line in self.logs
                if flow_run_id is None or line.flow_run_id == flow_run_id]

    # `with LocalReporter() as reporter:` — flows called directly in the block report here

    def __enter__(self) -> "LocalReporter":
        from .run_context import direct_call_reporter

        self._token = direct_call_reporter.set(self)
        return self

    def __exit__(self, *exc_info) -> None:
        from .run_context import direct_call_reporter

        direct_call_reporter.reset(self._token)


_MISSING = object()


def _checked_variable(name: str, value: Any) -> Any:
    """`value` as the server would keep it (JSON), refused as the server would refuse it."""
    from ..models.variables import MAX_VALUE_CHARS, VARIABLE_NAME_ADVICE, VARIABLE_NAME_PATTERN

    if not re.match(VARIABLE_NAME_PATTERN, name) or len(name) > 100:
        raise InvalidInput(f"variable name {name!r} is not valid: {VARIABLE_NAME_ADVICE}")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"variable {name!r}: its value must be JSON ({exc})") from None
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidInput(f"variable {name!r}: its value is {len(text)} characters of JSON; "
                           f"at most {MAX_VALUE_CHARS} fit")
    return json.loads(text)
