"""Deploy-time tooling: project files (`flowpool.yaml`, or an unchanged `prefect.yaml`), the
deploy plan, registering deployments, and the `flowpool init` recipes. Only `flowpool deploy`,
`flowpool init` and the wizard use it: the runtime (API, scheduler, workers, engine) never
imports it. The step runner it uses for build and push steps is `orchestrator.steps`, which
the engine uses for the pull steps.

The path of `flowpool deploy`:

    project = load_project(Path.cwd(), file)               # None when there is no file
    plan = plan_deploy(project, Selection(names, all, entrypoint), overrides)
    print(format_plan(plan))                               # --dry-run stops here
    registrations = [prepare_registration(p, variables=...) for p in plan.deployments]
    ... register each registration.deployment with the API
"""
from ..steps.diagnostics import ProjectWarning
from ..steps.rendering import VariableResolver
from ..steps.runner import run_pull_steps, run_steps, template_pull_steps
from .checks import missing_fields
from .display import format_plan, plan_as_dict
from .files import (PROJECT_FILE_NAMES, Project, find_project_file, has_project_files,
                    load_project, read_project_file)
from .git_info import GitCheckout, git_checkout, git_clone_pull_steps
from .overrides import DeploymentOverrides
from .plan import Plan, PlannedDeployment, plan_deploy
from .recipes import RECIPES, Recipe, guess_recipe, write_project_file
from .registration import Registration, prepare_registration, run_deploy_steps
from .selection import Selection

__all__ = [
    "DeploymentOverrides", "GitCheckout", "PROJECT_FILE_NAMES", "Plan", "PlannedDeployment",
    "Project", "ProjectWarning", "RECIPES", "Recipe", "Registration", "Selection",
    "VariableResolver", "find_project_file", "has_project_files", "format_plan", "git_checkout",
    "git_clone_pull_steps", "guess_recipe", "load_project", "missing_fields", "plan_as_dict",
    "plan_deploy", "prepare_registration", "read_project_file", "run_deploy_steps",
    "run_pull_steps", "run_steps", "template_pull_steps", "write_project_file",
]
