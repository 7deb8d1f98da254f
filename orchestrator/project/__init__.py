"""Project files (`flowpool.yaml`, or an unchanged `prefect.yaml`): loading, the deploy plan,
the build/push/pull step runner, and the `flowpool init` recipes.

The path of `flowpool deploy`:

    project = load_project(Path.cwd(), file)               # None when there is no file
    plan = plan_deploy(project, Selection(names, all, entrypoint), overrides)
    print(format_plan(plan))                               # --dry-run stops here
    registrations = [prepare_registration(p, variables=...) for p in plan.deployments]
    ... register each registration.deployment with the API

and of a run, in the engine, before the entrypoint is loaded:

    run_pull_steps(deployment.pull_steps, variables=...)
"""
from .checks import missing_fields
from .diagnostics import ProjectWarning
from .display import format_plan, plan_as_dict
from .files import PROJECT_FILE_NAMES, Project, find_project_file, load_project, read_project_file
from .git_info import GitCheckout, git_checkout, git_clone_pull_steps
from .overrides import DeploymentOverrides
from .plan import Plan, PlannedDeployment, plan_deploy
from .recipes import RECIPES, Recipe, guess_recipe, write_project_file
from .registration import Registration, prepare_registration, run_deploy_steps
from .rendering import VariableResolver
from .runner import run_pull_steps, run_steps, template_pull_steps
from .selection import Selection

__all__ = [
    "DeploymentOverrides", "GitCheckout", "PROJECT_FILE_NAMES", "Plan", "PlannedDeployment",
    "Project", "ProjectWarning", "RECIPES", "Recipe", "Registration", "Selection",
    "VariableResolver", "find_project_file", "format_plan", "git_checkout",
    "git_clone_pull_steps", "guess_recipe", "load_project", "missing_fields", "plan_as_dict",
    "plan_deploy", "prepare_registration", "read_project_file", "run_deploy_steps",
    "run_pull_steps", "run_steps", "template_pull_steps", "write_project_file",
]
