"""`flowpool flow-run ...`"""
from __future__ import annotations

import json
import logging
import time

import typer

from ..client import FlowpoolClient
from ..errors import FieldError, InvalidInput
from ..models import FlowRun, FlowRunDetail, utcnow
from ..models.task_runs import TaskRun
from ..models.logs import MAX_PAGE
from ..states import FINAL_STATES
from .common import client
from .artifact_output import print_artifacts
from .output import (OUTPUT_OPTION, Output, format_cell, print_fields, print_table, show,
                     show_table, state_label, waiting_code, waiting_text)
from .task_run import TASK_RUN_COLUMNS, task_run_row

app = typer.Typer(help="Flow runs: their states, results and logs.", no_args_is_help=True)
POLL_INTERVAL_S = 0.2
INSPECT_TASK_RUNS = 50  # shown in a table; all of them with --output json or task-run ls


@app.command("ls")
def ls(state: str = typer.Option(None, help="only runs in this state, e.g. COMPLETED"),
       deployment: str = typer.Option(None, help="only runs of FLOW/DEPLOYMENT"),
       pool: str = typer.Option(None, "--pool", help="only runs of this work pool"),
       limit: int = typer.Option(50), output: Output = OUTPUT_OPTION) -> None:
    """List flow runs, newest first."""
    with client() as api:
        deployment_id = api.read_deployment(deployment).id if deployment else None
        runs = api.list_flow_runs(state.upper() if state else None, deployment_id, pool, limit)
    show_table(runs, output, ["id", "name", "deployment", "parent", "state", "attempt",
                              "scheduled_time", "end_time", "waiting"], lambda r: dict(
        r.model_dump(), deployment=run_source(r), state=state_label(r), waiting=waiting_code(r),
        parent=short_id(r.parent_flow_run_id)))


def run_source(run: FlowRun) -> str:
    """FLOW/DEPLOYMENT, the name `deployment run` takes; the flow alone for a child run."""
    return f"{run.flow_name}/{run.deployment_name}" if run.deployment_name else run.flow_name


def short_id(run_id: str | None) -> str | None:
    """A child run's parent, by the start of its id (enough to tell runs apart in a list)."""
    return run_id[:8] if run_id else None


class RunInspection(FlowRunDetail):
    """`flow-run inspect`: the run, its child flow runs and its task runs."""

    child_runs: list[FlowRun] = []
    task_runs: list[TaskRun] = []


@app.command("inspect")
def inspect(run_id: str, output: Output = OUTPUT_OPTION) -> None:
    """Show a flow run: state history, parameters, worker, result, child runs, task runs."""
    with client() as api:
        run = api.read_flow_run(run_id)
        inspection = RunInspection(**run.model_dump(), child_runs=api.list_child_runs(run_id),
                                   task_runs=api.list_task_runs(run_id))
    show(inspection, output, print_run)


def print_run(run: RunInspection) -> None:
    result = run.result if not run.result_is_repr else f"{run.result} (repr)"
    print_fields([
        ("id", run.id), ("name", run.name),
        ("deployment", f"{run.flow_name}/{run.deployment_name}" if run.deployment_name
         else f"{run.flow_name} (a child run)"),
        ("parent", run.parent_flow_run_id), ("root", run.root_flow_run_id),
        ("work pool", f"{run.work_pool_name} (queue {run.work_queue_name})"),
        ("state", f"{state_label(run)} ({run.state_type.value})"),
        ("waiting", waiting_text(run)), ("message", run.state_message), ("attempt", run.attempt), ("worker", run.worker_name),
        ("scheduled", run.scheduled_time),
        (f"started (attempt {run.attempt})" if run.attempt > 1 else "started", run.start_time),
        ("ended", run.end_time),
        ("parameters", run.parameters), ("job variables", run.job_variables),
        ("result", json.dumps(result) if not run.result_is_repr else result),
        ("logs", log_usage(run))])
    typer.echo("\nstate history:")
    print_table([h.model_dump() for h in run.history],
                ["timestamp", "type", "name", "attempt", "message"])
    typer.echo("\nchild flow runs:")
    print_table([dict(c.model_dump(), state=c.state_name) for c in run.child_runs],
                ["id", "name", "flow_name", "state", "start_time", "end_time"])
    print_task_run_table(run)


def print_task_run_table(run: RunInspection) -> None:
    shown = run.task_runs[:INSPECT_TASK_RUNS]
    more = len(run.task_runs) - len(shown)
    typer.echo(f"\ntask runs ({len(run.task_runs)}):")
    print_table([task_run_row(t) for t in shown], TASK_RUN_COLUMNS)
    if more:
        typer.echo(f"... and {more} more: `flowpool task-run ls --flow-run {run.id}`")


@app.command("artifacts")
def artifacts(run_id: str, output: Output = OUTPUT_OPTION) -> None:
    """Show a flow run's artifacts: markdown as text, tables as tables."""
    with client() as api:
        found = api.list_artifacts(run_id)
    show(found, output, print_artifacts)


def log_usage(run: FlowRunDetail) -> str:
    stored = f"{run.log_bytes} bytes stored"
    if not run.log_lines_dropped:
        return stored
    return (f"{stored}; log budget reached, {run.log_lines_dropped} later lines "
            f"({run.log_bytes_dropped} bytes) dropped")


@app.command("cancel")
def cancel(run_id: str) -> None:
    """Cancel a run: a waiting one at once, a running one by stopping its infrastructure."""
    with client() as api:
        run = api.cancel_flow_run(run_id)
    if run.state_type.value == "CANCELLING":
        typer.echo(f"Flow run {run_id} is CANCELLING: its worker is stopping it.")
    else:
        typer.echo(f"Flow run {run_id} CANCELLED.")


@app.command("retry")
def retry(run_id: str) -> None:
    """Run a finished run of a deployment again, with the same parameters."""
    with client() as api:
        run = api.retry_flow_run(run_id)
    typer.echo(f"Flow run {run_id} scheduled again (next attempt {run.attempt + 1}).")


@app.command("logs")
def logs(run_id: str, follow: bool = typer.Option(False, "--follow", "-f",
                                                  help="keep printing until the run is final"),
         output: Output = OUTPUT_OPTION) -> None:
    """Print a flow run's logs."""
    with client() as api:
        for entry in iterate_logs(api, run_id, follow):
            if output is Output.json:
                typer.echo(entry.model_dump_json())
            else:
                level = logging.getLevelName(entry.level)
                typer.echo(f"{format_cell(entry.timestamp)} {level:<7} {entry.message}")


def iterate_logs(api: FlowpoolClient, run_id: str, follow: bool):
    """The run's lines page by page, in order; with `follow`, until the run is final."""
    after = 0
    while True:
        final = api.read_flow_run(run_id).state_type in FINAL_STATES if follow else True
        page = api.read_logs(run_id, after, MAX_PAGE)
        yield from page
        if page:
            after = page[-1].id  # the cursor of the next page
        if len(page) == MAX_PAGE:
            continue
        if final:
            return
        time.sleep(POLL_INTERVAL_S)


def watch_run(api: FlowpoolClient, run_id: str, timeout_s: float | None,
              quiet: bool = False) -> FlowRunDetail:
    """Wait for the run's final state, printing each state it passes through."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    seen = waiting_seen = None
    while True:
        run = api.read_flow_run(run_id)
        if run.state_name != seen and not quiet:
            typer.echo(f"{format_cell(run.updated)} {run.state_name}"
                       + (f": {run.state_message}" if run.state_message else ""))
            seen = run.state_name
        waiting = waiting_text(run)
        if waiting != waiting_seen and not quiet:
            if waiting:  # why it has not started yet, each time the reason changes
                typer.echo(f"{format_cell(utcnow())} waiting: {waiting}")
            waiting_seen = waiting
        if run.state_type in FINAL_STATES:
            if not quiet and run.state_type.value == "COMPLETED":
                typer.echo(f"Result: {json.dumps(run.result) if not run.result_is_repr else run.result}")
            return run
        if deadline is not None and time.monotonic() > deadline:
            raise InvalidInput(f"flow run {run_id} is still {run.state_name} after {timeout_s}s",
                               [FieldError("--timeout", "wait longer, or follow its logs")])
        time.sleep(POLL_INTERVAL_S)
