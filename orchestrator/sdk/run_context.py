"""The run a piece of code is part of, held in context variables: the flow run, the task
run inside it, and the tags added with `tags(...)`.

Context variables follow threads started by the task runner (it copies the context for
each task) and asyncio tasks (each copies the context it was created in), so a task
submitted to a thread or gathered in an event loop still knows its flow run.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import MissingContextError

if TYPE_CHECKING:
    from .live_runs import FlowRun, TaskRun
    from .run_session import RunSession

flow_run_context: ContextVar["FlowRunContext | None"] = ContextVar("flowpool_flow_run",
                                                                  default=None)
task_run_context: ContextVar["TaskRunContext | None"] = ContextVar("flowpool_task_run",
                                                                  default=None)
tags_context: ContextVar[tuple[str, ...]] = ContextVar("flowpool_tags", default=())
# The reporter of flows called directly (`with LocalReporter(): ...`); a fresh LocalReporter
# per call when unset.
direct_call_reporter: ContextVar[Any] = ContextVar("flowpool_direct_call_reporter",
                                                   default=None)


class FlowRunContext:
    """One flow run in progress: its flow, its record, the session of its root run."""

    __slots__ = ("flow", "run", "session", "log_prints", "deadline", "task_runner", "logger")

    def __init__(self, flow: Any, run: "FlowRun", session: "RunSession", log_prints: bool,
                 timeout_s: float | None):
        self.flow, self.run, self.session, self.log_prints = flow, run, session, log_prints
        self.deadline = time.monotonic() + timeout_s if timeout_s else None
        self.task_runner = None  # made at the first .submit() / .map()
        self.logger = None  # made at the first get_run_logger()

    @property
    def flow_run(self) -> "FlowRun":
        return self.run

    @property
    def parameters(self) -> dict[str, Any]:
        return self.run.parameters


class TaskRunContext:
    """One task run in progress, inside the flow run of `flow_context`."""

    __slots__ = ("task", "run", "flow_context", "log_prints", "logger")

    def __init__(self, task: Any, run: "TaskRun", flow_context: FlowRunContext,
                 log_prints: bool):
        self.task, self.run, self.flow_context, self.log_prints = task, run, flow_context, log_prints
        self.logger = None

    @property
    def task_run(self) -> "TaskRun":
        return self.run

    @property
    def parameters(self) -> dict[str, Any]:
        return self.run.parameters

    @property
    def session(self) -> "RunSession":
        return self.flow_context.session


def current_run_context() -> "TaskRunContext | FlowRunContext | None":
    """The innermost run: the task run when inside one, else the flow run, else None."""
    return task_run_context.get() or flow_run_context.get()


def get_run_context() -> "TaskRunContext | FlowRunContext":
    context = current_run_context()
    if context is None:
        raise MissingContextError("there is no flow or task run here: call this from inside "
                                  "a @flow or @task")
    return context


def ambient_reporter() -> Any:
    """Whom flow code reports to here: the current run's reporter; outside a run, the one of
    `with LocalReporter():`, else the process-wide LocalReporter."""
    context = current_run_context()
    if context is not None:
        return context.session.reporter
    reporter = direct_call_reporter.get()
    if reporter is None:
        from .local_reporter import process_reporter

        reporter = process_reporter()
    return reporter


@contextmanager
def tags(*names: str) -> Iterator[tuple[str, ...]]:
    """Add tags to every flow run and task run started inside the block."""
    current = tags_context.get()
    merged = current + tuple(name for name in names if name not in current)
    token = tags_context.set(merged)
    try:
        yield merged
    finally:
        tags_context.reset(token)
