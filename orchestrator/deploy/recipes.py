"""`flowpool init`: starting points for `flowpool.yaml`, and writing one from `--field k=v`.

A recipe is data: its build, push and pull sections, with `{{ input }}` where a value must be
given. `flowpool init` fills the inputs from `--field` and from what the directory tells
(its name, its git remote and branch) and writes the file in one piece.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AlreadyExists, FieldError, InvalidInput
from ..steps.references import parse_reference
from ..templating import render
from .git_info import git_checkout

FILE_NAME = "flowpool.yaml"
DEPLOYMENT_FILE_NAME = "deployment.yaml"
# What `prefect project init` wrote in 2.10: one entry, every field blank. `deploy` fills the
# blanks from its command line (`deploy flows.py:f --name NAME --pool POOL`).
DEPLOYMENT_SKELETON = """\
deployments:
- # base metadata
  name: null
  version: null
  tags: []
  description: null
  schedule: {}

  # flow-specific fields
  flow_name: null
  entrypoint: null
  parameters: {}

  # infra-specific fields
  work_pool:
    name: null
    work_queue_name: null
    job_variables: {}
"""
OPTIONAL_INPUTS = {"branch"}  # no branch: runs clone the remote's default branch


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str  # one line, for `flowpool init --list`
    inputs: dict[str, str]  # what --field sets -> what it means
    build: list[dict[str, Any]] = field(default_factory=list)
    push: list[dict[str, Any]] = field(default_factory=list)
    pull: list[dict[str, Any]] = field(default_factory=list)
    job_variables: dict[str, Any] = field(default_factory=dict)


_DOCKER_INPUTS = {"image_name": "the image to build, with its registry (ghcr.io/me/flows)",
                  "tag": "the tag to give the image (default: latest)",
                  "dockerfile": "the Dockerfile to build, or auto to write one (default: auto)"}
_GIT_INPUTS = {"repository": "the git URL runs clone (default: this checkout's remote)",
               "branch": "the branch runs check out (default: the current branch, else the "
                         "remote's default branch)"}
_DOCKER_BUILD = [{"flowpool.steps.build_docker_image": {
    "id": "build_image", "image_name": "{{ image_name }}", "tag": "{{ tag }}",
    "dockerfile": "{{ dockerfile }}"}}]
_DOCKER_PUSH = [{"flowpool.steps.push_docker_image": {
    "image_name": "{{ build_image.image_name }}", "tag": "{{ build_image.tag }}"}}]
_GIT_PULL = [{"flowpool.steps.git_clone": {"repository": "{{ repository }}",
                                           "branch": "{{ branch }}"}}]
_DOCKER_IMAGE = {"image": "{{ build_image.image }}"}

RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (
    Recipe("local", "runs start in this directory, on the machine that deployed",
           {"directory": "where runs start (default: this directory)"},
           pull=[{"flowpool.steps.set_working_directory": {"directory": "{{ directory }}"}}]),
    Recipe("git", "each run clones the git repository (the current branch) before it starts",
           _GIT_INPUTS, pull=_GIT_PULL),
    Recipe("docker", "deploy builds and pushes a Docker image holding the code; runs use it",
           _DOCKER_INPUTS, build=_DOCKER_BUILD, push=_DOCKER_PUSH,
           pull=[{"flowpool.steps.set_working_directory": {
               "directory": "/opt/flowpool/{{ name }}"}}], job_variables=_DOCKER_IMAGE),
    Recipe("docker-git", "deploy builds and pushes a Docker image; each run clones the code "
                         "into it", {**_DOCKER_INPUTS, **_GIT_INPUTS},
           build=_DOCKER_BUILD, push=_DOCKER_PUSH, pull=_GIT_PULL, job_variables=_DOCKER_IMAGE),
    Recipe("storage", "deploy uploads the code to remote storage (s3://, gs://, az://, file://); "
                      "each run downloads it",
           {"url": "where the code goes, e.g. s3://bucket/flows"},
           push=[{"flowpool.steps.push_to_remote_storage": {"id": "push_code",
                                                             "url": "{{ url }}"}}],
           pull=[{"flowpool.steps.pull_from_remote_storage": {"url": "{{ push_code.url }}"}}]),
)}


def guess_recipe(directory: Path) -> str:
    """`git` for a git checkout with a remote, else `local`."""
    return "git" if git_checkout(directory) else "local"


def write_project_file(directory: Path, recipe: str | None = None,
                       fields: dict[str, Any] | None = None, *, overwrite: bool = False) -> Path:
    """Write `directory/flowpool.yaml` from a recipe (guessed when None); the path written.

    Nothing is written when a field is unknown or missing, or the file exists (unless
    `overwrite`); the file appears whole or not at all.
    """
    directory = directory.resolve()
    chosen = _recipe(recipe or guess_recipe(directory))
    values = _values(chosen, directory, dict(fields or {}))
    target = directory / FILE_NAME
    if target.exists() and not overwrite:
        raise AlreadyExists(f"{target.name} exists already", [FieldError(
            "--force", "pass --force to replace it, or edit it")])
    write_atomically(target, project_file_text(chosen, values))
    return target


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise InvalidInput(f"unknown recipe {name!r}", [FieldError(
            "--recipe", f"use one of: {', '.join(RECIPES)} (flowpool init --list)")])
    return RECIPES[name]


def _values(recipe: Recipe, directory: Path, fields: dict[str, Any]) -> dict[str, Any]:
    accepted = set(recipe.inputs) | {"name"}
    unknown = sorted(set(fields) - accepted)
    if unknown:
        raise InvalidInput(f"recipe {recipe.name} has no field {', '.join(unknown)}", [
            FieldError(f"--field {key}",
                       f"recipe {recipe.name} takes: {', '.join(sorted(accepted))}")
            for key in unknown])
    values = {**default_values(directory), **fields}
    missing = sorted(key for key in set(recipe.inputs) - OPTIONAL_INPUTS
                     if values.get(key) in (None, ""))
    if missing:
        raise InvalidInput(f"recipe {recipe.name} needs more fields", [
            FieldError(f"--field {key}", f"required: {recipe.inputs[key]}") for key in missing])
    return values


def default_values(directory: Path) -> dict[str, Any]:
    """What the directory tells: its name and path, its git remote and branch."""
    values: dict[str, Any] = {"name": directory.name, "directory": str(directory),
                              "tag": "latest", "dockerfile": "auto"}
    checkout = git_checkout(directory)
    if checkout:
        values.update(repository=checkout.remote_url, branch=checkout.branch)
    return values


def project_file_text(recipe: Recipe, values: dict[str, Any]) -> str:
    """The YAML of the new file: the recipe's sections filled in, and an example deployment."""
    import yaml

    def fill(text: str) -> Any:
        reference = parse_reference(text)
        return values.get(reference.name) if reference.kind == "input" else reference.placeholder

    sections = {"name": values["name"], "build": _filled(recipe.build, fill) or None,
                "push": _filled(recipe.push, fill) or None, "pull": _filled(recipe.pull, fill)}
    body = yaml.safe_dump(sections, sort_keys=False, allow_unicode=True)
    return (f"# flowpool project file, from the {recipe.name} recipe: {recipe.summary}.\n"
            "# build and push run when you deploy; pull runs at the start of every run.\n"
            f"{body}\n{_example_deployment(recipe)}")


def _filled(steps: list[dict[str, Any]], fill) -> list[dict[str, Any]]:
    """The steps with their inputs filled in; an input left empty is left out."""
    return [{name: {key: value for key, value in render(body, fill).items() if value is not None}
             for name, body in step.items()} for step in steps]


def _example_deployment(recipe: Recipe) -> str:
    lines = ["deployments: []", "# Declare deployments here, or let `flowpool deploy` add them:",
             "# - name: my-deployment", "#   entrypoint: flows/my_flow.py:my_flow",
             "#   parameters: {}", "#   work_pool:", "#     name: my-pool"]
    if recipe.job_variables:
        lines.append("#     job_variables:")
        lines += [f'#       {key}: "{value}"' for key, value in recipe.job_variables.items()]
    return "\n".join(lines) + "\n"


def write_deployment_skeleton(directory: Path) -> Path | None:
    """Write `directory/deployment.yaml` as Prefect 2.10 did; None when one exists (it holds
    deployments: it is never replaced)."""
    target = directory.resolve() / DEPLOYMENT_FILE_NAME
    if target.exists():
        return None
    write_atomically(target, DEPLOYMENT_SKELETON)
    return target


def write_atomically(target: Path, text: str) -> None:
    handle, scratch = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(scratch, 0o644)  # mkstemp makes it private; a project file is not secret
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
