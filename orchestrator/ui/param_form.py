"""The custom-run form, generated from a deployment's parameter JSON schema: strings, numbers
and booleans as inputs, enums as selects, and lists, objects and models as JSON fields. What
is sent back is read into typed parameters and validated against the same schema the API
uses, each error shown beside its field."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import FieldError, InvalidInput
from ..parameters import validate_against_schema

PREFIX = "param."
TEXT, INTEGER, NUMBER, BOOLEAN, CHOICE, JSON = "text", "integer", "number", "boolean", "choice", "json"
_SIMPLE = {"string": TEXT, "integer": INTEGER, "number": NUMBER, "boolean": BOOLEAN}


@dataclass
class Field:
    name: str
    kind: str
    label: str
    required: bool
    value: str  # as the input shows it
    description: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value sent, label)
    error: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def checked(self) -> bool:
        return self.value == "true"


def build_fields(schema: dict[str, Any], values: dict[str, Any]) -> list[Field]:
    """One field per parameter, in the signature's order, showing `values` (the deployment's
    parameters) or else the schema's default."""
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        resolved, nullable = _resolve(prop, schema)
        kind = _kind(resolved)
        shown = values[name] if name in values else prop.get("default", resolved.get("default"))
        fields.append(Field(
            name=name, kind=kind, label=prop.get("title") or name.replace("_", " ").capitalize(),
            required=name in required and not nullable, value=_shown(kind, shown, name in values
                                                                     or "default" in prop),
            description=prop.get("description") or resolved.get("description") or "",
            choices=[(json.dumps(v), str(v)) for v in resolved.get("enum", [])]))
    return fields


def _resolve(prop: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A property's own schema, a local `$ref` followed and `X | None` unwrapped to X."""
    nullable = False
    options = prop.get("anyOf") or prop.get("oneOf")
    if options:
        others = [o for o in options if o.get("type") != "null"]
        nullable = len(others) < len(options)
        if len(others) == 1:
            prop = others[0]
    ref = prop.get("$ref", "")
    if ref.startswith("#/$defs/"):
        prop = schema.get("$defs", {}).get(ref.rsplit("/", 1)[-1], prop)
    return prop, nullable


def _kind(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return CHOICE
    return _SIMPLE.get(prop.get("type"), JSON) if isinstance(prop.get("type"), str) else JSON


def _shown(kind: str, value: Any, has_value: bool) -> str:
    if not has_value or (value is None and kind != JSON):
        return ""
    if kind == BOOLEAN:
        return "true" if value else "false"
    if kind == CHOICE or kind == JSON:
        return json.dumps(value, ensure_ascii=False) if kind == CHOICE else json.dumps(
            value, indent=2, ensure_ascii=False)
    return str(value)


def read_parameters(fields: list[Field], form, schema: dict[str, Any],
                    base: dict[str, Any]) -> dict[str, Any]:
    """The parameters the form sends, typed, and validated over `base` (the deployment's
    parameters, which a run starts from) against `schema`. On any error, the fields carry
    their messages (and what was typed) and InvalidInput is raised."""
    parameters: dict[str, Any] = {}
    for item in fields:
        raw = form.get(item.input_name)
        item.value = ("true" if raw else "false") if item.kind == BOOLEAN else raw
        try:
            present, value = _parse(item, raw)
        except ValueError as exc:
            item.error = str(exc)
            continue
        if present:
            parameters[item.name] = value
    if schema:  # every field's problem at once: a typing error does not hide another's
        _validate(fields, {**base, **parameters}, schema)
    errors = [FieldError(item.name, item.error) for item in fields if item.error]
    if errors:
        raise InvalidInput("invalid parameters", errors)
    return parameters


def _parse(item: Field, raw: str) -> tuple[bool, Any]:
    """(whether the field gives a value, the value); ValueError says what is wrong."""
    if item.kind == BOOLEAN:
        return True, bool(raw)
    if raw.strip() == "":
        return False, None  # left empty: the deployment's value or the flow's default
    if item.kind == INTEGER:
        try:
            return True, int(raw.strip())
        except ValueError:
            raise ValueError("enter a whole number, e.g. 3") from None
    if item.kind == NUMBER:
        try:
            number = float(raw.strip())
        except ValueError:
            raise ValueError("enter a number, e.g. 2.5") from None
        if not math.isfinite(number):
            raise ValueError("enter a finite number")
        return True, number
    if item.kind in (CHOICE, JSON):
        try:
            return True, json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
    return True, raw


def _validate(fields: list[Field], parameters: dict[str, Any], schema: dict[str, Any]) -> None:
    """The schema's own messages, each put beside the field its path starts with (a field
    that could not be read has its message already, and gets no second one)."""
    by_name = {item.name: item for item in fields}
    unread = {item.name for item in fields if item.error}
    try:
        validate_against_schema(parameters, schema)
    except InvalidInput as exc:
        for error in exc.errors:
            head, _, rest = error.field.partition(".")
            target = by_name.get(head)
            if target is None:
                raise
            if head in unread:
                continue
            message = f"{rest}: {error.message}" if rest else error.message
            target.error = f"{target.error}; {message}" if target.error else message
