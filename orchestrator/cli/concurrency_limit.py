"""`flowpool concurrency-limit ...` (also `flowpool gcl ...`): global concurrency limits, which
flow code uses with `concurrency("NAME", occupy=k)` and `rate_limit("NAME")`."""
from __future__ import annotations

import typer

from ..models.concurrency_limits import (ConcurrencyLimit, ConcurrencyLimitCreate,
                                         ConcurrencyLimitDetail)
from .common import client
from .output import OUTPUT_OPTION, Output, print_fields, print_table, show, show_table

app = typer.Typer(help="Global concurrency limits: how many may hold a limit's slots at once "
                       "(`with concurrency(NAME)`), or how fast (`rate_limit(NAME)`).",
                  no_args_is_help=True)
DECAY_HELP = "slots freed per second (needed by rate_limit); 0: slots are held until released"


@app.command("create")
def create(name: str, limit: int = typer.Option(..., "--limit", help="how many slots"),
           slot_decay_per_second: float = typer.Option(0.0, help=DECAY_HELP),
           disable: bool = typer.Option(False, "--disable", help="create it inactive"),
           output: Output = OUTPUT_OPTION) -> None:
    """Create a global concurrency limit."""
    request = ConcurrencyLimitCreate(name=name, limit=limit, active=not disable,
                                     slot_decay_per_second=slot_decay_per_second)
    with client() as api:
        created = api.create_concurrency_limit(request)
    show(created, output, lambda c: typer.echo(
        f"Created concurrency limit {c.name!r} with {c.limit} slot(s)."))


@app.command("ls")
def ls(output: Output = OUTPUT_OPTION) -> None:
    """List the global concurrency limits with their slots in use."""
    with client() as api:
        limits = api.list_concurrency_limits()
    show_table(limits, output,
               ["name", "limit", "in_use", "slot_decay_per_second", "active", "updated"],
               lambda c: dict(c.model_dump(), in_use=in_use(c)))


@app.command("inspect")
def inspect(name: str, output: Output = OUTPUT_OPTION) -> None:
    """Show a limit, its slots in use and the flow runs holding them."""
    with client() as api:
        limit = api.read_concurrency_limit(name)
    show(limit, output, print_limit)


def print_limit(limit: ConcurrencyLimitDetail) -> None:
    print_fields([("name", limit.name), ("limit", limit.limit), ("in use", in_use(limit)),
                  ("slot decay per second", limit.slot_decay_per_second),
                  ("active", limit.active), ("created", limit.created),
                  ("updated", limit.updated)])
    typer.echo("\nholders:")
    print_table([h.model_dump() for h in limit.holders],
                ["flow_run_id", "occupy", "lease_id", "expires"])


def in_use(limit: ConcurrencyLimit) -> str:
    if limit.active_slots is None:
        return "unknown (broker down)"
    slots = limit.active_slots
    return f"{slots:g}/{limit.limit}" if slots == int(slots) else f"{slots:.2f}/{limit.limit}"


@app.command("update")
def update(name: str, limit: int = typer.Option(None, "--limit", help="how many slots"),
           slot_decay_per_second: float = typer.Option(None, help=DECAY_HELP),
           active: bool = typer.Option(None, "--enable/--disable", help="enforce it or not"),
           output: Output = OUTPUT_OPTION) -> None:
    """Change a limit; slots held stay held."""
    changes = {key: value for key, value in dict(
        limit=limit, slot_decay_per_second=slot_decay_per_second, active=active).items()
        if value is not None}
    if not changes:
        raise typer.BadParameter("give --limit, --slot-decay-per-second, --enable or --disable")
    with client() as api:
        updated = api.update_concurrency_limit(name, **changes)
    show(updated, output, lambda c: typer.echo(
        f"Concurrency limit {c.name!r}: {c.limit} slot(s), decay {c.slot_decay_per_second:g}/s, "
        f"{'active' if c.active else 'inactive'}."))


@app.command("delete")
def delete(name: str) -> None:
    """Delete a limit (flow code asking for it then runs without it, with a warning)."""
    with client() as api:
        api.delete_concurrency_limit(name)
    typer.echo(f"Concurrency limit {name!r} deleted.")
