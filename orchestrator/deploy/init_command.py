"""`flowpool init`: write a flowpool.yaml from a recipe (build, push and pull sections).

Prefect 2.10's words work too: `flowpool project init` is `init`, and `flowpool recipe ls`
(or `flowpool project recipe ls`) is `init --list`. On a terminal, a recipe input that has
no value yet (a Docker image's name and tag) is asked for.
"""
from __future__ import annotations

from pathlib import Path

import typer

from ..errors import FieldError, InvalidInput


RECIPE = typer.Option(None, "--recipe", "-r", help="local, git, docker, docker-git or storage "
                     "(default: git in a git checkout with a remote, else local)")
FIELD = typer.Option(None, "--field", "-f", help="a recipe input k=v (repeatable), e.g. "
                                                 "--field branch=main")
LIST = typer.Option(False, "--list", help="show the recipes and stop")
FORCE = typer.Option(False, "--force", help="replace an existing flowpool.yaml")


def init(recipe: str = RECIPE, field: list[str] = FIELD, list_recipes: bool = LIST,
         force: bool = FORCE) -> None:
    """Write flowpool.yaml here: how deploy builds and pushes the code, how each run pulls it.

    Without --recipe, a git checkout with a remote gets the git recipe, else local."""
    write_files(recipe, field, list_recipes, force, deployment_file=False)


def project_init(recipe: str = RECIPE, field: list[str] = FIELD, list_recipes: bool = LIST,
                 force: bool = FORCE) -> None:
    """As Prefect 2.10's: flowpool.yaml (build, push, pull) and a deployment.yaml skeleton.

    Without --recipe, a git checkout with a remote gets the git recipe, else local."""
    write_files(recipe, field, list_recipes, force, deployment_file=True)


def write_files(recipe: str | None, field: list[str] | None, list_recipes: bool, force: bool,
                deployment_file: bool) -> None:
    from . import RECIPES, guess_recipe, write_project_file
    from .recipes import write_deployment_skeleton
    from .from_project import is_terminal

    if list_recipes:
        recipe_ls()
        return
    directory = Path.cwd()
    chosen = recipe or guess_recipe(directory)
    fields = parse_fields(field)
    if chosen in RECIPES and is_terminal():
        fields = ask_for_inputs(RECIPES[chosen], directory, fields)
    path = write_project_file(directory, chosen, fields, overwrite=force)
    typer.echo(f"Wrote {path.name} from the {chosen} recipe: {RECIPES[chosen].summary}.")
    if deployment_file:
        skeleton = write_deployment_skeleton(directory)
        typer.echo(f"Wrote {skeleton.name}: fill in its entry, or name the flow, deployment and"
                   " pool when you deploy." if skeleton else
                   "Kept the deployment.yaml there is.")
    typer.echo("Declare deployments in it, or run: flowpool deploy path/to/file.py:flow "
               "--name NAME --pool POOL")


def parse_fields(assignments: list[str] | None) -> dict[str, str]:
    """`--field k=v` as text: recipe inputs are URLs, names and tags, never JSON."""
    fields: dict[str, str] = {}
    for assignment in assignments or []:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--field {assignment!r} is not k=v", [FieldError(
                "--field", "write it as key=value, e.g. --field branch=main")])
        fields[key.strip()] = value
    return fields


# Asked on a terminal even though they have a default, as Prefect's docker recipes do.
ASKED_WITH_DEFAULT = ("tag",)


def ask_for_inputs(recipe, directory: Path, fields: dict[str, str]) -> dict[str, str]:
    """`fields` with an answer for each input of the recipe that has no value yet and for
    the image tag; the answers are checked as `--field` values are, when the file is written."""
    from .recipes import OPTIONAL_INPUTS, default_values

    known = {**default_values(directory), **fields}
    asked = [key for key in recipe.inputs if key not in fields and (
        key in ASKED_WITH_DEFAULT or (key not in OPTIONAL_INPUTS and not known.get(key)))]
    answers = dict(fields)
    for key in asked:
        question = f"{key.replace('_', ' ').capitalize()} ({recipe.inputs[key]})"
        answers[key] = typer.prompt(question, default=known.get(key) or None).strip()
    return answers


def recipe_ls() -> None:
    """List the recipes `init --recipe` takes."""
    from ..cli.output import print_table
    from . import RECIPES

    print_table([dict(name=name, summary=item.summary) for name, item in RECIPES.items()],
                ["name", "summary"])


recipe_app = typer.Typer(help="The recipes of flowpool init.", no_args_is_help=True)
recipe_app.command("ls")(recipe_ls)
project_app = typer.Typer(help="Prefect 2.10's project commands: project init, project recipe "
                               "ls.", no_args_is_help=True)
project_app.command("init")(project_init)
project_app.add_typer(recipe_app, name="recipe")
