"""`flowpool variable ...`: named JSON values, for `{{ flowpool.variables.NAME }}` in project
files."""
from __future__ import annotations

import json
from typing import Any

import typer

from ..errors import FieldError, InvalidInput
from ..models.variables import VARIABLE_NAME_ADVICE
from ..variables import parse_variable_value
from .common import client
from .output import OUTPUT_OPTION, Output, show, show_table

app = typer.Typer(help="Variables: named values that project files use as "
                       "{{ flowpool.variables.NAME }}.", no_args_is_help=True)
LISTED_VALUE_CHARS = 60


@app.command("set")
def set_(name: str = typer.Argument(..., help="the variable's name"),
         value: str = typer.Argument(..., help="JSON (42, true, '{\"a\": 1}'), or plain text"),
         output: Output = OUTPUT_OPTION) -> None:
    """Create a variable or replace its value."""
    name, parsed = checked_name(name), checked_value(value)
    with client() as api:
        variable = api.set_variable(name, parsed)
    show(variable, output, lambda v: typer.echo(f"Variable {v.name!r} set to {as_text(v.value)}"))


@app.command("get")
def get(name: str = typer.Argument(...), output: Output = OUTPUT_OPTION) -> None:
    """Print a variable's value: text as it is, anything else as JSON."""
    with client() as api:
        variable = api.read_variable(checked_name(name))
    show(variable, output, lambda v: typer.echo(as_text(v.value)))


@app.command("ls")
def ls(output: Output = OUTPUT_OPTION) -> None:
    """List the variables."""
    with client() as api:
        variables = api.list_variables()
    show_table(variables, output, ["name", "value", "updated"], lambda v: dict(
        name=v.name, value=_shortened(as_text(v.value)), updated=v.updated))


@app.command("unset")
def unset(name: str = typer.Argument(...)) -> None:
    """Delete a variable."""
    with client() as api:
        api.delete_variable(checked_name(name))
    typer.echo(f"Variable {name!r} unset.")


def checked_name(name: str) -> str:
    from pydantic import TypeAdapter, ValidationError

    from ..models.variables import VariableName

    try:
        return TypeAdapter(VariableName).validate_python(name)
    except ValidationError:
        raise InvalidInput(f"{name!r} is not a valid variable name", [FieldError(
            "NAME", VARIABLE_NAME_ADVICE)]) from None


def checked_value(text: str) -> Any:
    from pydantic import ValidationError

    from ..models.variables import VariableValue

    try:
        return VariableValue(value=parse_variable_value(text)).value
    except ValidationError as exc:
        raise InvalidInput("the value does not fit in a variable", [FieldError(
            "VALUE", e["msg"].removeprefix("Value error, ")) for e in exc.errors()]) from None


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _shortened(text: str) -> str:
    return text if len(text) <= LISTED_VALUE_CHARS else text[:LISTED_VALUE_CHARS - 3] + "..."

