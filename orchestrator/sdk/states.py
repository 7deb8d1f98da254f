"""The states of flow and task runs as flow code sees them (`return_state=True`, hooks,
`future.state`): a type, a name, a message and the run's result or error.

The types are the server's (`orchestrator.states.StateType`); names refine them as Prefect
does: `Cached` and `Completed` are COMPLETED, `TimedOut` and `Failed` are FAILED,
`AwaitingRetry` is SCHEDULED, `Retrying` is RUNNING, `NotReady` is PENDING.
"""
from __future__ import annotations

import time
from typing import Any

from ..errors import UpstreamTaskError
from ..states import DEFAULT_NAMES, FINAL_STATES, StateType

_NOT_FINISHED = "the run has not finished"


class State:
    """One state of a run. `data` is the result when completed, the exception when failed."""

    __slots__ = ("type", "name", "message", "data", "timestamp")

    def __init__(self, type: StateType, name: str | None = None, message: str | None = None,
                 data: Any = None, timestamp: float | None = None):
        self.type = StateType(type)
        self.name = name or DEFAULT_NAMES[self.type]
        self.message = message
        self.data = data
        self.timestamp = time.time() if timestamp is None else timestamp

    def is_scheduled(self) -> bool:
        return self.type is StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type is StateType.PENDING

    def is_running(self) -> bool:
        return self.type is StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type is StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type is StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type is StateType.CANCELLED

    def is_cancelling(self) -> bool:
        return self.type is StateType.CANCELLING

    def is_paused(self) -> bool:
        return False  # flowpool runs do not pause

    def is_final(self) -> bool:
        return self.type in FINAL_STATES

    def result(self, raise_on_failure: bool = True) -> Any:
        """The run's return value; for a failed, crashed or cancelled run its exception,
        raised unless `raise_on_failure=False`."""
        if self.type is StateType.COMPLETED:
            return self.data
        error = self.data if isinstance(self.data, BaseException) else self._error()
        if raise_on_failure:
            raise error
        return error

    def _error(self) -> BaseException:
        if self.name == "NotReady":
            return UpstreamTaskError(self.message or "an upstream task did not complete")
        if self.type in FINAL_STATES:
            return RuntimeError(self.message or f"the run ended {self.name}")
        return RuntimeError(f"{_NOT_FINISHED} (state {self.name})")

    def __repr__(self) -> str:
        shown = f", message={self.message!r}" if self.message else ""
        return f"{self.name}(type={self.type.value}{shown})"

    def __str__(self) -> str:
        """As run logs show it: `Completed()`, `Failed('ValueError: bad input')`."""
        return f"{self.name}({self.message!r})" if self.message else f"{self.name}()"


def Completed(data: Any = None, message: str | None = None, name: str = "Completed") -> State:
    return State(StateType.COMPLETED, name, message, data)


def Failed(data: Any = None, message: str | None = None, name: str = "Failed") -> State:
    return State(StateType.FAILED, name, message, data)


def Crashed(data: Any = None, message: str | None = None, name: str = "Crashed") -> State:
    return State(StateType.CRASHED, name, message, data)


def Cancelled(data: Any = None, message: str | None = None, name: str = "Cancelled") -> State:
    return State(StateType.CANCELLED, name, message, data)


def Pending(message: str | None = None, name: str = "Pending") -> State:
    return State(StateType.PENDING, name, message)


def Running(message: str | None = None, name: str = "Running") -> State:
    return State(StateType.RUNNING, name, message)


def Scheduled(message: str | None = None, name: str = "Scheduled") -> State:
    return State(StateType.SCHEDULED, name, message)


def AwaitingRetry(message: str | None = None) -> State:
    return State(StateType.SCHEDULED, "AwaitingRetry", message)


def Retrying(message: str | None = None) -> State:
    return State(StateType.RUNNING, "Retrying", message)


def error_message(exc: BaseException) -> str:
    """How a run's error reads in its state: `ValueError: bad input`."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
