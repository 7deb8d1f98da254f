"""How `flowpool flow-run artifacts` shows artifacts to people: markdown as its text, tables
as tables, links and images as their URL, progress as a percentage."""
from __future__ import annotations

from typing import Any

import typer

from ..models.artifacts import Artifact
from .output import format_cell, print_table


def print_artifacts(artifacts: list[Artifact]) -> None:
    if not artifacts:
        typer.echo("(no artifacts)")
    for index, artifact in enumerate(reversed(artifacts)):  # in the order they were made
        if index:
            typer.echo("")
        print_artifact(artifact)


def print_artifact(artifact: Artifact) -> None:
    title = f"{artifact.key or '(no key)'} [{artifact.type}] {format_cell(artifact.created)}"
    typer.echo(title + (f" - {artifact.description}" if artifact.description else ""))
    typer.echo("-" * min(len(title), 80))
    if artifact.type == "table":
        rows, columns = table_rows(artifact.data)
        print_table(rows, columns)
    elif artifact.type == "progress":
        typer.echo(f"{artifact.data:g}%" if isinstance(artifact.data, (int, float))
                   else format_cell(artifact.data))
    else:
        typer.echo(artifact.data if isinstance(artifact.data, str) else format_cell(artifact.data))


def table_rows(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """A table given as rows of dicts, rows of lists, or a dict of columns, as rows and
    column names."""
    if isinstance(data, dict):  # columns
        columns = [str(c) for c in data]
        length = max((len(v) for v in data.values() if isinstance(v, list)), default=0)
        rows = [{c: _at(data[c], i) for c in data} for i in range(length)]
        return rows, columns
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        columns = list(dict.fromkeys(str(key) for row in data for key in row))
        return [{str(k): v for k, v in row.items()} for row in data], columns
    if isinstance(data, list):
        width = max((len(row) for row in data if isinstance(row, list)), default=1)
        columns = [str(i) for i in range(width)]
        return [dict(zip(columns, row if isinstance(row, list) else [row])) for row in data], columns
    return [{"value": data}], ["value"]


def _at(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None
