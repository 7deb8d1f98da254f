"""`flowpool deploy` from a project file (flowpool.yaml, or an unchanged prefect.yaml).

The path of one deploy, each phase a function below:

    project, selection, overrides   what the directory's file and the flags ask for
    -> the wizard                   on a terminal, asks for a missing name or work pool
    -> plan_deploy                  every problem in the file at once, nothing run yet
    -> --dry-run                    prints the plan and stops
    -> prepare_registration         build, then push, for every deployment, before any
                                    upsert: a failing build registers nothing
    -> deployment_request           schedules, paused, retries and timeout checked
    -> the pools and queues exist   checked for all before the first upsert
    -> upsert each deployment
"""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer

from ..cli.common import client
from ..cli.output import Output, print_json
from ..cli.schedule_options import schedule_from_options
from ..errors import FieldError, InvalidInput, NotFound
from ..models import Deployment, DeploymentCreate
from ..schedules import describe
from ..steps.diagnostics import format_path
from ..steps.references import has_placeholder, references_in
from . import (DeploymentOverrides, Plan, Selection, format_plan, has_project_files,
               load_project, plan_as_dict, plan_deploy, prepare_registration)
from .requests import RunOptions, deployment_request, warn_literal_secrets

ALL_OPTION = typer.Option(False, "--all", help="deploy every deployment of the project file")
FILE_OPTION = typer.Option(None, "--file", help="the project file (default: flowpool.yaml, "
                                                "else prefect.yaml, in this directory)")
DRY_RUN_OPTION = typer.Option(False, "--dry-run", help="print the plan; run and register nothing")
NO_PROMPT_OPTION = typer.Option(False, "--no-prompt",
                                help="never ask: fail naming what is missing (as in CI)")


@dataclass(frozen=True)
class DeployFlags:
    """What `flowpool deploy` was given; None (or empty) means the flag was not."""

    entrypoint: str | None = None
    names: tuple[str, ...] = ()
    all: bool = False
    file: Path | None = None
    dry_run: bool = False
    prompt: bool = True
    pool: str | None = None
    work_queue: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    job_variables: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    version: str | None = None
    tags: tuple[str, ...] = ()
    concurrency_limit: int | None = None
    collision_strategy: str = "ENQUEUE"
    run_options: RunOptions = RunOptions()
    schedule: dict[str, str] = field(default_factory=dict)  # --cron, --interval, ... as given
    output: Output = Output.table


def project_deploy_wanted(entrypoint: str | None, names: list[str] | None, pool: str | None,
                          all_deployments: bool, file: Path | None, dry_run: bool) -> bool:
    """Whether this deploy goes through a project file, the plan or the wizard; otherwise it
    is the single-deployment path (ENTRYPOINT, one --name and --pool, no project file)."""
    return bool(all_deployments or file or dry_run or not entrypoint or not pool
                or len(names or []) != 1 or has_project_files(Path.cwd()))


def deploy_project(flags: DeployFlags) -> None:
    project = load_project(Path.cwd(), flags.file)
    selection = Selection(flags.names, flags.all, flags.entrypoint)
    overrides = overrides_from(flags)
    save_answers = None
    if flags.prompt and not flags.dry_run and is_terminal():
        from .wizard import complete_interactively

        project, selection, overrides, save_answers = complete_interactively(
            project, selection, overrides)
    plan = plan_deploy(project, selection, overrides)
    print_warnings(plan)
    if flags.dry_run:
        show_plan(plan, flags.output)
        return
    with client() as api:
        check_before_building(api, plan)
        requests = prepared_requests(api, plan, flags.run_options)
        check_targets(api, requests)
        for request in requests:
            warn_literal_secrets(request)
        deployments = [api.upsert_deployment(request) for request in requests]
        for planned, deployment in zip(plan.deployments, deployments):
            if planned.automations is not None:
                api.replace_deployment_automations(deployment.id, planned.automations)
                _say_automations(deployment.full_name, planned.automations)
    if save_answers is not None:
        save_answers()  # only now: a deploy that failed leaves the project file as it was
    show_registered(deployments, flags.output, several=flags.all or len(deployments) > 1)


def _say_automations(full_name: str, automations: list) -> None:
    if automations:
        typer.echo(f"{full_name}: {len(automations)} trigger(s) saved as automations"
                   f" ({', '.join(a.name for a in automations)})", err=True)


def overrides_from(flags: DeployFlags) -> DeploymentOverrides:
    """The flags that override the file's deployment; only those given are set."""
    schedule = _schedule_flags(flags.schedule)
    limit = ({"limit": flags.concurrency_limit, "collision_strategy": flags.collision_strategy}
             if flags.concurrency_limit is not None else None)
    given = {"work_pool_name": flags.pool, "work_queue_name": flags.work_queue,
             "parameters": flags.parameters or None, "job_variables": flags.job_variables or None,
             "description": flags.description, "version": flags.version,
             "tags": list(flags.tags) or None, "concurrency_limit": limit,
             "schedules": [schedule] if schedule else None}
    return DeploymentOverrides(**{key: value for key, value in given.items() if value is not None})


def _schedule_flags(given: dict[str, str]) -> dict[str, str] | None:
    """The schedule flags as a file would write the schedule, once they validate (so an
    error names the flag, not a file field)."""
    given = {key: value for key, value in given.items() if value is not None}
    if not given:
        return None
    schedule_from_options(given.get("cron"), given.get("interval"), given.get("anchor_date"),
                          given.get("rrule"), given.get("timezone"))
    return given


def is_terminal() -> bool:
    """A person can answer: stdin and stdout are both a terminal (not CI, not a pipe)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def print_warnings(plan: Plan) -> None:
    for warning in plan.warnings:
        typer.echo(f"Warning: {warning}", err=True)


def show_plan(plan: Plan, output: Output) -> None:
    if output is Output.json:
        print_json(plan_as_dict(plan))
    else:
        typer.echo(format_plan(plan), nl=False)


def prepared_requests(api, plan: Plan, options: RunOptions) -> list[DeploymentCreate]:
    """Build and push every deployment, then turn each into its request: nothing is sent
    until all of them are ready."""
    from ..blocks import ServerBlocks
    from ..variables import ServerVariables

    variables, blocks = ServerVariables(api), ServerBlocks(api)
    registrations = []
    for planned in plan.deployments:
        steps = len(planned.build) + len(planned.push)
        if steps:
            typer.echo(f"Running {steps} build/push step(s) of {planned.full_name}...", err=True)
        registrations.append(prepare_registration(planned, variables=variables, blocks=blocks))
    now = datetime.now(timezone.utc)
    return [deployment_request(registration, planned, now=now, options=options,
                               current_schedules=_current_schedules(api, registration))
            for planned, registration in zip(plan.deployments, registrations)]


def check_before_building(api, plan: Plan) -> None:
    """Every work pool named exists and takes its deployment's job variables, and every block
    the pull steps and job variables name exists (they are read at run time), before any build
    step runs: a bad one would otherwise be refused only after a long build, or at the first
    run."""
    for planned in plan.deployments:
        fields = planned.registration_fields()
        check_blocks_exist(api, fields["pull_steps"], ("pull",))
        check_blocks_exist(api, fields["job_variables"], ("work_pool", "job_variables"))
        if fields["work_pool_name"] and not has_placeholder(fields["work_pool_name"]):
            job_variables_fit(api.read_work_pool(fields["work_pool_name"]),
                              fields["job_variables"])


def job_variables_fit(pool, job_variables: dict[str, Any]) -> None:
    """InvalidInput naming each job variable the pool does not take; values still holding a
    placeholder are checked once filled in, by the server."""
    from ..jobs import validate_job_variables

    written = {key: value for key, value in (job_variables or {}).items()
               if not has_placeholder(value)}
    validate_job_variables(pool.base_job_template, written)


def check_blocks_exist(api, template: Any, loc: tuple) -> None:
    """The blocks the pull steps or job variables name exist now (their data is read at run
    time), so a missing one stops the deploy, not the first run."""
    from ..blocks import BlockReference, missing_block_advice

    for where, reference in references_in(template or [], loc):
        if reference.kind != "block":
            continue
        found = BlockReference.parse(reference.name)
        try:
            api.read_block(found.type, found.name)
        except NotFound:
            raise InvalidInput("cannot fill in the placeholders", [FieldError(
                format_path(where), missing_block_advice(reference.name))]) from None


def _current_schedules(api, registration) -> list:
    request = registration.deployment
    try:
        return api.read_deployment(f"{request.flow_name}/{request.name}").schedules
    except NotFound:
        return []


def check_targets(api, requests: list[DeploymentCreate]) -> None:
    """Every work pool and queue named exists, before the first deployment is registered."""
    for pool, queue in dict.fromkeys((r.work_pool_name, r.work_queue_name) for r in requests):
        api.read_work_pool(pool)
        if queue:
            api.read_work_queue(pool, queue)


def show_registered(deployments: list[Deployment], output: Output, several: bool) -> None:
    if output is Output.json:
        print_json(deployments if several else deployments[0])
        return
    for deployment in deployments:
        typer.echo(f"Deployment {deployment.full_name!r} registered on work pool "
                   f"{deployment.work_pool_name!r}.")
        for stored in deployment.schedules:
            typer.echo(f"  schedule: {describe(stored.schedule)}"
                       + ("" if stored.active else " (paused)"))
    if len(deployments) == 1:
        typer.echo(run_hint(deployments[0].full_name))


def run_hint(full_name: str) -> str:
    """The command that runs a deployment just made (its name quoted: names may hold spaces)."""
    return f"Run it with: flowpool deployment run {shlex.quote(full_name)}"
