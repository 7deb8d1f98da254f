"""What every run under one root flow run shares: the reporter, the report buffer, the runs
still open, and whether the root was asked to stop.

The engine makes one per deployed run and keeps it, so that when the worker stops the run
(cancel, timeout) or the run crashes it can end the child flow runs and task runs still in
progress with it:

    session = RunSession(reporter)
    # on SIGTERM: session.request_cancel(), then raise out of the flow
    state = run_flow(flow, parameters, session=session, ...)
    session.end_open_runs(StateType.CANCELLED, "the flow run was cancelled")  # any left over
"""
from __future__ import annotations

import logging
import time
from typing import Any

from .report_buffer import ReportBuffer
from .reporting import LogLine
from .states import State
from ..states import StateType


class RunSession:
    def __init__(self, reporter: Any, console: Any = None):
        self.reporter = reporter
        self.buffer = ReportBuffer(reporter)
        self.console = console if console is not None else getattr(reporter, "console", None)
        self.open_runs: dict[str, Any] = {}  # id -> FlowRun | TaskRun not yet final
        self.cancel_requested = False

    def request_cancel(self) -> None:
        """From now on, a run interrupted by a BaseException (the engine's stop signal) ends
        CANCELLED rather than CRASHED."""
        self.cancel_requested = True

    def interrupted_state(self, message: str) -> State:
        kind = StateType.CANCELLED if self.cancel_requested else StateType.CRASHED
        return State(kind, message=message)

    def end_open_runs(self, state_type: StateType = StateType.CANCELLED,
                      message: str = "the parent flow run stopped") -> int:
        """End every run not yet final with `state_type` (CANCELLED or CRASHED), newest
        first, and hand over the reports; how many were ended."""
        open_runs = list(self.open_runs.copy().values())  # copy(): atomic, threads add runs
        for run in reversed(open_runs):
            run.end(State(state_type, message=message))
        self.buffer.flush()
        return len(open_runs)

    def log(self, label: str, flow_run_id: str, task_run_id: str | None,
            record: logging.LogRecord, message: str) -> None:
        """One line of a run logger; `label` names the run on the console."""
        self.buffer.log(LogLine(flow_run_id, task_run_id, record.created, record.levelno,
                                record.name, message))
        if self.console is not None:
            clock = time.strftime("%H:%M:%S", time.localtime(record.created))
            self.console.write(f"{clock} | {record.levelname:<7} | {label} - {message}\n")

    def close(self) -> None:
        self.buffer.close()
