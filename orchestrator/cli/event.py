"""`flowpool event ls`: what happened, newest last; `--follow` keeps printing new events."""
from __future__ import annotations

import time

import typer

from ..models.events import RESOURCE_ID, RESOURCE_ROLE, Event
from .common import client
from .output import OUTPUT_OPTION, Output, format_cell, print_json, print_table

app = typer.Typer(help="Events: state changes of runs, deployments and workers, and the "
                       "events flows emit.", no_args_is_help=True)
FOLLOW_INTERVAL_S = 1.0
COLUMNS = ["occurred", "event", "resource", "related"]


@app.command("ls")
def ls(name: str = typer.Option(None, "--name", help="event name pattern; * matches any text, "
                                                     "e.g. 'flowpool.flow-run.*'"),
       resource: str = typer.Option(None, "--resource",
                                    help="resource id pattern, e.g. 'flowpool.deployment.*'"),
       limit: int = typer.Option(20, "--limit", min=1, max=1000, help="how many of the newest"),
       follow: bool = typer.Option(False, "--follow", "-f",
                                   help="keep printing new events until interrupted"),
       output: Output = OUTPUT_OPTION) -> None:
    """The newest events, oldest first."""
    with client() as api:
        found = api.list_events(name=name, resource=resource, limit=limit)
        _print(found, output, header=True)
        if follow:
            _follow(api, name, resource, found[-1].seq if found else _last_seq(api), output)


def _follow(api, name: str | None, resource: str | None, after: int, output: Output) -> None:
    try:
        while True:
            found = api.list_events(name=name, resource=resource, after=after, limit=1000)
            if found:
                _print(found, output, header=False)
                after = found[-1].seq
            else:
                time.sleep(FOLLOW_INTERVAL_S)
    except KeyboardInterrupt:
        pass


def _last_seq(api) -> int:
    newest = api.list_events(limit=1)
    return newest[-1].seq if newest else 0


def _print(events: list[Event], output: Output, header: bool) -> None:
    """The first page as a table (or a JSON list); what follows a line per event (JSON lines)."""
    if output is Output.json:
        if header:
            print_json(events)
        else:
            for event in events:
                typer.echo(event.model_dump_json())
        return
    rows = [dict(occurred=e.occurred, event=e.event, resource=e.resource[RESOURCE_ID],
                 related=_related(e)) for e in events]
    if header:
        print_table(rows, COLUMNS)
    else:
        for row in rows:
            typer.echo("  ".join(format_cell(row[c]) for c in COLUMNS))


def _related(event: Event) -> str:
    return ", ".join(f"{r.get(RESOURCE_ROLE)}:{r.get('flowpool.resource.name') or r[RESOURCE_ID]}"
                     for r in event.related)
