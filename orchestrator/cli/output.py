"""Printing for every command: a table or key/value lines for people, `--output json` for programs."""
from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any, Callable, Iterable

import typer
from pydantic import BaseModel

from ..models import FlowRun


class Output(str, Enum):
    table = "table"
    json = "json"


OUTPUT_OPTION = typer.Option(Output.table, "--output", "-o", help="table (for people) or json")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(to_jsonable(value), indent=2, default=str))


def format_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def print_table(rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    cells = [[format_cell(row.get(c)) for c in columns] for row in rows]
    headers = [c.upper().replace("_", " ") for c in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    if not cells:
        typer.echo("(none)")


def print_fields(pairs: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        typer.echo(f"{key.ljust(width)}  {format_cell(value)}")


def show_table(items: list[Any], output: Output, columns: list[str],
               row: Callable[[Any], dict[str, Any]] | None = None) -> None:
    """What every `ls` prints: the items as JSON, or a table of `columns`, an item's cells
    from `row(item)` (default: its fields)."""
    cells = row or (lambda item: item.model_dump())
    show(items, output, lambda found: print_table([cells(item) for item in found], columns))


def show(value: Any, output: Output, human) -> None:
    """JSON when asked, else call `human(value)`."""
    if output is Output.json:
        print_json(value)
    else:
        human(value)


# How a run that has not started shows: Late, and why it waits.
def state_label(run: FlowRun) -> str:
    """The state name, or Late for a SCHEDULED run past its time by more than the threshold."""
    return "Late" if run.late else run.state_name


def waiting_code(run: FlowRun) -> str | None:
    return run.waiting_reason.code.value if run.waiting_reason else None


def waiting_text(run: FlowRun) -> str | None:
    reason = run.waiting_reason
    return f"{reason.code.value}: {reason.message}" if reason else None
