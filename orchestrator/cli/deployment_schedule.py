"""`flowpool deployment schedule ls|create|pause|resume|delete DEPLOYMENT ...`"""
from __future__ import annotations

import typer

from ..errors import FieldError, InvalidInput
from ..models.deployments import StoredSchedule
from ..schedules import describe
from .common import client, merged_parameters
from .output import OUTPUT_OPTION, Output, print_table, show
from .schedule_options import (ANCHOR_OPTION, CRON_OPTION, INTERVAL_OPTION, RRULE_OPTION,
                               TIMEZONE_OPTION, schedule_from_options)

app = typer.Typer(help="A deployment's schedules: when its runs are created.",
                  no_args_is_help=True)
DEPLOYMENT_ARGUMENT = typer.Argument(..., help="FLOW/DEPLOYMENT")
SCHEDULE_ARGUMENT = typer.Argument(..., help="the schedule's id (or its first characters) or slug")


def schedule_rows(schedules: list[StoredSchedule]) -> list[dict]:
    return [{"id": s.id[:8], "slug": s.slug, "schedule": describe(s.schedule),
             "active": s.active, "parameters": s.parameters or None, "error": s.error}
            for s in schedules]


def print_schedules(schedules: list[StoredSchedule]) -> None:
    """The schedules; an `error` column (why the scheduler skips one) when any has one."""
    columns = ["id", "slug", "schedule", "active", "parameters"]
    if any(s.error for s in schedules):
        columns.append("error")
    print_table(schedule_rows(schedules), columns)


@app.command("ls")
def ls(deployment: str = DEPLOYMENT_ARGUMENT, output: Output = OUTPUT_OPTION) -> None:
    """List the deployment's schedules."""
    with client() as api:
        schedules = api.list_schedules(deployment)
    show(schedules, output, print_schedules)


@app.command("create")
def create(deployment: str = DEPLOYMENT_ARGUMENT, cron: str = CRON_OPTION,
           interval: str = INTERVAL_OPTION, anchor_date: str = ANCHOR_OPTION,
           rrule: str = RRULE_OPTION, timezone_name: str = TIMEZONE_OPTION,
           param: list[str] = typer.Option(None, "--param", help="parameter k=v of this schedule's runs"),
           params: str = typer.Option(None, "--params", help="its parameters as a JSON object"),
           slug: str = typer.Option(None, "--slug", help="a name for the schedule, unique in the deployment"),
           inactive: bool = typer.Option(False, "--inactive", help="create it paused"),
           output: Output = OUTPUT_OPTION) -> None:
    """Add a schedule to a deployment (give one of --cron, --interval, --rrule)."""
    entry = schedule_from_options(cron, interval, anchor_date, rrule, timezone_name,
                                  active=not inactive, slug=slug,
                                  parameters=merged_parameters(param, params))
    if entry is None:
        raise InvalidInput("no schedule given", [FieldError(
            "--cron", "give one of --cron, --interval or --rrule")])
    with client() as api:
        created = api.create_schedule(deployment, entry)
    show(created, output, lambda s: typer.echo(
        f"Schedule {s.id[:8]} ({describe(s.schedule)}) added to {deployment}."))


@app.command("pause")
def pause(deployment: str = DEPLOYMENT_ARGUMENT, schedule: str = SCHEDULE_ARGUMENT) -> None:
    """Stop a schedule creating runs; its future runs are deleted."""
    with client() as api:
        paused = api.set_schedule_active(deployment, schedule, False)
    typer.echo(f"Schedule {paused.id[:8]} of {deployment} paused; its future runs are deleted.")


@app.command("resume")
def resume(deployment: str = DEPLOYMENT_ARGUMENT, schedule: str = SCHEDULE_ARGUMENT) -> None:
    """Let a paused schedule create runs again."""
    with client() as api:
        resumed = api.set_schedule_active(deployment, schedule, True)
    typer.echo(f"Schedule {resumed.id[:8]} of {deployment} resumed.")


@app.command("delete")
def delete(deployment: str = DEPLOYMENT_ARGUMENT, schedule: str = SCHEDULE_ARGUMENT) -> None:
    """Remove a schedule and its future runs (runs it already started are kept)."""
    with client() as api:
        deleted = api.delete_schedule(deployment, schedule)
    typer.echo(f"Schedule {deleted.id[:8]} ({describe(deleted.schedule)}) deleted from {deployment}.")
