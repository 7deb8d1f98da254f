"""The one error tree of flowpool. The API maps each class to an HTTP status in one place."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a user's input."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


# What to write instead, for the patterns the models name (they add to it).
PATTERN_ADVICE: dict[str, str] = {}


def validation_message(error: dict) -> str:
    """One pydantic error said for a person; a pattern mismatch shows the value refused."""
    ctx = error.get("ctx") or {}
    if error["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if error["type"] == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        if pattern in PATTERN_ADVICE:
            return f"{error['input']!r} is not a valid name: {PATTERN_ADVICE[pattern]}"
        return f"{error['input']!r} does not match the pattern {pattern!r}"
    return error["msg"]


class FlowpoolError(Exception):
    """Root of every error flowpool raises on purpose."""

    status_code = 400

    def __init__(self, message: str, errors: list[FieldError] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {e}" for e in self.errors)


class InvalidInput(FlowpoolError):
    """What the user typed or sent does not validate; the errors name each field."""

    status_code = 422


class Unauthorized(FlowpoolError):
    """The request does not carry the API key the server wants."""

    status_code = 401


class NotFound(FlowpoolError):
    """The named object does not exist."""

    status_code = 404


class TooLarge(FlowpoolError):
    """A request body is larger than the API takes at once."""

    status_code = 413


class AlreadyExists(FlowpoolError):
    """An object with that name exists already."""

    status_code = 409


class InUse(FlowpoolError):
    """The object cannot be deleted yet: runs are in progress or others depend on it."""

    status_code = 409


class FlowExited(FlowpoolError):
    """A deployed run's flow called sys.exit() with a non-zero code."""


class StateRejected(FlowpoolError):
    """A proposed state change was refused by the rules or lost a compare-and-set."""

    status_code = 409


class EntrypointError(FlowpoolError):
    """An entrypoint cannot be loaded: missing file, syntax error, missing function."""

    status_code = 422


class StepFailed(FlowpoolError):
    """A project step ran and failed (git, a shell command, pip, storage, Docker); the
    message says why."""

    status_code = 422


class BrokerUnavailable(FlowpoolError):
    """The broker's Redis does not answer, so what only it knows cannot be told now."""

    status_code = 503


class ApiUnavailable(FlowpoolError):
    """The flowpool API cannot be reached."""

    status_code = 503


# Errors of the SDK, raised inside flow code (flows, tasks, their helpers).

class MissingContextError(FlowpoolError, RuntimeError):
    """Something that needs a flow or task run (a run logger, the run's context) was used
    outside of one."""


class UpstreamTaskError(FlowpoolError):
    """A task did not run because a task it depends on did not complete."""


class RunTimeoutError(FlowpoolError, TimeoutError):
    """A flow or task run went past its `timeout_seconds`."""


class VariableExists(AlreadyExists, ValueError):
    """`Variable.set` of a variable that is set already, without `overwrite=True`."""


class ConcurrencySlotError(FlowpoolError):
    """Slots of a global concurrency limit cannot be taken: the limit is missing (strict
    mode), smaller than what is asked, or has no decay for a rate limit."""


class ConcurrencySlotTimeout(ConcurrencySlotError, TimeoutError):
    """Slots of a global concurrency limit were not free within the timeout."""


class PrefectApiNotSupported(FlowpoolError, ImportError, NotImplementedError):
    """Flow code imported or called a Prefect API that flowpool does not implement; the
    message names it. An ImportError, so `from prefect.x import Y` fails with this message
    (Python turns an AttributeError there into a bare "cannot import name")."""


class PrefectAttributeNotSupported(FlowpoolError, AttributeError):
    """Flow code read a Prefect name flowpool does not implement (`prefect.x.Y`); the message
    names it. An AttributeError, so `getattr(prefect, "Y", default)` and `hasattr` work."""
