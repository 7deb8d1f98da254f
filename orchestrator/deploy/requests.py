"""The last step of a deploy before the API: a Registration (build and push done, fields
filled in) becomes the DeploymentCreate to send, with its schedules, `paused` and the
flow's run options (retries, retry delays, timeout).

Schedules follow the file: `schedule:` / `schedules:` given (even `[]`) replace the
deployment's schedules; not given (or null) keeps the ones it has, as a redeploy without
schedule flags does. An interval without `anchor_date` keeps the anchor of the same
interval the deployment already has, so redeploying does not shift its run times.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

import typer
from pydantic import ValidationError

from ..cli.schedule_options import keep_interval_anchor
from ..errors import FieldError, InvalidInput
from ..masking import literal_secrets
from ..models import DeploymentCreate
from ..models.deployments import StoredSchedule
from ..schedules import DeploymentSchedule, check_schedule_parameters, schedules_from_config
from ..steps.diagnostics import format_path
from . import PlannedDeployment, Registration
from .flow_facts import FlowFacts


@dataclass(frozen=True)
class RunOptions:
    """`--retries`, `--retry-delay` (repeatable), `--timeout`; None or empty means "what the
    flow's decorator says"."""

    retries: int | None = None
    retry_delay_seconds: tuple[float, ...] = ()
    timeout_seconds: float | None = None


def deployment_request(registration: Registration, planned: PlannedDeployment, *,
                       now: datetime, options: RunOptions = RunOptions(),
                       current_schedules: Sequence[StoredSchedule] = ()) -> DeploymentCreate:
    """What to PUT for one deployment; InvalidInput names the field of every problem."""
    where = format_path(planned.loc)
    fields = registration.deployment.model_dump()
    fields.update(run_options(registration.flow, options))
    fields["schedules"] = declared_schedules(registration, planned, now, current_schedules)
    fields["paused"] = registration.paused
    try:
        request = DeploymentCreate.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(f"deployment {planned.full_name} is not valid", [FieldError(
            f"{where}.{'.'.join(str(p) for p in e['loc'])}", e["msg"])
            for e in exc.errors()]) from None
    if request.schedules:
        check_schedule_parameters(request.schedules, request.parameter_schema,
                                  request.parameters, field=f"{where}.schedules",
                                  enforce_schema=request.enforce_parameter_schema)
    return request


def warn_literal_secrets(request: DeploymentCreate) -> None:
    """Warn about each secret typed into the deployment instead of referenced."""
    found = [*literal_secrets(request.job_variables, "job_variables"),
             *literal_secrets(request.pull_steps or [], "pull_steps")]
    for where in found:
        typer.echo(f"Warning: deployment {request.flow_name}/{request.name}: {where} holds a"
                   " literal secret; it is stored as written (and masked when shown). Reference"
                   " it instead: {{ $ENV_VAR }} (read where the run executes) or"
                   " {{ flowpool.variables.NAME }}", err=True)


def run_options(flow: FlowFacts, options: RunOptions) -> dict[str, Any]:
    """Each flag when given, else the flow decorator's value."""
    delays = list(options.retry_delay_seconds)
    return {
        "retries": flow.retries if options.retries is None else options.retries,
        "retry_delay_seconds": (delays[0] if len(delays) == 1 else delays) if delays
        else flow.retry_delay_seconds,
        "timeout_seconds": flow.timeout_seconds if options.timeout_seconds is None
        else options.timeout_seconds,
    }


def declared_schedules(registration: Registration, planned: PlannedDeployment, now: datetime,
                       current: Sequence[StoredSchedule]) -> list[DeploymentSchedule] | None:
    """The schedules the file (or the schedule flags) give; None when they give none."""
    declaration = planned.declaration
    if declaration.schedule is None and declaration.schedules is None:
        return None
    written = registration.schedules
    entries = schedules_from_config({"schedules": written}, now, field=format_path(planned.loc))
    return [keep_interval_anchor(entry, current) if "anchor_date" not in raw else entry
            for entry, raw in zip(entries, written)]

