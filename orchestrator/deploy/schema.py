"""The format of `flowpool.yaml` (the same as `prefect.yaml`), as pydantic models.

Validation errors name the field and its line. Keys the format does not know are not
refused (real files carry typos and leftovers from older Prefect versions) but each one is
reported as a warning by name, with a suggestion when it looks like a known key.
Schedules are kept as written here; the schedule models validate them at deploy time.
"""
from __future__ import annotations

import difflib
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, \
    field_validator, model_validator

from ..errors import PATTERN_ADVICE, InvalidInput
from ..models.base import NAME_ADVICE
from ..steps.diagnostics import LineIndex, Loc, ProjectWarning, field_error, warning
from .yamlfile import YamlDocument


def _number_as_text(value: Any) -> Any:
    """`version: 1.0` and `tags: [2024]` are text in the file's meaning, not numbers."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_number_as_text)]
StepList = list[Any]


class FileModel(BaseModel):
    """A mapping of the file: `null` means "not given", unknown keys are reported separately."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class ConcurrencyLimit(FileModel):
    """At most `limit` runs of the deployment at once; what to do with one more."""

    limit: int = Field(ge=1)
    collision_strategy: Literal["ENQUEUE", "CANCEL_NEW"] = "ENQUEUE"
    grace_period_seconds: int | None = Field(default=None, ge=60, le=86400)


class WorkPoolSection(FileModel):
    name: Text | None = None
    work_queue_name: Text | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)


class DeploymentDeclaration(FileModel):
    """One entry of `deployments:` as written (placeholders not yet rendered)."""

    name: Text | None = None
    version: Text | None = None
    tags: list[Text] = Field(default_factory=list)
    description: str | None = None
    entrypoint: str | None = None
    flow_name: Text | None = None  # Prefect 2 leftover: used only to select FLOW/NAME
    parameters: dict[str, Any] = Field(default_factory=dict)
    enforce_parameter_schema: bool | None = None
    schedule: Any = None
    schedules: Any = None
    concurrency_limit: ConcurrencyLimit | None = None
    paused: bool | None = None
    work_pool: WorkPoolSection = Field(default_factory=WorkPoolSection)
    build: StepList | None = None
    push: StepList | None = None
    pull: StepList | None = None
    triggers: Any = None  # event triggers: become automations (deploy/triggers.py)

    @field_validator("concurrency_limit", mode="before")
    @classmethod
    def _limit_as_number(cls, value: Any) -> Any:
        return {"limit": value} if isinstance(value, int) and not isinstance(value, bool) else value

    def is_blank(self) -> bool:
        """An entry with neither name nor entrypoint: the skeleton `prefect init` writes."""
        return not self.name and not self.entrypoint


class ProjectFile(FileModel):
    name: Text | None = None
    prefect_version: Any = Field(default=None, alias="prefect-version")  # accepted, ignored
    description: str | None = None  # recipe metadata
    required_inputs: dict[str, Any] | None = None  # recipe metadata
    definitions: Any = None  # a place for anchors; read through the aliases that use them
    build: StepList | None = None
    push: StepList | None = None
    pull: StepList | None = None
    deployments: list[DeploymentDeclaration] = Field(default_factory=list)


# Keys users put in the wrong place, and where they belong.
MISPLACED = {
    "work_queue_name": "write it under work_pool: (work_pool.work_queue_name)",
    "job_variables": "write it under work_pool: (work_pool.job_variables)",
    "is_schedule_active":
        "write `active: false` on a schedule, or `paused: true` on the deployment",
    "is_paused": "write `paused: true` on the deployment",
    "infrastructure": "infrastructure blocks are gone: use work_pool.job_variables",
}


def parse_project(document: YamlDocument, source: str) -> tuple[ProjectFile, list[ProjectWarning]]:
    """Validate a parsed project file; raise InvalidInput naming every bad field and its line."""
    if document.data is None:
        raise InvalidInput(f"{source} is empty", [field_error(
            (), "add a deployments: list (flowpool init writes a starting point)", None)])
    if not isinstance(document.data, dict):
        raise InvalidInput(f"{source} is not a project file", [field_error(
            (), "the file must be a mapping with keys such as deployments:, build:, pull:",
            document.lines)])
    try:
        project = ProjectFile.model_validate(document.data)
    except ValidationError as exc:
        raise InvalidInput(f"{source} is not a valid project file", [
            field_error(tuple(e["loc"]), describe_error(e), document.lines) for e in exc.errors()
        ]) from None
    found = unknown_keys(ProjectFile, document.data, (), document.lines)
    return project, document.warnings + found + unsupported_keys(project, document.lines)


def describe_error(error: dict[str, Any]) -> str:
    """pydantic's message, said in terms of the file."""
    kind, value = error["type"], error.get("input")
    expected = {"list_type": "a list", "dict_type": "a mapping (key: value lines)",
                "string_type": "text", "int_type": "a whole number",
                "int_parsing": "a whole number",
                "bool_type": "true or false", "bool_parsing": "true or false",
                "model_type": "a mapping (key: value lines)"}.get(kind)
    if expected:
        return f"expected {expected}, got {_describe_value(value)}"
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        return f"{value!r} is not a valid name: {PATTERN_ADVICE.get(pattern, NAME_ADVICE)}"
    if kind == "literal_error":
        message = error["msg"]
        return f"{message[:1].lower()}{message[1:]}, got {_describe_value(value)}"
    return error["msg"]


def _describe_value(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def unknown_keys(model: type[BaseModel], data: Any, loc: Loc,
                 lines: LineIndex) -> list[ProjectWarning]:
    """A warning for every key of `data` that `model` (and its nested models) does not know."""
    if not isinstance(data, dict):
        return []
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    warnings = []
    for key, value in data.items():
        if key not in fields:
            warnings.append(warning(loc + (key,), _unknown_key_message(str(key), fields), lines))
            continue
        nested = _nested_model(fields[key].annotation)
        if nested and isinstance(value, list):
            for position, item in enumerate(value):
                warnings += unknown_keys(nested, item, loc + (key, position), lines)
        elif nested:
            warnings += unknown_keys(nested, value, loc + (key,), lines)
    return warnings


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The FileModel inside `X`, `X | None` or `list[X]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, FileModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _nested_model(argument)
        if found:
            return found
    return None


def _unknown_key_message(key: str, known: dict[str, Any]) -> str:
    if key in MISPLACED:
        return f"unknown key, ignored: {MISPLACED[key]}"
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown key, ignored{hint}"


def unsupported_keys(project: ProjectFile, lines: LineIndex) -> list[ProjectWarning]:
    """Keys Prefect knows and flowpool does not act on (none at the moment: `triggers:`
    become automations)."""
    return []
