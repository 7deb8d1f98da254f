"""Deploy time: run the build and push steps of a planned deployment, fill their outputs into
the deployment and its pull steps, and produce what is registered with the API.

What is filled in when:
- build and push steps: each step's inputs just before it runs (earlier outputs, environment,
  variables);
- the deployment's fields (name, version, tags, description, entrypoint, parameters,
  work_pool with job_variables, schedules, concurrency_limit): at deploy time, after push,
  from build/push outputs, the deploying machine's environment and variables;
- job variables: the same, except the blocks they name, left for the worker (run time);
- pull steps: build/push outputs at deploy time; environment variables, variables and the
  pull steps' own outputs at run time, in the run's infrastructure (secrets stay out of the
  stored deployment and are read where the run executes).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from pydantic import ValidationError

from ..errors import InvalidInput
from ..models import DeploymentCreate
from ..steps.diagnostics import field_error
from ..steps.rendering import BlockResolver, Scope, VariableResolver, render
from ..steps.runner import Outputs, run_steps, template_pull_steps
from .flow_facts import FlowFacts
from .plan import PlannedDeployment, deploy_time_template, revalidated
from .schema import describe_error

# Where each DeploymentCreate field comes from in a deployment's declaration.
DECLARATION_PATHS = {"flow_name": ("entrypoint",), "work_pool_name": ("work_pool", "name"),
                     "work_queue_name": ("work_pool", "work_queue_name"),
                     "job_variables": ("work_pool", "job_variables"), "path": ("entrypoint",),
                     "collision_strategy": ("concurrency_limit", "collision_strategy"),
                     "parameter_schema": ("entrypoint",), "pull_steps": ("pull",)}


@dataclass
class Registration:
    """What to send to the API for one deployment. The schedules (as written), `paused` and
    the flow's run options ride alongside: deploy validates the schedules, keeps interval
    anchors and applies the run-option flags before it puts them on the request."""

    deployment: DeploymentCreate
    schedules: list[dict[str, Any]]
    paused: bool | None
    flow: FlowFacts
    outputs: Outputs


def prepare_registration(planned: PlannedDeployment, *,
                         variables: VariableResolver | None = None,
                         blocks: BlockResolver | None = None,
                         environ: Mapping[str, str] | None = None) -> Registration:
    """Run build then push (in the project's root), then fill in and validate the deployment."""
    environ = os.environ if environ is None else environ
    outputs = run_deploy_steps(planned, variables=variables, blocks=blocks, environ=environ)
    scope = Scope(outputs, environ=environ, variables=variables, blocks=blocks)
    rendered = render_deployment_fields(deploy_time_template(planned.declaration), planned.loc,
                                        scope)
    declaration = revalidated(planned.declaration, rendered, planned.loc, planned.lines)
    fields = planned.registration_fields(declaration, template_pull_steps(planned.pull, outputs))
    return Registration(deployment=_validated(fields, planned),
                        schedules=planned.schedules(declaration), paused=declaration.paused,
                        flow=planned.flow, outputs=outputs)


def render_deployment_fields(template: dict[str, Any], loc: tuple, scope: Scope) -> dict[str, Any]:
    """The deployment's fields filled in, except the blocks its job variables name: those are
    left for the worker to fill in when it renders the job, so no secret is stored with the
    deployment (and shown with it)."""
    if "job_variables" not in (template.get("work_pool") or {}):
        return render(template, loc, scope)
    pool = dict(template["work_pool"])
    job_variables = pool.pop("job_variables")
    rendered = render({**template, "work_pool": pool}, loc, scope)
    later = Scope(scope.outputs, environ=scope.environ, variables=scope.variables)
    rendered["work_pool"]["job_variables"] = render(
        job_variables, loc + ("work_pool", "job_variables"), later)
    return rendered


def run_deploy_steps(planned: PlannedDeployment, *, variables: VariableResolver | None = None,
                     blocks: BlockResolver | None = None,
                     environ: Mapping[str, str] | None = None) -> Outputs:
    """The build steps, then the push steps, run from the project's root; their outputs."""
    with working_directory(planned.root):
        outputs = run_steps(planned.build, variables=variables, blocks=blocks, environ=environ)
        return run_steps(planned.push, outputs=outputs, variables=variables, blocks=blocks,
                         environ=environ)


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """Run deploy steps from `path`; a set_working_directory among them does not outlive them."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _validated(fields: dict[str, Any], planned: PlannedDeployment) -> DeploymentCreate:
    try:
        return DeploymentCreate(**fields)
    except ValidationError as exc:
        errors = [field_error(planned.loc + _declaration_path(e["loc"]), describe_error(e),
                              planned.lines) for e in exc.errors()]
        name = f"{fields['flow_name']}/{fields['name']}"
        raise InvalidInput(f"deployment {name} is not valid", errors) from None


def _declaration_path(loc: tuple) -> tuple:
    head, rest = str(loc[0]), tuple(loc[1:])
    return DECLARATION_PATHS.get(head, (head,)) + rest
