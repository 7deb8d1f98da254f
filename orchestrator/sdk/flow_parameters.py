"""A flow run's arguments checked against its signature and coerced to its types, as a
deployed run's parameters are (a dict becomes the pydantic model a parameter is typed with).

Arguments that already are what their plain annotation says (an `int` for `x: int`, anything
for an unannotated parameter) need no check, so most calls never build the pydantic model.
"""
from __future__ import annotations

import inspect
from typing import Any

_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_PLAIN_TYPES = (int, str, float, bool, type(None))


def coerce_arguments(flow: Any, arguments: dict[str, Any]) -> None:
    """Coerce `arguments` in place; InvalidInput naming each one that does not fit."""
    names = [name for name, parameter in flow.signature.parameters.items()
             if parameter.kind not in _SKIPPED_KINDS]
    hints = _type_hints(flow)
    if all(_fits_plainly(arguments[name], hints.get(name, Any)) for name in names):
        return
    from ..parameters import coerce_parameters

    arguments.update(coerce_parameters(flow.fn, {name: arguments[name] for name in names}))


def _fits_plainly(value: Any, hint: Any) -> bool:
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    return hint in _PLAIN_TYPES and type(value) is hint


def _type_hints(flow: Any) -> dict[str, Any]:
    hints = getattr(flow, "_type_hints", None)
    if hints is None:
        import typing

        try:
            hints = typing.get_type_hints(flow.fn)
        except Exception:  # noqa: BLE001 - unresolvable forward references: check them all
            hints = {name: object for name in flow.signature.parameters}
        flow._type_hints = hints
    return hints
