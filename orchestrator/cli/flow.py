"""`flowpool flow ls`"""
from __future__ import annotations

import typer

from .common import client
from .output import OUTPUT_OPTION, Output, show_table

app = typer.Typer(help="Flows: the functions that deployments and runs are made of.",
                  no_args_is_help=True)


@app.command("ls")
def ls(limit: int = typer.Option(200, min=1, max=1000, help="at most this many flows"),
       output: Output = OUTPUT_OPTION) -> None:
    """List flows with their deployments and their latest run."""
    with client() as api:
        flows = api.list_flows(limit)
    show_table(flows, output, ["name", "deployments", "last_run", "state", "at"], _row)


def _row(flow) -> dict:
    run = flow.last_run
    return {"name": flow.name, "deployments": ", ".join(flow.deployments) or None,
            "last_run": run.name if run else None, "state": run.state_name if run else None,
            "at": (run.start_time or run.scheduled_time) if run else None}
