"""`flowpool work-queue ...`"""
from __future__ import annotations

import typer

from ..models import WorkQueueCreate, WorkQueueDetail
from .common import client
from .output import OUTPUT_OPTION, Output, print_fields, show, show_table
from .work_pool import describe_usage, print_holders

app = typer.Typer(help="Work queues: priorities and limits inside a work pool.", no_args_is_help=True)
POOL_OPTION = typer.Option(..., "--pool", "-p", help="the work pool the queue belongs to")


@app.command("create")
def create(name: str, pool: str = POOL_OPTION,
           priority: int = typer.Option(1, min=1, help="1 is served first"),
           limit: int = typer.Option(None, "--limit", min=0, help="at most this many runs at once"),
           description: str = typer.Option(None), output: Output = OUTPUT_OPTION) -> None:
    """Create a work queue in a pool."""
    with client() as api:
        queue = api.create_work_queue(pool, WorkQueueCreate(
            name=name, priority=priority, concurrency_limit=limit, description=description))
    show(queue, output, lambda q: typer.echo(
        f"Created work queue {q.name!r} in pool {pool!r} (priority {q.priority})."))


@app.command("ls")
def ls(pool: str = POOL_OPTION, output: Output = OUTPUT_OPTION) -> None:
    """List a pool's queues in the order they are served."""
    with client() as api:
        detail = api.read_work_pool(pool)
    show_table(detail.work_queues, output, ["name", "priority", "concurrency", "paused",
                                            "description"],
               lambda q: dict(q.model_dump(), concurrency=describe_usage(q.usage)))


@app.command("inspect")
def inspect(name: str, pool: str = POOL_OPTION, output: Output = OUTPUT_OPTION) -> None:
    """Show a queue, its limit and the runs holding its slots."""
    with client() as api:
        queue = api.read_work_queue(pool, name)
    show(queue, output, print_queue)


def print_queue(q: WorkQueueDetail) -> None:
    print_fields([("name", q.name), ("pool", q.work_pool_name), ("priority", q.priority),
                  ("paused", q.paused), ("concurrency", describe_usage(q.usage)),
                  ("description", q.description)])
    print_holders(q.usage)


def _update(pool: str, name: str, message: str, **changes) -> None:
    with client() as api:
        api.update_work_queue(pool, name, **changes)
    typer.echo(f"Work queue {name!r} in pool {pool!r}: {message}.")


@app.command("pause")
def pause(name: str, pool: str = POOL_OPTION) -> None:
    """Stop dispatching the queue's runs; they wait, in order."""
    _update(pool, name, "paused", paused=True)


@app.command("resume")
def resume(name: str, pool: str = POOL_OPTION) -> None:
    """Dispatch the queue's runs again."""
    _update(pool, name, "resumed", paused=False)


@app.command("set-concurrency-limit")
def set_concurrency_limit(name: str, limit: int = typer.Argument(..., min=0),
                          pool: str = POOL_OPTION) -> None:
    """At most LIMIT runs of this queue at once."""
    _update(pool, name, f"concurrency limit {limit}", concurrency_limit=limit)


@app.command("clear-concurrency-limit")
def clear_concurrency_limit(name: str, pool: str = POOL_OPTION) -> None:
    """Remove the queue's concurrency limit."""
    _update(pool, name, "no concurrency limit", concurrency_limit=None)


@app.command("update")
def update(name: str, pool: str = POOL_OPTION,
           priority: int = typer.Option(None, min=1, help="1 is served first"),
           description: str = typer.Option(None)) -> None:
    """Change a queue's priority or description."""
    changes = {k: v for k, v in dict(priority=priority, description=description).items()
               if v is not None}
    _update(pool, name, ", ".join(f"{k} {v}" for k, v in changes.items()) or "unchanged", **changes)


@app.command("delete")
def delete(name: str, pool: str = POOL_OPTION) -> None:
    """Delete a queue that no deployment targets and no unfinished run sits in."""
    with client() as api:
        api.delete_work_queue(pool, name)
    typer.echo(f"Deleted work queue {name!r} from pool {pool!r}.")
