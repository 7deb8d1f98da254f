"""A step as written in a project file, and the Python function that runs it.

A step is `{fully.qualified.function: {kwargs..., id: ..., requires: ...}}`. Built-in
names (flowpool's and Prefect's, see orchestrator.steps.names) run flowpool's steps; any
other name is imported, after `pip install`ing its `requires` when the import fails.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import FieldError, InvalidInput
from .diagnostics import LineIndex, Loc, field_error, format_path
from .names import BUILTINS, BuiltinStep, builtin_step, is_prefect_namespace, \
    providing_package

RESERVED_KEYS = ("id", "requires")


@dataclass(frozen=True)
class Step:
    """One parsed step: its name as written, its inputs, and where it is in the file."""

    name: str
    inputs: dict[str, Any]
    loc: Loc
    id: str | None = None
    requires: tuple[str, ...] = ()
    builtin: BuiltinStep | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """`pull[1] (git_clone)`: how messages name a step."""
        short = self.builtin.function if self.builtin else self.name
        return f"{format_path(self.loc)} ({short})"

    @property
    def outputs(self) -> frozenset[str] | None:
        """The output keys, when the step is built in; None when only running it can tell."""
        return self.builtin.outputs if self.builtin else None

    def written_at(self, input_loc: Loc = ()) -> Loc:
        """Where an input of the step is in the file: under the step's name."""
        return self.loc + (self.name,) + tuple(input_loc)

    def to_raw(self, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """The step as a project file writes it (what a deployment stores as a pull step)."""
        body = dict(self.inputs if inputs is None else inputs)
        if self.id is not None:
            body["id"] = self.id
        if self.requires:
            body["requires"] = self.requires[0] if len(self.requires) == 1 else list(self.requires)
        return {self.name: body}


def parse_steps(raw: Any, loc: Loc, lines: LineIndex | None = None) -> list[Step]:
    """Parse a section (`build`, `push`, `pull`); raise InvalidInput naming each bad step."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("invalid steps", [field_error(loc, "expected a list of steps", lines)])
    steps, errors = [], []
    for position, item in enumerate(raw):
        try:
            steps.append(parse_step(item, loc + (position,)))
        except ValueError as exc:
            errors.append(field_error(loc + (position,), str(exc), lines))
    if errors:
        raise InvalidInput("invalid steps", errors)
    return steps


def parse_step(raw: Any, loc: Loc) -> Step:
    """One step; ValueError says what is wrong with its shape."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError("a step is a mapping with one key, the step's function: "
                         "- flowpool.steps.git_clone: {repository: ...}")
    (name, body), = raw.items()
    if not isinstance(name, str) or "." not in name.strip():
        raise ValueError(f"step name {name!r} is not a dotted function name such as "
                         "flowpool.steps.git_clone")
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise ValueError(f"the inputs of {name} must be a mapping (key: value lines)")
    step_id, requires = body.get("id"), _requirements(body.get("requires"))
    if step_id is not None and (not isinstance(step_id, str) or not step_id.strip()):
        raise ValueError(f"the id of {name} must be text")
    inputs = {key: value for key, value in body.items() if key not in RESERVED_KEYS}
    name = name.strip()
    return Step(name, inputs, loc, step_id, requires, builtin_step(name))


def _requirements(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError("requires must be a pip requirement or a list of them")


def step_function(step: Step, install: bool = True) -> Callable[..., Any]:
    """The function that runs `step`; `requires` is pip-installed when the import fails."""
    if step.builtin:
        module = importlib.import_module(f"orchestrator.steps.{step.builtin.module}")
        return getattr(module, step.builtin.function)
    module_name, _, attribute = step.name.rpartition(".")
    module = _import(step, module_name)
    if module is None and step.requires and install:
        install_requirements(step)
        module = _import(step, module_name)
    if module is None:
        raise unknown_step(step, f"no module named {module_name}")
    function = getattr(module, attribute, None)
    if not callable(function):
        raise unknown_step(step, f"{module_name} has no function {attribute}")
    return function


def is_importable(step: Step) -> bool:
    """Whether the step's module can be found here, without running it."""
    if step.builtin:
        return True
    module_name = step.name.rpartition(".")[0]
    try:
        return importlib.util.find_spec(module_name) is not None
    except Exception:  # a parent package that fails to import: not importable either
        return False


def _import(step: Step, module_name: str):
    """The step's module; None when it is not installed."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        failure = exc  # the module is there but needs another one that is not
    except Exception as exc:  # the step's module is broken: say which step needs it
        failure = exc
    raise InvalidInput(f"cannot import step {step.name}", [FieldError(
        format_path(step.loc), f"importing {module_name} failed: {type(failure).__name__}: "
                               f"{failure}")])


def install_requirements(step: Step) -> None:
    """`pip install` the step's `requires` into the running interpreter."""
    command = [sys.executable, "-m", "pip", "install", "--no-input", *step.requires]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        detail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise InvalidInput(f"could not install what step {step.name} requires", [FieldError(
            format_path(step.loc + ("requires",)),
            f"pip install {' '.join(step.requires)} failed: {detail}")])
    importlib.invalidate_caches()


def unknown_step(step: Step, reason: str) -> InvalidInput:
    """The error for a step name that is neither built in nor importable."""
    package = providing_package(step.name)
    if is_prefect_namespace(step.name):
        builtins = ", ".join(sorted(BUILTINS))
        advice = (f"it is a step of {package}, which flowpool does not provide; flowpool's "
                  f"built-in steps are: {builtins}")
    else:
        advice = (f"install the package that provides it where the step runs (pip install "
                  f"{package}), or add `requires: {package}` to the step")
    return InvalidInput(f"unknown step {step.name}", [FieldError(
        format_path(step.loc), f"step {step.name} is not built in and cannot be imported "
                               f"({reason}); {advice}")])


def argument_problem(step: Step, function: Callable[..., Any]) -> str | None:
    """Why the step's inputs do not fit the function's parameters, or None when they do."""
    try:
        inspect.signature(function).bind(**step.inputs)
    except TypeError as exc:
        accepted = ", ".join(inspect.signature(function).parameters)
        return f"{exc}; {step.name} takes: {accepted}"
    return None
