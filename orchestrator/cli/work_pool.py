"""`flowpool work-pool ...`"""
from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import AlreadyExists, FieldError, InvalidInput, validation_message
from ..models import LimitUsage, WorkPoolCreate, WorkPoolDetail
from .common import client
from .output import OUTPUT_OPTION, Output, print_fields, print_table, show, show_table

app = typer.Typer(help="Work pools: where runs go, and the job template of their infrastructure.",
                  no_args_is_help=True)


@app.command("create")
def create(name: str,
           type: str = typer.Option(..., "--type", "-t", help="process, docker or kubernetes"),
           base_job_template: Path = typer.Option(None, help="a JSON file; the type's default if omitted"),
           concurrency_limit: int = typer.Option(None, help="at most this many runs at once"),
           description: str = typer.Option(None),
           if_not_exists: bool = typer.Option(False, "--if-not-exists", help=(
               "exit 0, changing nothing, when a pool of that name exists (setup scripts)")),
           output: Output = OUTPUT_OPTION) -> None:
    """Create a work pool."""
    template = _read_template(base_job_template) if base_job_template else None
    request = _validated(dict(name=name, type=type, base_job_template=template,
                              concurrency_limit=concurrency_limit, description=description))
    with client() as api:
        try:
            pool = api.create_work_pool(request)
        except AlreadyExists:
            if not if_not_exists:
                raise
            pool = api.read_work_pool(name)
            show(pool, output, lambda p: typer.echo(f"Work pool {p.name!r} exists already."))
            return
    show(pool, output, lambda p: typer.echo(f"Created work pool {p.name!r} of type {p.type}."))


def _validated(fields: dict) -> WorkPoolCreate:
    from pydantic import ValidationError

    try:
        return WorkPoolCreate(**fields)
    except ValidationError as exc:
        raise InvalidInput("invalid work pool", [FieldError(
            "--" + ".".join(str(p) for p in e["loc"]).replace("_", "-"), validation_message(e))
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
    show_table(pools, output, ["name", "type", "concurrency_limit", "paused", "created"])


@app.command("inspect")
def inspect(name: str, output: Output = OUTPUT_OPTION) -> None:
    """Show a work pool: its queues, each limit with the runs holding its slots, its template."""
    with client() as api:
        pool = api.read_work_pool(name)
    show(pool, output, print_pool)


def print_pool(pool: WorkPoolDetail) -> None:
    print_fields([("name", pool.name), ("type", pool.type), ("id", pool.id),
                  ("paused", pool.paused), ("concurrency", describe_usage(pool.usage)),
                  ("created", pool.created)])
    typer.echo("\nwork queues (served in this order):")
    print_table([dict(q.model_dump(), concurrency=describe_usage(q.usage)) for q in pool.work_queues],
                ["name", "priority", "concurrency", "paused"])
    print_holders(pool.usage)
    typer.echo("\nbase job template:")
    typer.echo(json.dumps(pool.base_job_template, indent=2))


def describe_usage(usage: LimitUsage) -> str:
    limit = "unlimited" if usage.limit is None else str(usage.limit)
    return f"{usage.in_use} in use of {limit}"


def print_holders(usage: LimitUsage) -> None:
    if usage.holders:
        typer.echo("\nslots held by:")
        print_table([h.model_dump() for h in usage.holders],
                    ["id", "name", "state_type", "flow_name", "deployment_name", "work_queue_name"])


def _change(name: str, outcome: str, **changes) -> None:
    with client() as api:
        api.update_work_pool(name, **changes)
    typer.echo(f"Work pool {name!r}{outcome}.")


@app.command("set-concurrency-limit")
def set_concurrency_limit(name: str, limit: int = typer.Argument(..., min=0)) -> None:
    """At most LIMIT runs of this pool at once (PENDING or RUNNING)."""
    _change(name, f": concurrency limit {limit}", concurrency_limit=limit)


@app.command("clear-concurrency-limit")
def clear_concurrency_limit(name: str) -> None:
    """Remove the pool's concurrency limit."""
    _change(name, ": no concurrency limit", concurrency_limit=None)


@app.command("pause")
def pause(name: str) -> None:
    """Stop dispatching the pool's runs; they wait, in order."""
    _change(name, " paused", paused=True)


@app.command("resume")
def resume(name: str) -> None:
    """Dispatch the pool's runs again."""
    _change(name, " resumed", paused=False)


@app.command("delete")
def delete(name: str,
           force: bool = typer.Option(False, "--force", help="cancel its runs in progress instead of refusing"),
           output: Output = OUTPUT_OPTION) -> None:
    """Delete a work pool no deployment uses, and its queues; its waiting runs go with it.

    Refuses while runs are in progress, naming them, unless --force cancels them."""
    from .deployment import print_removal

    with client() as api:
        removal = api.delete_work_pool(name, force)
    show(removal, output, lambda r: print_removal(f"Work pool {r.name!r}", r))


@app.command("get-default-base-job-template")
def get_default_base_job_template(
        type: str = typer.Option(..., "--type", "-t", help="process, docker or kubernetes")) -> None:
    """Print a worker type's default base job template (JSON) to start your own from."""
    from ..jobs import default_base_job_template

    typer.echo(json.dumps(default_base_job_template(type), indent=2))


@app.command("update")
def update(name: str,
           base_job_template: Path = typer.Option(None, help="a JSON file replacing the template"),
           description: str = typer.Option(None)) -> None:
    """Change a pool's base job template or description."""
    changes = {}
    if base_job_template:
        changes["base_job_template"] = _read_template(base_job_template)
    if description is not None:
        changes["description"] = description
    if not changes:
        raise InvalidInput("nothing to update", [FieldError(
            "--base-job-template", "give a template file or a description")])
    with client() as api:
        api.update_work_pool(name, **changes)
    typer.echo(f"Work pool {name!r} updated: {', '.join(changes)}.")
