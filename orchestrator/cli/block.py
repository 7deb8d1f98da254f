"""`flowpool block ...`: typed configuration documents (secrets, credentials), for
`{{ flowpool.blocks.TYPE.NAME }}` in project files and `Secret.load(NAME)` in flow code."""
from __future__ import annotations

import json
import re
import sys
from typing import Any

import typer

from ..errors import FieldError, InvalidInput
from ..models.blocks import (BLOCK_NAME_ADVICE, BLOCK_NAME_PATTERN, Block, BlockField,
                             block_type)
from .common import client
from .output import OUTPUT_OPTION, Output, print_fields, show, show_table

app = typer.Typer(help="Blocks: typed settings and credentials whose secret fields are "
                       "encrypted; {{ flowpool.blocks.TYPE.NAME }} in project files.",
                  no_args_is_help=True)
types_app = typer.Typer(help="The block types and their fields.", no_args_is_help=True)
app.add_typer(types_app, name="type")
LISTED_DATA_CHARS = 60


@app.command("create")
def create(kind: str = typer.Argument(..., metavar="TYPE", help="secret, json, aws-credentials, "
                                      "s3-bucket, github-credentials, docker-registry-credentials"),
           name: str = typer.Argument(..., help="lowercase letters, digits and '-'"),
           value: str = typer.Option(None, "--value", help="the value of a secret or json block "
                                     "('-' reads it from stdin, keeping it out of shell history)"),
           field: list[str] = typer.Option(None, "--field", "-f", help="a field, k=v (repeat)"),
           overwrite: bool = typer.Option(False, "--overwrite", help="replace the block if it "
                                          "exists"),
           output: Output = OUTPUT_OPTION) -> None:
    """Create a block: `block create secret NAME --value ...`,
    `block create aws-credentials NAME --field aws_access_key_id=... --field ...`."""
    name = checked_name(name)
    data = block_data(kind, value, field or [])
    with client() as api:
        block = api.set_block(kind, name, data) if overwrite else api.create_block(kind, name, data)
    show(block, output, lambda b: typer.echo(f"Block {b.full_name!r} saved."))


@app.command("ls")
def ls(kind: str = typer.Option(None, "--type", help="only blocks of this type"),
       output: Output = OUTPUT_OPTION) -> None:
    """List the blocks; secret fields show as ********."""
    if kind is not None:
        block_type(kind, "--type")
    with client() as api:
        blocks = api.list_blocks(kind)
    show_table(blocks, output, ["type", "name", "data", "updated"], lambda b: dict(
        type=b.type, name=b.name, data=_shortened(json.dumps(b.data)), updated=b.updated))


@app.command("inspect")
def inspect(slug: str = typer.Argument(..., metavar="TYPE/NAME"),
            output: Output = OUTPUT_OPTION) -> None:
    """Show a block's fields; secret fields show as ********."""
    kind, name = split_slug(slug)
    with client() as api:
        block = api.read_block(kind, name)
    show(block, output, _print_block)


@app.command("delete")
def delete(slug: str = typer.Argument(..., metavar="TYPE/NAME")) -> None:
    """Delete a block."""
    kind, name = split_slug(slug)
    with client() as api:
        api.delete_block(kind, name)
    typer.echo(f"Block '{kind}/{name}' deleted.")


@types_app.command("ls")
def type_ls(output: Output = OUTPUT_OPTION) -> None:
    """List the block types and their fields (secret ones marked)."""
    with client() as api:
        kinds = api.list_block_types()
    show_table(kinds, output, ["type", "fields", "description"], lambda k: dict(
        type=k.slug, fields=", ".join(_field_label(f) for f in k.fields),
        description=k.description))


def block_data(kind: str, value: str | None, assignments: list[str]) -> dict[str, Any]:
    """The block's data from `--value` and each `--field k=v`, each value read as its field's
    kind (text stays text; booleans and JSON fields are parsed)."""
    found = block_type(kind, "TYPE")
    data: dict[str, Any] = {}
    if value is not None:
        if found.field("value") is None:
            raise InvalidInput(f"{kind} blocks have no value", [FieldError(
                "--value", "give its fields with --field k=v (flowpool block type ls)")])
        data["value"] = _parsed(found.field("value"), _stdin() if value == "-" else value,
                                "--value", secret=kind == "secret")
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        field = found.field(key.strip())
        if not sep or field is None:
            raise InvalidInput(f"--field {assignment!r} is not a field of {kind}", [FieldError(
                "--field", "give k=v with k one of: " + ", ".join(f.name for f in found.fields))])
        data[field.name] = _parsed(field, text, f"--field {field.name}", secret=False)
    return data


def _parsed(field: BlockField, text: str, option: str, secret: bool) -> Any:
    if field.kind == "string" or secret:
        return text  # a secret is text as typed: "0123" must not become 123
    if field.kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise InvalidInput(f"{option} must be true or false", [FieldError(option, "give "
                                                                              "true or false")])
        return text.lower() == "true"
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput(f"{option} is not valid JSON", [FieldError(
            option, "give JSON, e.g. '{\"retries\": 3}', '[1, 2]' or '\"text\"'")]) from None


def _stdin() -> str:
    return sys.stdin.read().rstrip("\n")


def checked_name(name: str) -> str:
    if len(name) > 100 or not re.match(BLOCK_NAME_PATTERN, name):
        raise InvalidInput(f"{name!r} is not a valid block name", [FieldError(
            "NAME", BLOCK_NAME_ADVICE)])
    return name


def split_slug(slug: str) -> tuple[str, str]:
    """`TYPE/NAME` (as `block ls` shows them), each part checked."""
    kind, sep, name = slug.partition("/")
    if not sep:
        raise InvalidInput(f"{slug!r} does not name a block", [FieldError(
            "TYPE/NAME", "give the type and the name, e.g. secret/my-token")])
    block_type(kind, "TYPE/NAME")
    return kind, checked_name(name)


def _print_block(block: Block) -> None:
    print_fields([("block", block.full_name), *[(f"  {k}", v) for k, v in block.data.items()],
                  ("secret fields", ", ".join(block.secret_fields) or "-"),
                  ("created", block.created), ("updated", block.updated)])


def _field_label(field) -> str:
    return field.name + (" (secret)" if field.secret else "") + ("*" if field.required else "")


def _shortened(text: str) -> str:
    return text if len(text) <= LISTED_DATA_CHARS else text[:LISTED_DATA_CHARS - 3] + "..."

