"""Fill in `{{ ... }}` placeholders from step outputs, the environment, flowpool variables and
blocks.

A `Scope` says what can be resolved at one moment. Deploy time knows the build and push
outputs; run time knows the environment and variables of the run's infrastructure and the
pull steps' own outputs. Whatever a scope cannot know yet is left as written, for later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import FieldError, InvalidInput, NotFound
from ..templating import render as render_placeholders
from .diagnostics import Loc, format_path
from .references import Reference, input_advice, parse_reference

VariableResolver = Callable[[str], Any]
"""Returns a flowpool variable's value; raises KeyError or NotFound when it is not set."""

BlockResolver = Callable[[str], Any]
"""Returns what `TYPE.NAME[.FIELD]` stands for (orchestrator.blocks.ServerBlocks); raises
NotFound for a missing block, KeyError for a missing field, InvalidInput for a bad reference."""


@dataclass
class Scope:
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    environ: Mapping[str, str] | None = None  # None: leave {{ $NAME }} for later
    variables: VariableResolver | None = None  # None: leave variables for later
    blocks: BlockResolver | None = None  # None: leave blocks for later
    later_steps: bool = False  # True: an id not in `outputs` belongs to a step that runs later
    lenient: bool = False  # True: an unset env var or variable is left and noted, not an error
    notes: list[tuple[Loc, str]] = field(default_factory=list)  # what lenient mode left


class Unresolvable(Exception):
    """A placeholder that cannot be resolved, with the reason."""


def render(template: Any, loc: Loc, scope: Scope) -> Any:
    """`template` with its placeholders resolved; InvalidInput names every one that cannot be."""
    errors: list[FieldError] = []
    rendered = _render_value(template, loc, scope, errors)
    if errors:
        raise InvalidInput("cannot fill in the placeholders", errors)
    return rendered


def _render_value(value: Any, loc: Loc, scope: Scope, errors: list[FieldError]) -> Any:
    if isinstance(value, dict):
        return {key: _render_value(item, loc + (key,), scope, errors)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, loc + (i,), scope, errors) for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value
    try:
        return render_placeholders(value, lambda text: resolve(parse_reference(text), loc, scope))
    except Unresolvable as exc:
        errors.append(FieldError(format_path(loc), str(exc)))
        return value


def resolve(reference: Reference, loc: Loc, scope: Scope) -> Any:
    if reference.kind == "step":
        return _step_output(reference, scope)
    if reference.kind == "env":
        if scope.environ is None:
            return reference.placeholder
        if reference.name in scope.environ:
            return scope.environ[reference.name]
        return _missing(scope, loc, reference, f"environment variable {reference.name} is not set")
    if reference.kind == "variable":
        return _variable(reference, loc, scope)
    if reference.kind == "block":
        return _block(reference, loc, scope)
    raise Unresolvable(input_advice(reference))


def _step_output(reference: Reference, scope: Scope) -> Any:
    if reference.name not in scope.outputs:
        if scope.later_steps:
            return reference.placeholder
        known = ", ".join(sorted(scope.outputs)) or "none"
        raise Unresolvable(f"{reference.placeholder}: no earlier step has id {reference.name!r} "
                           f"(step ids with outputs so far: {known})")
    value: Any = scope.outputs[reference.name]
    for part in reference.key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            keys = ", ".join(sorted(scope.outputs[reference.name])) or "none"
            raise Unresolvable(f"{reference.placeholder}: step {reference.name!r} has no output "
                               f"{reference.key!r} (its outputs: {keys})")
        value = value[part]
    return value


def _variable(reference: Reference, loc: Loc, scope: Scope) -> Any:
    if scope.variables is None:
        return reference.placeholder
    try:
        return scope.variables(reference.name)
    except (KeyError, NotFound):
        return _missing(scope, loc, reference, f"variable {reference.name} is not set "
                                               f"(flowpool variable set {reference.name} VALUE)")


def _block(reference: Reference, loc: Loc, scope: Scope) -> Any:
    from ..blocks import missing_block_advice

    if scope.blocks is None:
        return reference.placeholder
    try:
        return scope.blocks(reference.name)
    except NotFound:
        return _missing(scope, loc, reference, missing_block_advice(reference.name))
    except KeyError as exc:
        raise Unresolvable(f"{reference.placeholder}: {exc.args[0]}") from None
    except InvalidInput as exc:
        raise Unresolvable(f"{reference.placeholder}: {exc.errors[0].message}") from None


def _missing(scope: Scope, loc: Loc, reference: Reference, reason: str) -> str:
    if not scope.lenient:
        raise Unresolvable(reason)
    scope.notes.append((loc, f"{reason}; {reference.placeholder} left as written"))
    return reference.placeholder


