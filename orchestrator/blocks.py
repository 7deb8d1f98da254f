"""Blocks as project files see them: `{{ flowpool.blocks.TYPE.NAME }}` (or Prefect's
`{{ prefect.blocks.TYPE.NAME }}`) is the block's data, and `...TYPE.NAME.FIELD` one field of it.

As in Prefect, a block whose only field is `value` (secret, json) stands for that value, so
`{{ prefect.blocks.secret.token }}` is the token itself. Filled in at deploy time for the
build and push steps and the deployment's fields, and at run time, where the run executes,
for the pull steps, so a secret in a pull step is never stored with the deployment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import FieldError, InvalidInput

if TYPE_CHECKING:
    from .client import FlowpoolClient

_REFERENCE = re.compile(r"^(?P<type>[a-z0-9][a-z0-9-]*)\.(?P<name>[a-z0-9][a-z0-9-]*)"
                        r"(?:\.(?P<field>[A-Za-z0-9_.-]+))?$")
REFERENCE_ADVICE = "write {{ flowpool.blocks.TYPE.NAME }} or {{ flowpool.blocks.TYPE.NAME.FIELD }}"


@dataclass(frozen=True)
class BlockReference:
    type: str
    name: str
    field: str | None = None  # a dotted path into the block's data

    @classmethod
    def parse(cls, text: str) -> "BlockReference":
        """`TYPE.NAME[.FIELD]`, the part after `flowpool.blocks.`."""
        match = _REFERENCE.match(text.strip())
        if match is None:
            raise InvalidInput(f"{text!r} does not name a block", [FieldError(
                "placeholder", REFERENCE_ADVICE)])
        return cls(match["type"], match["name"], match["field"])


def block_value(data: dict[str, Any], reference: BlockReference) -> Any:
    """What a reference stands for in a block's data (see the module's docstring)."""
    if reference.field is None:
        return data["value"] if set(data) == {"value"} else data
    value: Any = data
    for part in reference.field.split("."):
        if not isinstance(value, dict) or part not in value:
            fields = ", ".join(sorted(data)) or "none"
            raise KeyError(f"block {reference.type}/{reference.name} has no field "
                           f"{reference.field!r} (its fields: {fields})")
        value = value[part]
    return value


class ServerBlocks:
    """A BlockResolver (orchestrator.steps.rendering) backed by the API: each block is read
    once, with its secrets, so a deploy or a run sees one version of it.

    A block that does not exist raises NotFound, which the templating turns into an error
    naming the placeholder and how to create the block."""

    def __init__(self, client: "FlowpoolClient", secrets: set[str] | None = None):
        self._client = client
        self._data: dict[tuple[str, str], dict[str, Any]] = {}
        self.secrets = secrets if secrets is not None else set()  # what logs must mask

    def __call__(self, text: str) -> Any:
        reference = BlockReference.parse(text)
        key = (reference.type, reference.name)
        if key not in self._data:
            block = self._client.read_block(*key, include_secrets=True)
            self.secrets.update(secret_texts(block.data, block.secret_fields))
            self._data[key] = block.data
        return block_value(self._data[key], reference)


def secret_texts(data: dict[str, Any], secret_fields: list[str]) -> list[str]:
    """The secret fields' values as they could appear in output (text, or JSON text)."""
    import json

    values = [data.get(name) for name in secret_fields]
    return [v if isinstance(v, str) else json.dumps(v) for v in values if v is not None]


def missing_block_advice(reference_text: str) -> str:
    try:
        reference = BlockReference.parse(reference_text)
    except InvalidInput:
        return REFERENCE_ADVICE
    return (f"block {reference.type}/{reference.name} does not exist: create it with "
            f"`flowpool block create {reference.type} {reference.name} ...` "
            f"(`flowpool block type ls` shows each type's fields)")

