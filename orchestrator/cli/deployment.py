"""`flowpool deployment ...`"""
from __future__ import annotations

import json

import typer

from ..models import FlowRunCreate
from ..parameters import parse_assignments
from .common import client, merged_parameters
from .flow_run import watch_run
from .output import OUTPUT_OPTION, Output, print_fields, print_table, show

app = typer.Typer(help="Deployments: flows registered to run on a work pool.", no_args_is_help=True)


@app.command("ls")
def ls(pool: str = typer.Option(None, "--pool", help="only this work pool's"),
       output: Output = OUTPUT_OPTION) -> None:
    """List deployments."""
    with client() as api:
        deployments = api.list_deployments(pool)
    show(deployments, output, lambda ds: print_table(
        [dict(d.model_dump(), full_name=d.full_name) for d in ds],
        ["full_name", "work_pool_name", "work_queue_name", "entrypoint", "updated"]))


@app.command("inspect")
def inspect(name: str = typer.Argument(..., help="FLOW/DEPLOYMENT"),
            output: Output = OUTPUT_OPTION) -> None:
    """Show a deployment."""
    with client() as api:
        d = api.read_deployment(name)
    if output is Output.json:
        show(d, output, None)
        return
    print_fields([("name", d.full_name), ("id", d.id), ("entrypoint", d.entrypoint),
                  ("path", d.path), ("work pool", d.work_pool_name),
                  ("work queue", d.work_queue_name), ("description", d.description),
                  ("version", d.version), ("tags", d.tags), ("parameters", d.parameters),
                  ("job variables", d.job_variables), ("updated", d.updated)])
    typer.echo("\nparameter schema:")
    typer.echo(json.dumps(d.parameter_schema, indent=2))


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
