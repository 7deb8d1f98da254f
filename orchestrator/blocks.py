"""Blocks as project files see them: `{{ flowpool.blocks.TYPE.NAME }}` (or Prefect's
`{{ prefect.blocks.TYPE.NAME }}`) is the block's data, and `...TYPE.NAME.FIELD` one field of it.

As in Prefect, a block whose only field is `value` (secret, json) stands for that value, so
`{{ prefect.blocks.secret.token }}` is the token itself. Filled in at deploy time for the
build and push steps and the deployment's fields, and at run time, where the run executes,
for the pull steps, so a secret in a pull step is never stored with the deployment. In job
variables they are left for the worker, which fills them in as it renders the job
(`fill_blocks`), so a secret there is not stored with the deployment either.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import InvalidInput
from .models.blocks import REFERENCE_ADVICE, BlockReference, block_value, secret_texts

if TYPE_CHECKING:
    from .client import FlowpoolClient


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


def missing_block_advice(reference_text: str) -> str:
    try:
        reference = BlockReference.parse(reference_text)
    except InvalidInput:
        return REFERENCE_ADVICE
    return (f"block {reference.type}/{reference.name} does not exist: create it with "
            f"`flowpool block create {reference.type} {reference.name} ...` "
            f"(`flowpool block type ls` shows each type's fields)")

