"""`flowpool init`: write a flowpool.yaml from a recipe (build, push and pull sections)."""
from __future__ import annotations

from pathlib import Path

import typer

from ..errors import FieldError, InvalidInput


def init(recipe: str = typer.Option(None, "--recipe", "-r",
                                    help="local, git, docker, docker-git or storage "
                                         "(default: git in a git checkout with a remote, "
                                         "else local)"),
         field: list[str] = typer.Option(None, "--field", "-f",
                                         help="a recipe input k=v (repeatable), e.g. "
                                              "--field branch=main"),
         list_recipes: bool = typer.Option(False, "--list", help="show the recipes and stop"),
         force: bool = typer.Option(False, "--force", help="replace an existing flowpool.yaml")
         ) -> None:
    """Write flowpool.yaml here: how deploy builds and pushes the code, how each run pulls it.

    Without --recipe, a git checkout with a remote gets the git recipe, else local."""
    from . import RECIPES, guess_recipe, write_project_file

    if list_recipes:
        width = max(len(name) for name in RECIPES)
        for name, item in RECIPES.items():
            typer.echo(f"{name.ljust(width)}  {item.summary}")
        return
    directory = Path.cwd()
    chosen = recipe or guess_recipe(directory)
    path = write_project_file(directory, chosen, parse_fields(field), overwrite=force)
    typer.echo(f"Wrote {path.name} from the {chosen} recipe: {RECIPES[chosen].summary}.")
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
