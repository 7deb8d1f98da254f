"""Helpers shared by the commands: the API client and JSON option parsing."""
from __future__ import annotations

import json
from typing import Any

from ..client import FlowpoolClient
from ..errors import FieldError, InvalidInput
from ..parameters import parse_assignments


def client() -> FlowpoolClient:
    """A client that fails fast: a person at a terminal should not wait for retries."""
    return FlowpoolClient.from_settings(retry_for_s=0)


def parse_json_object(text: str | None, option: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{option} is not valid JSON: {exc}", [FieldError(
            option, """give a JSON object, e.g. '{"repo": "flowpool"}'""")]) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object", [FieldError(
            option, """give a JSON object, e.g. '{"repo": "flowpool"}'""")])
    return value


def merged_parameters(assignments: list[str] | None, params_json: str | None) -> dict[str, Any]:
    """`--params '{...}'` first, then each `-p k=v` on top."""
    return {**parse_json_object(params_json, "--params"), **parse_assignments(assignments, "--param")}
