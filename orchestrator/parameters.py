"""Flow parameters: the JSON schema built from a signature, validation, and `k=v` parsing."""
from __future__ import annotations

import functools
import inspect
import json
from typing import Any, Callable

from .errors import FieldError, InvalidInput

SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@functools.lru_cache(maxsize=256)
def _signature_model(fn: Callable[..., Any]):
    """A pydantic model with one field per parameter of `fn` (made once per function)."""
    from pydantic import ConfigDict, create_model

    fields: dict[str, Any] = {}
    hints = _type_hints(fn)
    for param in inspect.signature(fn).parameters.values():
        if param.kind in SKIPPED_KINDS:
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")
    return create_model(f"{fn.__name__}_parameters", __config__=config, **fields)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to untyped
        return {}


def parameter_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """The JSON schema of `fn`'s parameters: types, defaults, required, nested models."""
    schema = _signature_model(fn).model_json_schema()
    schema["title"] = "Parameters"
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    return schema


def validate_against_schema(parameters: dict[str, Any], schema: dict[str, Any]) -> None:
    """Raise InvalidInput naming every parameter that does not fit `schema`."""
    if not schema:
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = [_field_error(e, schema) for e in validator.iter_errors(parameters)]
    if errors:
        errors.sort(key=lambda e: e.field)
        raise InvalidInput("invalid parameters", errors)


def _field_error(error, schema: dict[str, Any]) -> FieldError:
    if error.context:  # anyOf/oneOf: report the deepest branch's problem, not "no schema matched"
        from jsonschema.exceptions import best_match

        depth = max(len(e.absolute_path) for e in error.context)
        error = best_match(e for e in error.context if len(e.absolute_path) == depth)
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties" and not path:
        known = ", ".join(sorted(schema.get("properties", {}))) or "none"
        extra = sorted(set(error.instance) - set(schema.get("properties", {})))
        return FieldError(", ".join(extra), f"unknown parameter; the flow takes: {known}")
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = f"{path}.{missing}" if path else missing
        return FieldError(field, "required parameter is missing")
    return FieldError(path or "parameters", error.message)


def coerce_parameters(fn: Callable[..., Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Validate `parameters` against `fn`'s signature and return them coerced to its types."""
    from pydantic import ValidationError

    model = _signature_model(fn)
    try:
        validated = model.model_validate(parameters)
    except ValidationError as exc:
        errors = [FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidInput("invalid parameters", errors) from None
    return {name: getattr(validated, name) for name in type(validated).model_fields}


def parse_assignment(text: str, option: str = "--param") -> tuple[str, Any]:
    """Parse `k=v`: `v` is JSON when it parses as JSON, else the plain string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise InvalidInput(f"{option} {text!r} is not of the form key=value",
                           [FieldError(option, "write it as key=value, e.g. repo=flowpool")])
    try:
        return key.strip(), json.loads(raw)
    except ValueError:
        return key.strip(), raw


def parse_assignments(items: list[str] | None, option: str = "--param") -> dict[str, Any]:
    return dict(parse_assignment(item, option) for item in items or [])
