"""`flowpool deploy ENTRYPOINT --name NAME --pool POOL`: register a flow as a deployment."""
from __future__ import annotations

import os
import shlex
from enum import Enum
from pathlib import Path

import typer

from ..cli.common import client, merged_parameters
from ..cli.output import OUTPUT_OPTION, Output, show
from ..cli.schedule_options import (ANCHOR_OPTION, CRON_OPTION, INTERVAL_OPTION, RRULE_OPTION,
                                    TIMEZONE_OPTION, keep_interval_anchor, schedule_from_options)
from ..entrypoints import as_flow, is_flow, load_object, split_entrypoint
from ..errors import FieldError, InvalidInput, validation_message
from ..models import DeploymentCreate
from ..parameters import parameter_schema, parse_assignments, validate_against_schema
from ..schedules import check_schedule_parameters, describe
from .from_project import (ALL_OPTION, DRY_RUN_OPTION, FILE_OPTION, NO_PROMPT_OPTION,
                           DeployFlags, deploy_project, project_deploy_wanted, run_hint)
from .requests import RunOptions, warn_literal_secrets


class CollisionOption(str, Enum):
    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"


def deploy(entrypoint: str = typer.Argument(None, help="path/to/file.py:function (optional with a project file)"),
           name: list[str] = typer.Option(None, "--name", "-n", help="deployment name; with a project file, which to deploy (repeatable, FLOW/NAME, globs)"),
           pool: str = typer.Option(None, "--pool", help="work pool the runs go to"),
           work_queue: str = typer.Option(None, "--work-queue", "-q", help="work queue of the pool"),
           param: list[str] = typer.Option(None, "--param", "-p", help="default parameter k=v (repeatable)"),
           params: str = typer.Option(None, "--params", help="default parameters as a JSON object"),
           job_variable: list[str] = typer.Option(None, "--job-variable", help="job variable k=v"),
           description: str = typer.Option(None, help="defaults to the flow's docstring"),
           version: str = typer.Option(None),
           tag: list[str] = typer.Option(None, "--tag"),
           concurrency_limit: int = typer.Option(None, min=1, help="at most this many runs at once"),
           collision_strategy: CollisionOption = typer.Option(
               "ENQUEUE", help="when the limit is reached: ENQUEUE waits, CANCEL_NEW cancels"),
           retries: int = typer.Option(None, min=0, help="retries of a failed or crashed run (default: the flow's)"),
           retry_delay: list[float] = typer.Option(None, "--retry-delay", help="seconds before each retry (repeatable)"),
           timeout: float = typer.Option(None, min=0, help="stop a run after this many seconds (default: the flow's)"),
           cron: str = CRON_OPTION, interval: str = INTERVAL_OPTION,
           anchor_date: str = ANCHOR_OPTION, rrule: str = RRULE_OPTION,
           timezone_name: str = TIMEZONE_OPTION,
           all_deployments: bool = ALL_OPTION, project_file: Path = FILE_OPTION,
           dry_run: bool = DRY_RUN_OPTION, no_prompt: bool = NO_PROMPT_OPTION,
           output: Output = OUTPUT_OPTION) -> None:
    """Register ENTRYPOINT's flow as a deployment of a work pool, optionally on a schedule.

    Without schedule flags, a redeploy keeps the deployment's schedules.

    With a project file (flowpool.yaml, else prefect.yaml), deploys the deployments it declares."""
    _check_param_assignments(param)
    if project_deploy_wanted(entrypoint, name, pool, all_deployments, project_file, dry_run):
        deploy_project(DeployFlags(
            entrypoint=entrypoint, names=tuple(name or ()), all=all_deployments,
            file=project_file, dry_run=dry_run, prompt=not no_prompt, pool=pool,
            work_queue=work_queue, parameters=merged_parameters(param, params),
            job_variables=parse_assignments(job_variable, "--job-variable"),
            description=description, version=version, tags=tuple(tag or ()),
            concurrency_limit=concurrency_limit, collision_strategy=collision_strategy.value,
            run_options=RunOptions(retries, tuple(retry_delay or ()), timeout),
            schedule=dict(cron=cron, interval=interval, anchor_date=anchor_date, rrule=rrule,
                          timezone=timezone_name), output=output))
        return
    name = name[0]  # one deployment and no project file: registered from the flags alone
    missing = [FieldError(opt, "required") for opt, value in (("--name", name), ("--pool", pool))
               if not value]
    if missing:
        raise InvalidInput("missing options for deploy", missing)
    schedule = schedule_from_options(cron, interval, anchor_date, rrule, timezone_name)
    request = build_deployment(entrypoint, name, pool, work_queue,
                               merged_parameters(param, params),
                               merged_parameters(job_variable, None), description, version, tag,
                               concurrency_limit=concurrency_limit,
                               collision_strategy=collision_strategy.value,
                               retries=retries, retry_delay_seconds=retry_delay,
                               timeout_seconds=timeout, schedules=[schedule] if schedule else None)
    _check_schedules(request)
    with client() as api:
        if schedule and anchor_date is None:
            request = _keep_interval_anchor(api, request)
        warn_literal_secrets(request)
        deployment = api.upsert_deployment(request)
    show(deployment, output, _print_registered)


def _check_param_assignments(assignments: list[str] | None) -> None:
    """`-p` is `--param`, as in `deployment run`; a bare name was likely meant as the pool."""
    for item in assignments or []:
        if "=" not in item:
            raise InvalidInput(f"--param {item!r} is not of the form key=value", [FieldError(
                "--param", "write it as key=value, e.g. repo=flowpool; -p gives a parameter,"
                           f" the work pool is --pool {item}")])


def _print_registered(d) -> None:
    typer.echo(f"Deployment {d.full_name!r} registered on work pool {d.work_pool_name!r}.")
    for stored in d.schedules:
        typer.echo(f"Schedule: {describe(stored.schedule)}"
                   + ("" if stored.active else " (paused)"))
    if d.schedules:
        typer.echo(f"Upcoming runs: flowpool deployment inspect {shlex.quote(d.full_name)}")
    typer.echo(run_hint(d.full_name))


def _check_schedules(request: DeploymentCreate) -> None:
    """Refuse a schedule whose runs could not start (a required parameter without value)."""
    if request.schedules:
        check_schedule_parameters(request.schedules, request.parameter_schema, request.parameters,
                                  enforce_schema=request.enforce_parameter_schema)


def _keep_interval_anchor(api, request: DeploymentCreate) -> DeploymentCreate:
    from ..errors import NotFound

    try:
        current = api.read_deployment(f"{request.flow_name}/{request.name}").schedules
    except NotFound:
        return request
    return request.model_copy(update={"schedules": [
        keep_interval_anchor(entry, current) for entry in request.schedules]})


def build_deployment(entrypoint: str, name: str, pool: str, work_queue: str | None,
                     parameters: dict, job_variables: dict, description: str | None,
                     version: str | None, tags: list[str] | None,
                     root: Path | None = None, **extra) -> DeploymentCreate:
    """Import the flow and describe it: schema from its signature, description from its docstring."""
    root = (root or Path.cwd()).resolve()
    entrypoint = _relative_entrypoint(entrypoint, root)
    flow = _loaded_flow(entrypoint, root)
    schema = parameter_schema(flow.fn)
    _check_default_parameters(parameters, schema)
    extra = _runtime_options(flow, extra)
    from pydantic import ValidationError

    try:
        return DeploymentCreate(
            flow_name=flow.name, name=name, entrypoint=entrypoint, path=str(root),
            description=description or flow.description, version=version or flow.version,
            tags=tags or [], parameters=parameters, parameter_schema=schema,
            work_pool_name=pool, work_queue_name=work_queue, job_variables=job_variables, **extra)
    except ValidationError as exc:
        raise InvalidInput("invalid deployment", [FieldError(
            ".".join(str(p) for p in e["loc"]), validation_message(e))
            for e in exc.errors()]) from None


def _loaded_flow(entrypoint: str, root: Path):
    """The flow at `entrypoint`; a plain function deploys too, with a warning, since it gets
    none of a flow's options (name, retries, timeout) and may have been meant to be a task."""
    obj = load_object(entrypoint, root)
    if callable(obj) and not is_flow(obj):
        typer.echo(f"Warning: {entrypoint} is not decorated with @flow; it deploys as a flow"
                   " named after the function. Add @flow to give it a name, retries or a"
                   " timeout.", err=True)
    return as_flow(obj, entrypoint)


def _runtime_options(flow, options: dict) -> dict:
    """Retries and timeout: the flag when given, else what the flow's decorator says."""
    defaults = {"retries": flow.retries, "retry_delay_seconds": flow.retry_delay_seconds,
                "timeout_seconds": flow.timeout_seconds}
    merged = {**defaults, **{k: v for k, v in options.items() if v not in (None, [])}}
    if isinstance(merged["retry_delay_seconds"], list) and len(merged["retry_delay_seconds"]) == 1:
        merged["retry_delay_seconds"] = merged["retry_delay_seconds"][0]
    return merged


def _relative_entrypoint(entrypoint: str, root: Path) -> str:
    path, function = split_entrypoint(entrypoint)
    if path.endswith(".py") and os.path.isabs(path):
        try:
            path = str(Path(path).resolve().relative_to(root))
        except ValueError:
            pass
    return f"{path}:{function}" if path.endswith(".py") else entrypoint


def _check_default_parameters(parameters: dict, schema: dict) -> None:
    """Defaults given at deploy must fit the signature; required ones may come at run time."""
    try:
        validate_against_schema(parameters, schema)
    except InvalidInput as exc:
        errors = [e for e in exc.errors if e.message != "required parameter is missing"]
        if errors:
            raise InvalidInput("invalid default parameters", errors) from None
