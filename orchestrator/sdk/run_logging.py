"""Run loggers: `get_run_logger()` inside a flow or task, and `print` under `log_prints`.

A run logger is a `logging` logger (`flowpool.flow_runs` or `flowpool.task_runs`) whose
records carry the run they belong to; one handler turns them into log lines of that run
(flow run id, task run id) for the reporter, so a child flow run's lines are its own. They do
not propagate to the root logger: a deployed run's root handler ships the process's other
output, and would otherwise ship these lines twice.
"""
from __future__ import annotations

import builtins
import logging
import os
import sys
import threading
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from .run_context import TaskRunContext, current_run_context, get_run_context

FLOW_RUN_LOGGER = "flowpool.flow_runs"
TASK_RUN_LOGGER = "flowpool.task_runs"

_setup_lock = threading.Lock()
_handler: logging.Handler | None = None
_print = builtins.print  # the real print, whatever patches it later
_run_logger_disabled: ContextVar[bool] = ContextVar("flowpool_run_logger_disabled",
                                                    default=False)


class RunLogger(logging.LoggerAdapter):
    """A logger bound to one run: each record carries the run's context."""

    def process(self, msg: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        kwargs["extra"] = {**(kwargs.get("extra") or {}), **self.extra}
        return msg, kwargs


class RunLogHandler(logging.Handler):
    """Hands each run-logger record to its run's session as a log line."""

    def emit(self, record: logging.LogRecord) -> None:
        context = getattr(record, "flowpool_context", None)
        if context is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            if isinstance(context, TaskRunContext):
                run = context.run
                context.session.log(f"Task run {run.name!r}", run.flow_run_id, run.id, record,
                                    message)
            else:
                context.session.log(f"Flow run {context.run.name!r}", context.run.id, None,
                                    record, message)
        except Exception:  # noqa: BLE001 - logging must never fail the run
            self.handleError(record)


def get_run_logger(**extra: Any) -> logging.LoggerAdapter:
    """The logger of the current task run, else of the current flow run; MissingContextError
    outside of both (or a silent logger inside `disable_run_logger()`)."""
    if _run_logger_disabled.get():
        return logging.LoggerAdapter(_disabled_logger(), {})
    context = get_run_context()
    if extra:
        return RunLogger(run_logger(context).logger, {**extra, "flowpool_context": context})
    return run_logger(context)


def run_logger(context: Any) -> RunLogger:
    """The run logger of `context`, made once per run."""
    if context.logger is None:
        _set_up_run_loggers()
        name = TASK_RUN_LOGGER if isinstance(context, TaskRunContext) else FLOW_RUN_LOGGER
        context.logger = RunLogger(logging.getLogger(name), {"flowpool_context": context})
    return context.logger


_SDK_DIRECTORY = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_traceback(error: BaseException) -> str:
    """The traceback of an error raised by flow code, without flowpool's own frames above
    the user's (a timeout, raised by flowpool itself, is only its message)."""
    from ..errors import RunTimeoutError

    if isinstance(error, RunTimeoutError):
        return f"{type(error).__name__}: {error}"
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_SDK_DIRECTORY):
        tb = tb.tb_next
    lines = traceback.format_exception(type(error), error, tb or error.__traceback__)
    return "".join(lines).rstrip()


def get_logger(name: str | None = None) -> logging.Logger:
    """A plain logger under `flowpool` (not tied to a run)."""
    return logging.getLogger(f"flowpool.{name}" if name else "flowpool")


@contextmanager
def disable_run_logger() -> Iterator[None]:
    """Inside the block, `get_run_logger()` gives a silent logger even outside a run (for
    testing a task's function on its own)."""
    token = _run_logger_disabled.set(True)
    try:
        yield
    finally:
        _run_logger_disabled.reset(token)


def _disabled_logger() -> logging.Logger:
    logger = logging.getLogger("flowpool.disabled_run_logger")
    logger.disabled = True
    return logger


def _set_up_run_loggers() -> None:
    global _handler
    with _setup_lock:
        if _handler is not None:
            return
        _handler = RunLogHandler()
        for name in (FLOW_RUN_LOGGER, TASK_RUN_LOGGER):
            logger = logging.getLogger(name)
            logger.addHandler(_handler)
            logger.propagate = False
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.INFO)


# log_prints: `print` inside a run with log_prints on becomes an INFO line of its run logger.

_print_patched = False


def capture_prints() -> None:
    """Route `print` to run loggers where `log_prints` is on (once per process; elsewhere,
    and for prints to a file other than stdout, print behaves as always)."""
    global _print_patched
    with _setup_lock:
        if not _print_patched:
            builtins.print = _print_to_run_logger
            _print_patched = True


def _print_to_run_logger(*values: Any, sep: str | None = " ", end: str | None = "\n",
                         file: Any = None, flush: bool = False) -> None:
    if file is None or file is sys.stdout:
        context = current_run_context()
        if context is not None and context.log_prints:
            text = (" " if sep is None else sep).join(str(value) for value in values)
            run_logger(context).info(text)
            return
    _print(*values, sep=sep, end=end, file=file, flush=flush)
