"""Base job templates: validate job variables and render a job configuration from them.

A template has `variables` (a JSON schema whose properties carry defaults) and
`job_configuration` (a structure referencing them as `{{ name }}`). The rendered job takes
the defaults, then the deployment's job variables, then the run's.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import FieldError, InvalidInput
from .templating import render


@lru_cache(maxsize=None)
def _default_template_text(worker_type: str) -> str:
    try:
        return resources.files("config").joinpath(f"job_templates/{worker_type}.json").read_text()
    except FileNotFoundError:
        raise InvalidInput(f"unknown worker type {worker_type!r}", [FieldError(
            "type", "use one of: process, docker, kubernetes")]) from None


def default_base_job_template(worker_type: str) -> dict[str, Any]:
    return json.loads(_default_template_text(worker_type))


def check_base_job_template(template: dict[str, Any]) -> None:
    """Refuse a template that lacks its two sections or references undeclared variables."""
    from .templating import placeholders

    errors = [FieldError(key, "missing section") for key in ("job_configuration", "variables")
              if not isinstance(template.get(key), dict)]
    if errors:
        raise InvalidInput("invalid base job template", errors)
    declared = set(template["variables"].get("properties", {}))
    unknown = sorted(set(placeholders(template["job_configuration"])) - declared)
    if unknown:
        raise InvalidInput("invalid base job template", [FieldError(
            "job_configuration", f"references undeclared variables: {', '.join(unknown)}")])


def validate_job_variables(template: dict[str, Any], variables: dict[str, Any],
                           source: str = "job_variables") -> None:
    """Raise InvalidInput naming each unknown variable or value of the wrong type."""
    import jsonschema

    schema = dict(template.get("variables", {}))
    schema["additionalProperties"] = False
    schema.pop("required", None)  # required variables are satisfied by defaults at render time
    known = ", ".join(sorted(schema.get("properties", {})))
    errors = []
    for error in jsonschema.Draft202012Validator(schema).iter_errors(variables):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "additionalProperties" and not path:
            for name in sorted(set(error.instance) - set(schema.get("properties", {}))):
                errors.append(FieldError(f"{source}.{name}",
                                         f"unknown job variable; this pool takes: {known}"))
        else:
            errors.append(FieldError(f"{source}.{path}", error.message))
    if errors:
        raise InvalidInput("invalid job variables", errors)


def variable_values(template: dict[str, Any], *overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults from the template's variable schema, overlaid by each override in order."""
    values = {name: prop.get("default") for name, prop in
              template.get("variables", {}).get("properties", {}).items()}
    for override in overrides:
        values.update(override or {})
    return values


def render_job_configuration(template: dict[str, Any], *overrides: dict[str, Any]) -> dict[str, Any]:
    values = variable_values(template, *overrides)
    return render(template.get("job_configuration", {}), lambda name: values.get(name))
