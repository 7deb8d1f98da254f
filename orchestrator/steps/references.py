"""What a `{{ ... }}` placeholder in a project file refers to.

- `{{ STEP_ID.KEY }}`: an output of an earlier step
- `{{ $NAME }}`: an environment variable
- `{{ flowpool.variables.NAME }}` or `{{ prefect.variables.NAME }}`: a flowpool variable
- `{{ flowpool.blocks.TYPE.NAME[.FIELD] }}` or `{{ prefect.blocks.TYPE.NAME[.FIELD] }}`: a block
- `{{ NAME }}` with no dot: a recipe input nobody filled in
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Literal

from ..models.blocks import BLOCK_PREFIXES
from ..templating import PLACEHOLDER
from .diagnostics import Loc

VARIABLE_PREFIXES = ("flowpool.variables.", "prefect.variables.")

Kind = Literal["step", "env", "variable", "block", "input"]


@dataclass(frozen=True)
class Reference:
    kind: Kind
    text: str  # what is between the braces
    name: str  # the step id, environment variable, variable, block or input name
    key: str | None = None  # for a step output: the output key (a dotted path)

    @property
    def placeholder(self) -> str:
        return "{{ " + self.text + " }}"


def parse_reference(text: str) -> Reference:
    text = text.strip()
    if text.startswith("$"):
        return Reference("env", text, text[1:])
    for prefix in VARIABLE_PREFIXES:
        if text.startswith(prefix):
            return Reference("variable", text, text[len(prefix):])
    for prefix in BLOCK_PREFIXES:
        if text.startswith(prefix):
            return Reference("block", text, text[len(prefix):])
    if "." in text:
        step_id, _, key = text.partition(".")
        return Reference("step", text, step_id, key)
    return Reference("input", text, text)


def string_leaves(template: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every string inside a nested structure, with its path."""
    if isinstance(template, str):
        yield loc, template
    elif isinstance(template, dict):
        for key, value in template.items():
            yield from string_leaves(value, loc + (key,))
    elif isinstance(template, list):
        for position, value in enumerate(template):
            yield from string_leaves(value, loc + (position,))


def references_in(template: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Reference]]:
    """Every placeholder inside a nested structure, parsed, with the path of its string."""
    for leaf_loc, text in string_leaves(template, loc):
        for inner in PLACEHOLDER.findall(text):
            yield leaf_loc, parse_reference(inner)


def has_placeholder(value: Any) -> bool:
    return any(True for _ in references_in(value))


def input_advice(reference: Reference) -> str:
    return (f"{reference.placeholder} is not a step output, variable or environment variable; "
            f"it looks like a recipe input nobody filled in: replace it with a value "
            f"(flowpool init --field {reference.name}=...), or write {{{{ STEP_ID.KEY }}}}, "
            "{{ $ENV_VAR }} or {{ flowpool.variables.NAME }}")
