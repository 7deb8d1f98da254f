"""The `flowpool` command."""
from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from ..deploy.command import deploy
from ..deploy.init_command import init, project_app, recipe_app
from ..errors import FieldError, FlowpoolError, InvalidInput, validation_message
from . import (automation, block, concurrency_limit, database, deployment, event, flow, flow_run,
               scheduler, server, task_run, variable, work_pool, work_queue, worker)

app = typer.Typer(name="flowpool", no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Deploy Python flows and run them on work pools.")
app.add_typer(server.app, name="server")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(database.app, name="database")
app.add_typer(work_pool.app, name="work-pool")
app.add_typer(work_queue.app, name="work-queue")
app.add_typer(worker.app, name="worker")
app.add_typer(deployment.app, name="deployment")
app.add_typer(flow.app, name="flow")
app.add_typer(flow_run.app, name="flow-run")
app.add_typer(task_run.app, name="task-run")
app.add_typer(variable.app, name="variable")
app.add_typer(block.app, name="block")
app.add_typer(event.app, name="event")
app.add_typer(automation.app, name="automation")
app.add_typer(concurrency_limit.app, name="concurrency-limit")
app.add_typer(concurrency_limit.app, name="gcl", help="Alias of concurrency-limit.")
app.command("deploy")(deploy)
app.command("init")(init)
app.add_typer(project_app, name="project")
app.add_typer(recipe_app, name="recipe")


def main() -> None:
    try:
        app()
    except ValidationError as exc:  # a model built from options, refused before it is sent
        typer.echo(f"Error: {_invalid_input(exc)}", err=True)
        sys.exit(1)
    except FlowpoolError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)


def _invalid_input(exc: ValidationError) -> InvalidInput:
    return InvalidInput("invalid input", [
        FieldError(_field_name(exc.title, e["loc"]), validation_message(e))
        for e in exc.errors()])


def _field_name(model: str, loc: tuple) -> str:
    """A setting is named as it is set, by its environment variable."""
    path = ".".join(str(p) for p in loc)
    if model == "Settings" and path:
        return f"FLOWPOOL_{path.upper()}"
    return path or model


if __name__ == "__main__":
    main()
