"""The custom-run form is generated from the parameter schema `flowpool deploy` stores, and
reads what a person typed back into typed, validated parameters."""
from __future__ import annotations

import json
from enum import Enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel

from orchestrator.errors import InvalidInput
from orchestrator.parameters import parameter_schema
from orchestrator.ui.forms_security import FormData
from orchestrator.ui.param_form import build_fields, read_parameters


class Color(str, Enum):
    RED = "red"
    BLUE = "blue"


class Window(BaseModel):
    start: int
    end: int


def report(source: str, limit: int = 5, ratio: float = 0.5, dry_run: bool = False,
           color: Color = Color.RED, level: Literal["low", "high"] = "low",
           tables: list[str] = [], window: Optional[Window] = None, note: Optional[str] = None,
           span: Window = Window(start=0, end=1)):
    pass


SCHEMA = parameter_schema(report)


def form(**values: str) -> FormData:
    return FormData({f"param.{k}": [v] for k, v in values.items()})


def by_name(fields):
    return {f.name: f for f in fields}


def test_each_type_gets_its_own_input_and_shows_the_deployment_s_values_first():
    fields = by_name(build_fields(SCHEMA, {"limit": 9}))

    assert [f.name for f in build_fields(SCHEMA, {})] == [
        "source", "limit", "ratio", "dry_run", "color", "level", "tables", "window", "note",
        "span"]
    assert {n: f.kind for n, f in fields.items()} == {
        "source": "text", "limit": "integer", "ratio": "number", "dry_run": "boolean",
        "color": "choice", "level": "choice", "tables": "json", "window": "json",
        "note": "text", "span": "json"}
    assert fields["limit"].value == "9" and fields["ratio"].value == "0.5"
    assert fields["source"].required and not fields["note"].required
    assert fields["color"].choices == [('"red"', "red"), ('"blue"', "blue")]
    assert fields["color"].value == '"red"' and fields["dry_run"].value == "false"
    assert json.loads(fields["tables"].value) == []


def test_what_is_typed_comes_back_typed():
    fields = build_fields(SCHEMA, {})
    sent = form(source="crm", limit="7", ratio="2.5", dry_run="true", color='"blue"',
                level='"high"', tables='["a", "b"]', window='{"start": 1, "end": 2}', note="",
                span="")

    parameters = read_parameters(fields, sent, SCHEMA, {})

    assert parameters == {"source": "crm", "limit": 7, "ratio": 2.5, "dry_run": True,
                          "color": "blue", "level": "high", "tables": ["a", "b"],
                          "window": {"start": 1, "end": 2}}


@pytest.mark.parametrize("typed, field, message", [
    ({"limit": "three"}, "limit", "enter a whole number"),
    ({"ratio": "nan"}, "ratio", "enter a finite number"),
    ({"tables": "[1"}, "tables", "not valid JSON"),
    ({"tables": "[1]"}, "tables", "1 is not of type 'string'"),
    ({"span": '{"start": 1}'}, "span", "end: required parameter is missing"),
    ({"source": ""}, "source", "required parameter is missing"),
])
def test_each_error_is_shown_beside_its_field(typed, field, message):
    fields = build_fields(SCHEMA, {})
    sent = form(**{"source": "crm", **typed})

    with pytest.raises(InvalidInput) as raised:
        read_parameters(fields, sent, SCHEMA, {})

    shown = by_name(fields)[field]
    assert message in shown.error
    assert shown.value == typed[field]  # what was typed stays in the field
    assert [e.field for e in raised.value.errors] == [field]
    assert [f.name for f in fields if f.error] == [field]


def test_an_empty_field_keeps_the_deployment_s_value():
    fields = build_fields(SCHEMA, {"source": "erp"})
    assert read_parameters(fields, form(source="", limit=""), SCHEMA, {"source": "erp"}) == {
        "dry_run": False}


def test_a_form_without_schema_checks_only_types():
    fields = build_fields({"properties": {"n": {"type": "integer"}}}, {})
    assert read_parameters(fields, form(n="4"), {}, {}) == {"n": 4}


def test_every_field_s_problem_is_shown_at_once():
    fields = build_fields(SCHEMA, {})
    with pytest.raises(InvalidInput) as raised:
        read_parameters(fields, form(source="crm", limit="x", tables="[1]"), SCHEMA, {})
    assert sorted(e.field for e in raised.value.errors) == ["limit", "tables"]
