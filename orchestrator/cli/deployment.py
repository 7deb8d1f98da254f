"""`flowpool deployment ...`"""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from ..models import FlowRunCreate
from ..parameters import parse_assignments
from . import deployment_schedule
from .common import client, merged_parameters
from .flow_run import watch_run
from .output import (OUTPUT_OPTION, Output, print_fields, print_json, print_table, show,
                     show_table, state_label)

app = typer.Typer(help="Deployments: flows registered to run on a work pool.", no_args_is_help=True)
app.add_typer(deployment_schedule.app, name="schedule")
UPCOMING_RUNS_SHOWN = 10


@app.command("ls")
def ls(pool: str = typer.Option(None, "--pool", help="only this work pool's"),
       output: Output = OUTPUT_OPTION) -> None:
    """List deployments."""
    with client() as api:
        deployments = api.list_deployments(pool)
    show_table(deployments, output,
               ["full_name", "work_pool_name", "work_queue_name", "entrypoint", "updated"],
               lambda d: dict(d.model_dump(), full_name=d.full_name))


@app.command("inspect")
def inspect(name: str = typer.Argument(..., help="FLOW/DEPLOYMENT"),
            output: Output = OUTPUT_OPTION) -> None:
    """Show a deployment, its schedules and its upcoming runs."""
    with client() as api:
        d = api.read_deployment(name)
        upcoming = api.upcoming_runs(name, UPCOMING_RUNS_SHOWN)
    if output is Output.json:
        print_json({**d.model_dump(mode="json"), "upcoming_runs": upcoming})
        return
    print_fields([("name", d.full_name), ("id", d.id), ("entrypoint", d.entrypoint),
                  ("path", d.path), ("work pool", d.work_pool_name),
                  ("work queue", d.work_queue_name), ("description", d.description),
                  ("version", d.version), ("tags", d.tags), ("parameters", d.parameters),
                  ("job variables", d.job_variables), ("paused", d.paused),
                  ("updated", d.updated)])
    typer.echo("\nschedules:")
    deployment_schedule.print_schedules(d.schedules)
    typer.echo(f"\nupcoming runs (the next {UPCOMING_RUNS_SHOWN} at most):")
    zones = {s.id: s.schedule.timezone for s in d.schedules}
    print_table([dict(r.model_dump(), state=state_label(r), scheduled_time=wall_clock(
        r.scheduled_time, zones.get(r.schedule_id, "UTC"))) for r in upcoming],
        ["id", "name", "scheduled_time", "state"])
    typer.echo("\nparameter schema:")
    typer.echo(json.dumps(d.parameter_schema, indent=2))


FORCE_OPTION = typer.Option(False, "--force", help="cancel its runs in progress instead of refusing")


@app.command("delete")
def delete(name: str = typer.Argument(..., help="FLOW/DEPLOYMENT"), force: bool = FORCE_OPTION,
           output: Output = OUTPUT_OPTION) -> None:
    """Delete a deployment and its schedules; its waiting runs go with it, finished ones stay.

    Refuses while runs are in progress, naming them, unless --force cancels them."""
    with client() as api:
        removal = api.delete_deployment(name, force)
    show(removal, output, lambda r: print_removal(f"Deployment {r.name}", r))


def print_removal(what: str, removal) -> None:
    typer.echo(f"{what} deleted; {removal.deleted_waiting_runs} waiting run(s) deleted with it.")
    if removal.cancelled_runs:
        typer.echo(f"Cancelled {len(removal.cancelled_runs)} run(s) in progress: "
                   + ", ".join(removal.cancelled_runs))


def wall_clock(moment: datetime, zone: str) -> str:
    """`moment` as a clock in `zone` reads it, labelled with the zone: a schedule's times as
    its own time zone gives them."""
    return f"{moment.astimezone(ZoneInfo(zone)).strftime('%Y-%m-%d %H:%M:%S')} {zone}"


@app.command("pause")
def pause(name: str = typer.Argument(..., help="FLOW/DEPLOYMENT")) -> None:
    """Stop the deployment's schedules creating runs; its future scheduled runs are deleted."""
    with client() as api:
        api.set_deployment_paused(name, True)
    typer.echo(f"Deployment {name} paused: no scheduled runs until it is resumed.")


@app.command("resume")
def resume(name: str = typer.Argument(..., help="FLOW/DEPLOYMENT")) -> None:
    """Let the deployment's schedules create runs again."""
    with client() as api:
        api.set_deployment_paused(name, False)
    typer.echo(f"Deployment {name} resumed: its schedules create runs again.")


@app.command("run")
def run(name: str = typer.Argument(..., help="FLOW/DEPLOYMENT"),
        param: list[str] = typer.Option(None, "--param", "-p", help="parameter k=v (repeatable)"),
        params: str = typer.Option(None, "--params", help="parameters as a JSON object"),
        job_variable: list[str] = typer.Option(None, "--job-variable", "-jv", help="job variable k=v"),
        work_queue: str = typer.Option(None, "--work-queue", "-q"),
        watch: bool = typer.Option(False, "--watch", help="wait for the final state; exit 0 only if COMPLETED"),
        timeout: float = typer.Option(None, help="with --watch: give up after this many seconds"),
        output: Output = OUTPUT_OPTION) -> None:
    """Trigger a run of a deployment now."""
    request = FlowRunCreate(parameters=merged_parameters(param, params),
                            job_variables=parse_assignments(job_variable, "--job-variable"),
                            work_queue_name=work_queue)
    with client() as api:
        flow_run = api.create_flow_run(name, request)
        if output is Output.table:
            typer.echo(f"Created flow run {flow_run.name!r} ({flow_run.id}).")
        if not watch:
            show(flow_run, output, lambda r: typer.echo(
                f"Follow it with: flowpool flow-run logs {r.id} --follow"))
            return
        final = watch_run(api, flow_run.id, timeout, quiet=output is Output.json)
    if output is Output.json:
        show(final, output, None)
    raise typer.Exit(0 if final.state_type.value == "COMPLETED" else 1)
