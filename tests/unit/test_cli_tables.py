"""The one shape of every `ls`: a table with a header line for people, the items as JSON for
programs."""
from __future__ import annotations

import json

from pydantic import BaseModel

from orchestrator.cli.output import Output, show_table


class Pool(BaseModel):
    name: str
    limit: int | None = None


POOLS = [Pool(name="etl", limit=4), Pool(name="call api")]


def test_a_table_has_a_header_and_a_row_an_item_with_dashes_for_none(capsys):
    show_table(POOLS, Output.table, ["name", "limit"])
    assert capsys.readouterr().out.splitlines() == [
        "NAME      LIMIT", "etl       4", "call api  -"]


def test_a_row_function_shapes_the_cells_and_json_keeps_the_items_whole(capsys):
    show_table(POOLS, Output.table, ["name", "slots"],
               lambda p: {"name": p.name.upper(), "slots": p.limit})
    assert capsys.readouterr().out.splitlines()[1] == "ETL       4"
    show_table(POOLS, Output.json, ["name"])
    assert json.loads(capsys.readouterr().out) == [{"name": "etl", "limit": 4},
                                                   {"name": "call api", "limit": None}]


def test_an_empty_list_says_none(capsys):
    show_table([], Output.table, ["name"])
    assert capsys.readouterr().out.splitlines() == ["NAME", "(none)"]
