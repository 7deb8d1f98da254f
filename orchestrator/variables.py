"""Variables as project files and the CLI see them.

`{{ flowpool.variables.NAME }}` (or Prefect's `{{ prefect.variables.NAME }}`) in a project
file is filled in from the server's variables: at deploy time for the build and push steps
and the deployment's fields, at run time, where the run executes, for the pull steps.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import FlowpoolClient


def parse_variable_value(text: str) -> Any:
    """What `flowpool variable set NAME VALUE` stores: VALUE as JSON when it is JSON
    (`42`, `true`, `{"a": 1}`, `"quoted"`), else the text itself (`main`, `s3://bucket`)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class ServerVariables:
    """A VariableResolver (orchestrator.steps.rendering) backed by the API: each name is asked for
    once, so a deploy or a run sees one value per variable however often it is used.

    A variable that is not set raises NotFound, which the templating turns into an error
    naming the placeholder and how to set it.
    """

    def __init__(self, client: "FlowpoolClient"):
        self._client = client
        self._values: dict[str, Any] = {}

    def __call__(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = self._client.read_variable(name).value
        return self._values[name]
