"""What a deployment needs to know about its flow: name, description, version, parameters.

`deploy` imports the flow (as the spine's deploy does) to read them from the decorator, the
docstring and the signature. A plan can also be made from the file alone, when the flow's
code is not at hand; then the flow's name is guessed from the entrypoint and the parameter
schema is left empty.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import InvalidInput


@dataclass(frozen=True)
class FlowFacts:
    name: str | None
    description: str | None = None
    version: str | None = None
    parameter_schema: dict[str, Any] = field(default_factory=dict)
    imported: bool = False
    # the decorator's run options, for the deployment's defaults
    retries: int = 0
    retry_delay_seconds: float | list[float] = 0
    timeout_seconds: float | None = None


def import_flow_facts(entrypoint: str, root: Path) -> FlowFacts:
    """Import the flow at `entrypoint` (relative to `root`); EntrypointError when it cannot be."""
    from ..entrypoints import load_flow
    from ..parameters import parameter_schema

    with _importable_from(root):
        flow = load_flow(entrypoint, root)
    return FlowFacts(flow.name, flow.description, flow.version, parameter_schema(flow.fn),
                     imported=True, retries=flow.retries,
                     retry_delay_seconds=flow.retry_delay_seconds,
                     timeout_seconds=flow.timeout_seconds)


def guessed_flow_facts(entrypoint: str | None, flow_name: str | None) -> FlowFacts:
    """The flow's default name from the file alone: `flow_name:`, else the function's name."""
    if flow_name:
        return FlowFacts(flow_name)
    if not entrypoint:
        return FlowFacts(None)
    function = entrypoint.rpartition(":" if ":" in entrypoint else ".")[2]
    return FlowFacts(function.replace("_", "-") or None)


def default_parameter_problems(parameters: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Defaults that do not fit the flow's signature; required ones may still come per run."""
    from ..parameters import validate_against_schema

    try:
        validate_against_schema(parameters, schema)
    except InvalidInput as exc:
        return [str(e) for e in exc.errors if e.message != "required parameter is missing"]
    return []


@contextmanager
def _importable_from(root: Path) -> Iterator[None]:
    """Let a module-style entrypoint (`pkg.flows:main`) import from the project's root."""
    entry = str(root)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        if entry in sys.path:
            sys.path.remove(entry)
