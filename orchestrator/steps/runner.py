"""Run steps in file order, each one's outputs available to the next as `{{ id.key }}`.

`deploy` runs the build and push steps; the engine runs the pull steps at the start of
every run, in the run's infrastructure, before it loads the entrypoint. Between the two,
`template_pull_steps` writes the build and push outputs into the pull steps and leaves
everything that belongs to run time (environment, variables, the pull steps' own outputs).
"""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any, Iterator, Mapping

from ..errors import FieldError, FlowpoolError, InvalidInput
from .declarations import Step, argument_problem, parse_steps, step_function
from .diagnostics import Loc, format_path
from .errors import StepFailed
from .rendering import BlockResolver, Scope, VariableResolver, render

log = logging.getLogger("flowpool.steps")
Outputs = dict[str, dict[str, Any]]


def run_steps(steps: list[Step] | list[dict[str, Any]] | None, *,
              outputs: Mapping[str, Mapping[str, Any]] | None = None,
              variables: VariableResolver | None = None,
              blocks: BlockResolver | None = None,
              environ: Mapping[str, str] | None = None,
              section: str = "pull") -> Outputs:
    """Run `steps` in order; return every step id's outputs (`outputs` given, plus new ones).

    `steps` are parsed Steps or raw ones as a file writes them (`section` names those in
    messages). Placeholders resolve from earlier outputs, `environ` (default: this process's
    environment, read as each step starts), `variables` and `blocks`.
    """
    known: Outputs = {key: dict(value) for key, value in (outputs or {}).items()}
    lookups = Scope(environ=environ, variables=variables, blocks=blocks)
    for _ in _each_step(_parsed(steps, (section,)), known, lookups):
        pass  # each step runs as the loop asks for it; `known` collects the outputs
    return known


def run_pull_steps(pull_steps: list[dict[str, Any]] | None,
                   variables: VariableResolver | None = None,
                   blocks: BlockResolver | None = None) -> Outputs:
    """What the engine calls before loading the entrypoint: run a deployment's stored pull
    steps in this process, then work from the directory the last of them put the code in.

    As with Prefect, a `git_clone` alone is enough: the run moves into the clone, so the
    entrypoint is relative to the repository's root. Each step's `directory` is taken
    relative to where that step started, so a `set_working_directory` after it is harmless.
    """
    known: Outputs = {}
    code_directory = None
    lookups = Scope(variables=variables, blocks=blocks)
    for started_in, result in _each_step(_parsed(pull_steps, ("pull",)), known, lookups):
        if isinstance(result.get("directory"), str):
            code_directory = os.path.join(started_in, result["directory"])
    if code_directory:
        os.chdir(code_directory)
    return known


def _each_step(steps: list[Step], known: Outputs,
               lookups: Scope) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run the steps in order, recording outputs by id; yield where each started and its
    outputs. `lookups` gives the environment (None: this process's), variables and blocks."""
    environ = lookups.environ
    for step in steps:
        started_in = os.getcwd()
        result = run_step(step, Scope(known, os.environ if environ is None else environ,
                                      lookups.variables, blocks=lookups.blocks))
        if step.id:
            known[step.id] = result
        yield started_in, result


def run_step(step: Step, scope: Scope) -> dict[str, Any]:
    """Resolve the step's inputs, call its function, and return its outputs."""
    function = step_function(step)
    inputs = render(step.inputs, step.loc, scope)
    problem = argument_problem(replace(step, inputs=inputs), function)
    if problem:
        raise InvalidInput(f"step {step.label} cannot run", [FieldError(format_path(step.loc),
                                                                        problem)])
    log.info("running step %s", step.label)  # never the inputs: they may hold secrets
    try:
        result = function(**inputs)
    except StepFailed as exc:
        raise StepFailed(f"step {step.label} failed: {exc.message}") from exc
    except FlowpoolError:
        raise
    except Exception as exc:  # a custom step's own error: name the step it came from
        raise StepFailed(f"step {step.label} failed: {type(exc).__name__}: {exc}") from exc
    return _as_outputs(step, result)


def _as_outputs(step: Step, result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise StepFailed(f"step {step.label} returned {type(result).__name__}, not a dict "
                         "of outputs")
    return dict(result)


def template_pull_steps(pull_steps: list[Step] | list[dict[str, Any]] | None,
                        outputs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The pull steps to store on a deployment: build and push outputs written in, every
    other placeholder left for run time."""
    scope = Scope(outputs, environ=None, variables=None, later_steps=True)
    return [step.to_raw(render(step.inputs, step.loc, scope))
            for step in _parsed(pull_steps, ("pull",))]


def _parsed(steps: list[Step] | list[dict[str, Any]] | None, loc: Loc) -> list[Step]:
    steps = steps or []
    if all(isinstance(step, Step) for step in steps):
        return list(steps)
    return parse_steps(list(steps), loc)
