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
