"""Checks a plan makes before anything runs: required fields, names, schedules' shape, steps
that exist, and placeholders that point at something that will exist when they are filled in.
"""
from __future__ import annotations

import difflib
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import FieldError, FlowpoolError
from ..models.base import DISPLAY_NAME_ADVICE, NAME_ADVICE, DisplayName, Name
from ..steps.declarations import Step, argument_problem, is_importable, step_function, unknown_step
from ..steps.diagnostics import LineIndex, Loc, field_error
from ..steps.references import Reference, has_placeholder, input_advice, references_in
from .schema import DeploymentDeclaration

REQUIRED = {
    "name": "required: name the deployment (--name NAME, or name: in the file)",
    "entrypoint": "required: the flow to deploy, path/to/file.py:function (deploy ENTRYPOINT, "
                  "or entrypoint: in the file)",
    "work_pool.name": "required: the work pool its runs go to (--pool NAME, or "
                      "work_pool: {name: ...} in the file)",
}
NAME_FIELDS = ("name", "work_pool.name", "work_pool.work_queue_name")
_NAME = TypeAdapter(Name)
_DISPLAY_NAME = TypeAdapter(DisplayName)


def missing_fields(declaration: DeploymentDeclaration) -> list[str]:
    """The required fields a declaration lacks, as dotted paths: what a wizard must ask for."""
    return [path for path in REQUIRED if not _value_at(declaration, path)]


def required_field_errors(declaration: DeploymentDeclaration, loc: Loc,
                          lines: LineIndex | None) -> list[FieldError]:
    return [field_error(loc + tuple(path.split(".")), REQUIRED[path], lines)
            for path in missing_fields(declaration)]


def name_errors(declaration: DeploymentDeclaration, loc: Loc,
                lines: LineIndex | None) -> list[FieldError]:
    """Names that the API would refuse; a templated one is checked once it is filled in."""
    errors = []
    for path in NAME_FIELDS:
        value = _value_at(declaration, path)
        if not value or has_placeholder(value):
            continue
        if path == "name" and not is_display_name(value):
            errors.append(field_error(loc + ("name",), f"{value!r} is not a valid name:"
                                      f" {DISPLAY_NAME_ADVICE}", lines))
        elif path != "name" and not is_name(value):
            errors.append(field_error(loc + tuple(path.split(".")),
                                      f"{value!r} is not a valid name: {NAME_ADVICE}", lines))
    return errors


def _value_at(declaration: DeploymentDeclaration, path: str) -> Any:
    value: Any = declaration
    for part in path.split("."):
        value = getattr(value, part)
    return value


def is_name(value: str) -> bool:
    """Whether the API takes `value` as the name of a pool or queue."""
    return _valid(_NAME, value)


def is_display_name(value: str) -> bool:
    """Whether the API takes `value` as the name of a flow or deployment."""
    return _valid(_DISPLAY_NAME, value)


def _valid(adapter: TypeAdapter, value: str) -> bool:
    try:
        adapter.validate_python(value)
        return True
    except ValidationError:
        return False


def schedules_of(declaration: DeploymentDeclaration, loc: Loc,
                 lines: LineIndex | None) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """`schedule:` (one) or `schedules:` (a list) as one list; empty and null mean none."""
    single, errors = _as_schedule_list(declaration.schedule, loc + ("schedule",), lines)
    many, more = _as_schedule_list(declaration.schedules, loc + ("schedules",), lines)
    errors += more
    if single and many:
        errors.append(field_error(loc + ("schedule",), "give schedules: (a list) or schedule:, "
                                  "not both", lines))
    return single + many, errors


def _as_schedule_list(value: Any, loc: Loc,
                      lines: LineIndex | None) -> tuple[list[dict[str, Any]], list[FieldError]]:
    if not value:
        return [], []
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        return [], [field_error(loc, "expected a schedule mapping or a list of them", lines)]
    errors = [field_error(loc + (i,), "a schedule is a mapping such as {cron: '0 9 * * *', "
                          "timezone: UTC}", lines)
              for i, item in enumerate(items) if not isinstance(item, dict) or not item]
    return ([item for item in items if isinstance(item, dict) and item], errors)


def step_errors(steps: list[Step], runs_here: bool, lines: LineIndex | None) -> list[FieldError]:
    """Steps that could not run: unknown names, built-in steps given wrong arguments.

    Build and push steps run here, so their functions must be importable here (or installable
    through `requires`); pull steps run in the run's infrastructure, where other packages may be.
    """
    errors = []
    for step in steps:
        if step.builtin:
            problem = argument_problem(step, step_function(step))
            if problem:
                errors.append(field_error(step.loc, problem, lines))
        elif runs_here and not step.requires and not is_importable(step):
            error = unknown_step(step, f"no module named {step.name.rpartition('.')[0]}")
            errors += [field_error(step.loc, e.message, lines) for e in error.errors]
    return errors


def pull_steps_missing_here(pull: list[Step]) -> list[Step]:
    """Custom pull steps whose module is not installed here: fine if the run's infrastructure
    has it, so a plan warns instead of failing."""
    return [step for step in pull
            if not step.builtin and not step.requires and not is_importable(step)]


def reference_errors(build: list[Step], push: list[Step], pull: list[Step],
                     fields: dict[str, Any], fields_loc: Loc,
                     lines: LineIndex | None) -> list[FieldError]:
    """Placeholders in steps and deployment fields that point at nothing, or at a later step.

    A step may use the outputs of the steps before it (build, then push, then pull); the
    deployment's own fields are filled in at deploy time, so they may use build and push
    outputs but not pull ones.
    """
    every_step = {step.id: step for step in build + push + pull if step.id}
    earlier: dict[str, Step] = {}
    errors = _check_section(build + push, earlier, every_step, lines)
    deploy_time = dict(earlier)
    errors += _check_section(pull, earlier, every_step, lines)
    errors += _check_all(references_in(fields), fields_loc, fields_loc, deploy_time, every_step,
                         lines)
    return errors


def _check_section(steps: list[Step], earlier: dict[str, Step], every_step: dict[str, Step],
                   lines: LineIndex | None) -> list[FieldError]:
    errors = []
    for step in steps:
        errors += _check_all(references_in(step.inputs), step.loc, step.written_at(), earlier,
                             every_step, lines)
        if step.id in earlier:
            errors.append(field_error(step.loc + ("id",), f"step id {step.id!r} is used by "
                                      f"{earlier[step.id].label} already", lines))
        if step.id:
            earlier[step.id] = step
    return errors


def _check_all(found, shown_at: Loc, written_at: Loc, earlier: dict[str, Step],
               every_step: dict[str, Step], lines: LineIndex | None) -> list[FieldError]:
    """Check references found at paths relative to a step's inputs or a deployment."""
    errors = []
    for loc, reference in found:
        problem = reference_problem(reference, earlier, every_step)
        if problem:
            errors.append(field_error(shown_at + loc, problem, lines, written_at + loc))
    return errors


def reference_problem(reference: Reference, earlier: dict[str, Step],
                      every_step: dict[str, Step]) -> str | None:
    if reference.kind == "block":
        return block_reference_problem(reference)
    if reference.kind == "input":
        return input_advice(reference)
    if reference.kind != "step":
        return None  # environment variables and variables are looked up when filled in
    if reference.name in earlier:
        outputs = earlier[reference.name].outputs
        key = reference.key.split(".")[0]
        if outputs is not None and key not in outputs:
            return (f"{reference.placeholder}: step {reference.name!r} "
                    f"({earlier[reference.name].builtin.function}) has no output {key!r}; its "
                    f"outputs are: {', '.join(sorted(outputs))}")
        return None
    if reference.name in every_step:
        return (f"{reference.placeholder}: step {reference.name!r} "
                f"({every_step[reference.name].label}) runs later; only the outputs of earlier "
                "steps can be used here (pull steps' outputs exist only when a run starts)")
    ids = ", ".join(sorted(every_step)) or "none"
    close = difflib.get_close_matches(reference.name, list(every_step), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return (f"{reference.placeholder}: no step has id {reference.name!r}{hint} (step ids in "
            f"this deployment: {ids})")


def block_reference_problem(reference: Reference) -> str | None:
    """A block placeholder that cannot name a block; whether the block exists is asked when
    it is filled in (at deploy time, or at run time in a pull step)."""
    from ..blocks import BlockReference
    from ..models.blocks import BLOCK_TYPE_ADVICE, BLOCK_TYPES

    try:
        parsed = BlockReference.parse(reference.name)
    except FlowpoolError as exc:
        return f"{reference.placeholder}: {exc.errors[0].message}"
    if parsed.type not in BLOCK_TYPES:
        return f"{reference.placeholder}: unknown block type {parsed.type!r}; {BLOCK_TYPE_ADVICE}"
    return None
