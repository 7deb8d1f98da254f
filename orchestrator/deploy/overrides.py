"""Command-line flags that override one deployment of the file (`deploy ENTRYPOINT --name D
--pool P ...`). Parameters and job variables are merged key by key; other fields replace."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import FieldError, InvalidInput
from .schema import ConcurrencyLimit, DeploymentDeclaration

REPLACED_FIELDS = ("name", "entrypoint", "description", "version", "tags",
                   "enforce_parameter_schema", "paused")


class DeploymentOverrides(BaseModel):
    """What the flags say; None means the flag was not given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    entrypoint: str | None = None
    description: str | None = None
    version: str | None = None
    tags: list[str] | None = None
    work_pool_name: str | None = None
    work_queue_name: str | None = None
    parameters: dict[str, Any] | None = None
    job_variables: dict[str, Any] | None = None
    enforce_parameter_schema: bool | None = None
    schedules: list[dict[str, Any]] | None = None
    concurrency_limit: int | dict[str, Any] | None = None
    paused: bool | None = None

    def is_empty(self) -> bool:
        return not self.model_fields_set


def apply_overrides(declaration: DeploymentDeclaration,
                    overrides: DeploymentOverrides | None) -> DeploymentDeclaration:
    """The declaration with the flags applied; the file's declaration is left unchanged."""
    if overrides is None or overrides.is_empty():
        return declaration
    update: dict[str, Any] = {name: getattr(overrides, name) for name in REPLACED_FIELDS
                              if getattr(overrides, name) is not None}
    if overrides.parameters:
        update["parameters"] = {**declaration.parameters, **overrides.parameters}
    if overrides.schedules is not None:
        update.update(schedule=None, schedules=list(overrides.schedules))
    if overrides.concurrency_limit is not None:
        update["concurrency_limit"] = _concurrency_limit(overrides.concurrency_limit)
    update["work_pool"] = _work_pool(declaration, overrides)
    return declaration.model_copy(update=update)


def _work_pool(declaration: DeploymentDeclaration, overrides: DeploymentOverrides):
    pool = declaration.work_pool
    update: dict[str, Any] = {}
    if overrides.work_pool_name is not None:
        update["name"] = overrides.work_pool_name
    if overrides.work_queue_name is not None:
        update["work_queue_name"] = overrides.work_queue_name
    if overrides.job_variables:
        update["job_variables"] = {**pool.job_variables, **overrides.job_variables}
    return pool.model_copy(update=update)


def _concurrency_limit(value: int | dict[str, Any]) -> ConcurrencyLimit:
    try:
        data = {"limit": value} if isinstance(value, int) else value
        return ConcurrencyLimit.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("invalid concurrency limit", [FieldError(
            "--concurrency-limit", "; ".join(e["msg"] for e in exc.errors()))]) from None
