"""The plan of a `deploy`: each chosen deployment as it would be registered, and its steps.

Planning runs nothing and calls no server: it reads the file, applies the command line's
flags, resolves which steps would run, checks every placeholder and name, and (by default)
imports each flow for its name, docstring and parameter schema. Every problem in the file is
reported at once, each with its field and line, before anything is built or registered;
`deploy --dry-run` prints the plan and stops there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from ..errors import EntrypointError, FieldError, InvalidInput
from ..models.automations import AutomationCreate
from ..models.base import DISPLAY_NAME_ADVICE
from ..steps.declarations import Step, parse_steps
from ..steps.diagnostics import LineIndex, Loc, ProjectWarning, field_error, warning
from ..steps.references import has_placeholder
from ..steps.rendering import Scope, render
from .checks import (is_display_name, name_errors, pull_steps_missing_here, reference_errors,
                     required_field_errors, schedules_of, step_errors)
from .files import Project
from .flow_facts import (FlowFacts, default_parameter_problems, guessed_flow_facts,
                         import_flow_facts)
from .overrides import DeploymentOverrides, apply_overrides
from .schema import DeploymentDeclaration, ProjectFile, describe_error
from .selection import Selected, Selection, select_deployments
from .triggers import automations_of

SECTIONS = ("build", "push", "pull")
# The parts of a deployment filled in at deploy time, after the build and push steps ran.
DEPLOY_TIME_FIELDS = {"name", "version", "tags", "description", "entrypoint", "parameters",
                      "enforce_parameter_schema", "schedule", "schedules", "concurrency_limit",
                      "paused", "work_pool"}


@dataclass
class PlannedDeployment:
    """One deployment of the plan. `declaration` keeps its placeholders; `shown` has the
    environment's values filled in where they are set (what a dry run prints)."""

    loc: Loc
    root: Path
    declaration: DeploymentDeclaration
    shown: DeploymentDeclaration
    flow: FlowFacts
    build: list[Step]
    push: list[Step]
    pull: list[Step]
    pull_is_default: bool = False
    lines: LineIndex | None = None
    # the automations of its `triggers:` (None: no `triggers:`, its automations stay)
    automations: list[AutomationCreate] | None = None

    @property
    def full_name(self) -> str:
        return f"{self.flow.name}/{self.shown.name}"

    def registration_fields(self, declaration: DeploymentDeclaration | None = None,
                            pull_steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The fields of DeploymentCreate (orchestrator.models), from `declaration`
        (default: `shown`) and the pull steps to store (default: as written)."""
        declaration = declaration or self.shown
        limit = declaration.concurrency_limit
        return {
            "flow_name": self.flow.name, "name": declaration.name,
            "entrypoint": (declaration.entrypoint or "").strip().removeprefix("./"),
            "path": str(self.root),
            "description": declaration.description or self.flow.description,
            "version": declaration.version or self.flow.version,
            "tags": list(declaration.tags), "parameters": dict(declaration.parameters),
            "parameter_schema": self.flow.parameter_schema,
            "enforce_parameter_schema": declaration.enforce_parameter_schema is not False,
            "work_pool_name": declaration.work_pool.name,
            "work_queue_name": declaration.work_pool.work_queue_name,
            "job_variables": dict(declaration.work_pool.job_variables),
            "pull_steps": [s.to_raw() for s in self.pull] if pull_steps is None else pull_steps,
            "concurrency_limit": limit.limit if limit else None,
            "collision_strategy": limit.collision_strategy if limit else "ENQUEUE",
        }

    def schedules(self, declaration: DeploymentDeclaration | None = None) -> list[dict[str, Any]]:
        """The schedules as written (`schedule:` or `schedules:`), for the schedule models."""
        return schedules_of(declaration or self.shown, self.loc, self.lines)[0]


@dataclass
class Plan:
    project_file: Path | None
    root: Path
    deployments: list[PlannedDeployment]
    warnings: list[ProjectWarning] = field(default_factory=list)


class _Problems:
    """Errors collected across the whole file, reported together, each once."""

    def __init__(self) -> None:
        self.errors: dict[FieldError, bool] = {}  # error -> whether it is about an entrypoint

    def add(self, errors: list[FieldError], entrypoint: bool = False) -> None:
        for error in errors:
            self.errors.setdefault(error, entrypoint)

    def raise_if_any(self, source: str) -> None:
        if not self.errors:
            return
        message = f"{source}: {len(self.errors)} problem(s) to fix before deploying"
        kind = EntrypointError if all(self.errors.values()) else InvalidInput
        raise kind(message, list(self.errors))


def plan_deploy(project: Project | None, selection: Selection = Selection(),
                overrides: DeploymentOverrides | None = None, *, root: Path | None = None,
                environ: Mapping[str, str] | None = None, import_flows: bool = True) -> Plan:
    """Plan the deployment of `selection` from `project` (None: no project file).

    `environ` (default: this process's environment) fills `{{ $NAME }}` in what is shown;
    an unset one is left as written, with a warning. With `import_flows`, each flow is
    imported from `root` (default: the project's root) for its name, description and
    parameter schema; missing files and functions are then errors.
    """
    root = (root or (project.root if project else Path.cwd())).resolve()
    if project is None and (selection.all or (selection.names and not selection.entrypoint)):
        raise no_project_file(root)
    spec = project.spec if project else ProjectFile()
    lines = project.lines if project else None
    chosen, warnings = select_deployments(spec.deployments, selection, lines)
    _check_overrides_target_one(chosen, overrides)
    problems = _Problems()
    top = {section: _parsed(getattr(spec, section), (section,), lines, problems)
           for section in SECTIONS}
    context = _Context(root, lines, os.environ if environ is None else environ, import_flows)
    if selection.entrypoint:  # `deploy ENTRYPOINT --name D`: the flow given wins over the file's
        overrides = (overrides or DeploymentOverrides()).model_copy(
            update={"entrypoint": selection.entrypoint})
    planned = [_plan_one(item, top, overrides, context, problems, warnings) for item in chosen]
    problems.raise_if_any(project.path.name if project else "deploy")
    every_warning = (project.warnings if project else []) + warnings
    return Plan(project.path if project else None, root, planned,
                list(dict.fromkeys(every_warning)))  # a shared section warns once


def no_project_file(root: Path) -> InvalidInput:
    return InvalidInput(f"no project file found in {root}", [FieldError(
        "deploy", "write one with `flowpool init` (or `flowpool project init`), give --file "
                  "PATH, or deploy one flow: flowpool deploy path/to/file.py:flow --name NAME "
                  "--pool POOL")])


@dataclass(frozen=True)
class _Context:
    root: Path
    lines: LineIndex | None
    environ: Mapping[str, str]
    import_flows: bool


def _plan_one(selected: Selected, top: dict[str, list[Step] | None],
              overrides: DeploymentOverrides | None, context: _Context, problems: _Problems,
              warnings: list[ProjectWarning]) -> PlannedDeployment:
    declaration = apply_overrides(selected.declaration, overrides)
    loc: Loc = ("deployments", selected.index) if selected.index is not None else ("deployment",)
    lines = context.lines
    problems.add(required_field_errors(declaration, loc, lines))
    problems.add(schedules_of(declaration, loc, lines)[1])
    steps = {section: _effective_steps(declaration, section, top, loc, lines, problems)
             for section in SECTIONS}
    pull_is_default = steps["pull"] is None
    pull = _default_pull(context.root) if pull_is_default else steps["pull"]
    problems.add(step_errors(steps["build"] + steps["push"], True, lines))
    problems.add(step_errors(pull, False, lines))
    warnings += [warning(step.loc, f"step {step.name} cannot be imported here; it must be "
                                   "installed where runs execute", lines)
                 for step in pull_steps_missing_here(pull)]
    references = reference_errors(steps["build"], steps["push"], pull,
                                  deploy_time_template(declaration), loc, lines)
    problems.add(references)
    shown = declaration if references else _with_environment(declaration, loc, context, problems,
                                                             warnings)
    problems.add(name_errors(shown, loc, lines))
    flow = _flow_facts(shown, loc, context, problems)
    automations, trigger_errors = automations_of(declaration.triggers,
                                                 f"{flow.name}/{shown.name}", loc, lines)
    problems.add(trigger_errors)
    return PlannedDeployment(loc, context.root, declaration, shown, flow, steps["build"],
                             steps["push"], pull, pull_is_default, lines, automations)


def _check_overrides_target_one(chosen: list[Selected],
                                overrides: DeploymentOverrides | None) -> None:
    if overrides is not None and not overrides.is_empty() and len(chosen) > 1:
        flags = ", ".join(sorted(overrides.model_fields_set))
        raise InvalidInput("flags that override the file apply to one deployment", [FieldError(
            "--name", f"{len(chosen)} deployments are selected; choose one with --name to apply "
                      f"{flags}, or put the values in the file")])


def _parsed(raw: Any, loc: Loc, lines: LineIndex | None,
            problems: _Problems) -> list[Step] | None:
    """The parsed section; None when the file does not give it (absent or null)."""
    if raw is None:
        return None
    try:
        return parse_steps(raw, loc, lines)
    except InvalidInput as exc:
        problems.add(exc.errors)
        return []


def _effective_steps(declaration: DeploymentDeclaration, section: str,
                     top: dict[str, list[Step] | None], loc: Loc, lines: LineIndex | None,
                     problems: _Problems) -> list[Step] | None:
    """The deployment's own section when it gives one, else the file's.

    None only for a pull section given nowhere: `pull: []` means no pull steps, while an
    absent (or null) one means "start runs where deploy ran".
    """
    own = _parsed(getattr(declaration, section), loc + (section,), lines, problems)
    steps = own if own is not None else top[section]
    if steps is None and section != "pull":
        return []
    return steps


def _default_pull(root: Path) -> list[Step]:
    """No pull section: runs start where deploy ran, as Prefect does."""
    from ..steps.declarations import parse_step

    return [parse_step({"flowpool.steps.set_working_directory": {"directory": str(root)}},
                       ("pull", 0))]


def deploy_time_template(declaration: DeploymentDeclaration) -> dict[str, Any]:
    return declaration.model_dump(include=DEPLOY_TIME_FIELDS, exclude_none=True)


def _with_environment(declaration: DeploymentDeclaration, loc: Loc, context: _Context,
                      problems: _Problems, warnings: list[ProjectWarning]) -> DeploymentDeclaration:
    """The declaration with `{{ $NAME }}` filled in from the environment where it is set."""
    template = deploy_time_template(declaration)
    if not has_placeholder(template):
        return declaration
    scope = Scope(environ=context.environ, later_steps=True, lenient=True)
    rendered = render(template, loc, scope)
    warnings += [warning(loc, note, context.lines) for loc, note in scope.notes]
    return revalidated(declaration, rendered, loc, context.lines, problems)


def revalidated(declaration: DeploymentDeclaration, rendered: dict[str, Any], loc: Loc,
                lines: LineIndex | None,
                problems: _Problems | None = None) -> DeploymentDeclaration:
    """Validate a declaration again once its placeholders are filled in."""
    try:
        return DeploymentDeclaration.model_validate({**declaration.model_dump(), **rendered})
    except ValidationError as exc:
        errors = [field_error(loc + tuple(e["loc"]), describe_error(e), lines)
                  for e in exc.errors()]
        if problems is None:
            raise InvalidInput("invalid deployment after filling in placeholders", errors) \
                from None
        problems.add(errors)
        return declaration


def _flow_facts(declaration: DeploymentDeclaration, loc: Loc, context: _Context,
                problems: _Problems) -> FlowFacts:
    entrypoint = declaration.entrypoint
    if not context.import_flows or not entrypoint or has_placeholder(entrypoint):
        return guessed_flow_facts(entrypoint, declaration.flow_name)
    try:
        facts = import_flow_facts(entrypoint.strip(), context.root)
    except EntrypointError as exc:
        problems.add([field_error(loc + ("entrypoint",), _entrypoint_message(exc), context.lines)],
                     entrypoint=True)
        return guessed_flow_facts(entrypoint, declaration.flow_name)
    problems.add([field_error(loc + ("parameters",), problem, context.lines)
                  for problem in default_parameter_problems(declaration.parameters,
                                                            facts.parameter_schema)])
    if facts.name and not is_display_name(facts.name):
        problems.add([field_error(loc + ("entrypoint",), f"the flow's name {facts.name!r} is not "
                                  f"a valid name: {DISPLAY_NAME_ADVICE}; set it with "
                                  "@flow(name=...)",
                                  context.lines)])
    return facts


def _entrypoint_message(error: EntrypointError) -> str:
    advice = "; ".join(e.message for e in error.errors)
    return f"{error.message}; {advice}" if advice else error.message
