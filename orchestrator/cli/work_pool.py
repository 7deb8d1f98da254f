"""`flowpool work-pool ...`"""
from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import FieldError, InvalidInput
from ..models import WorkPoolCreate
from .common import client
from .output import OUTPUT_OPTION, Output, print_fields, print_table, show

app = typer.Typer(help="Work pools: where runs go, and the job template of their infrastructure.",
                  no_args_is_help=True)


@app.command("create")
def create(name: str,
           type: str = typer.Option(..., "--type", "-t", help="process, docker or kubernetes"),
           base_job_template: Path = typer.Option(None, help="a JSON file; the type's default if omitted"),
           concurrency_limit: int = typer.Option(None, help="at most this many runs at once"),
           description: str = typer.Option(None),
           output: Output = OUTPUT_OPTION) -> None:
    """Create a work pool."""
    template = _read_template(base_job_template) if base_job_template else None
    request = _validated(dict(name=name, type=type, base_job_template=template,
                              concurrency_limit=concurrency_limit, description=description))
    with client() as api:
        pool = api.create_work_pool(request)
    show(pool, output, lambda p: typer.echo(f"Created work pool {p.name!r} of type {p.type}."))


def _validated(fields: dict) -> WorkPoolCreate:
    from pydantic import ValidationError

    try:
        return WorkPoolCreate(**fields)
    except ValidationError as exc:
        raise InvalidInput("invalid work pool", [FieldError(
            "--" + ".".join(str(p) for p in e["loc"]).replace("_", "-"), e["msg"])
            for e in exc.errors()]) from None


def _read_template(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read base job template {path}: {exc}", [FieldError(
            "--base-job-template", "give a JSON file with job_configuration and variables")]) from None


@app.command("ls")
def ls(output: Output = OUTPUT_OPTION) -> None:
    """List work pools."""
    with client() as api:
        pools = api.list_work_pools()
    show(pools, output, lambda ps: print_table(
        [p.model_dump() for p in ps], ["name", "type", "concurrency_limit", "paused", "created"]))


@app.command("inspect")
def inspect(name: str, output: Output = OUTPUT_OPTION) -> None:
    """Show a work pool, its queues and its base job template."""
    with client() as api:
        pool = api.read_work_pool(name)
        queues = api.list_work_queues(name)
    if output is Output.json:
        show({**pool.model_dump(mode="json"), "work_queues": queues}, output, None)
        return
    print_fields([("name", pool.name), ("type", pool.type), ("id", pool.id),
                  ("concurrency limit", pool.concurrency_limit), ("paused", pool.paused),
                  ("created", pool.created)])
    typer.echo("\nwork queues:")
    print_table([q.model_dump() for q in queues], ["name", "priority", "concurrency_limit", "paused"])
    typer.echo("\nbase job template:")
    typer.echo(json.dumps(pool.base_job_template, indent=2))
