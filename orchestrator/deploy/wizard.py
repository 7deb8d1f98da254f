"""The deploy wizard: on a terminal, `flowpool deploy` asks for what the deployment lacks.

It runs when the one deployment being deployed has no name or no work pool, and asks, in
the order of Prefect's tutorial: the flow (only when no entrypoint is known), the
deployment's name, a schedule (`n` for none, as in the tutorial), the work pool (an
existing one, or a new one), and, in a git checkout with a remote, whether runs pull the code
from that remote. Before the first question it loads the flow and checks the job variables
against the pool, so a broken entrypoint costs no answers. It then offers to save the answers
into the project file; they are written only once the deploy has succeeded.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, get_args

import typer

from ..cli.common import client
from ..errors import AlreadyExists, FlowpoolError
from ..models import WorkPoolCreate
from ..models.base import DISPLAY_NAME_ADVICE, NAME_ADVICE
from ..models.work_pools import WorkerType
from ..schedules import INTERVAL_HELP, schedule_from_flags
from ..steps.diagnostics import LineIndex
from . import (DeploymentOverrides, Project, Selection, git_checkout,
               git_clone_pull_steps, missing_fields)
from .checks import is_display_name, is_name
from .flow_facts import import_flow_facts
from .overrides import apply_overrides
from .saving import save_deployment
from .schema import DeploymentDeclaration, ProjectFile
from .selection import Selected, flow_names, select_deployments

NEW_FILE = "flowpool.yaml"
SCHEDULE_KINDS = ("none", "cron", "interval", "rrule")
YES, NO = ("y", "yes"), ("n", "no")
SCHEDULE_QUESTIONS = {"cron": "Cron expression, e.g. 0 9 * * 1-5",
                      "interval": f"Interval ({INTERVAL_HELP})",
                      "rrule": "RRule, e.g. FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"}
POOL_TYPES: tuple[str, ...] = get_args(WorkerType)  # process, docker, kubernetes


@dataclass
class Wizard:
    """One session of questions about one deployment."""

    root: Path
    spec: ProjectFile
    declaration: DeploymentDeclaration  # the file's entry with the flags applied

    def ask(self) -> DeploymentDeclaration:
        """The declaration with every answer in it."""
        update: dict[str, Any] = {}
        if not self.declaration.entrypoint:
            update["entrypoint"] = self.ask_entrypoint()
        if not self.declaration.name:
            update["name"] = self.ask_name()
        if self.declaration.schedule is None and self.declaration.schedules is None:
            schedule = self.ask_schedule()
            if schedule:
                update["schedules"] = [schedule]
        if not self.declaration.work_pool.name:
            update["work_pool"] = self.declaration.work_pool.model_copy(
                update={"name": self.ask_pool()})
            check_job_variables(update["work_pool"].name, update["work_pool"].job_variables)
        if self.declaration.pull is None and self.spec.pull is None:
            pull = self.ask_git_pull()
            if pull:
                update["pull"] = pull
        return self.declaration.model_copy(update=update)

    def ask_entrypoint(self) -> str:
        while True:
            entrypoint = typer.prompt("Flow to deploy (path/to/file.py:function)").strip()
            try:
                import_flow_facts(entrypoint, self.root)
                return entrypoint
            except FlowpoolError as exc:
                typer.echo(f"  {exc}", err=True)

    def ask_name(self) -> str:
        return _ask_name("Deployment name", default="default", deployment=True)

    def ask_schedule(self) -> dict[str, str] | None:
        kind = _ask_among("Schedule", SCHEDULE_KINDS, default="none", yes_no=True)
        if kind in NO:
            return None
        if kind in YES:
            kind = _ask_among("Which kind of schedule", SCHEDULE_KINDS[1:], default="cron")
        while True:
            expression = typer.prompt(SCHEDULE_QUESTIONS[kind]).strip()
            zone = typer.prompt("Time zone (IANA name)", default="UTC").strip()
            schedule = {kind: expression, "timezone": zone}
            try:
                schedule_from_flags(now=datetime.now(timezone.utc), **schedule)
                return schedule
            except FlowpoolError as exc:
                typer.echo(f"  {exc}", err=True)

    def ask_pool(self) -> str:
        with client() as api:
            pools = api.list_work_pools()
            if not pools:
                typer.echo("There is no work pool yet; create one for the runs to go to.")
                return _create_pool(api)
            typer.echo("Work pools:")
            for number, pool in enumerate(pools, 1):
                typer.echo(f"  {number}. {pool.name} ({pool.type})")
            typer.echo(f"  {len(pools) + 1}. create a new work pool")
            choice = _ask_choice("Which work pool? (number or name)",
                                 [pool.name for pool in pools])
            return choice if choice is not None else _create_pool(api)

    def ask_git_pull(self) -> list[dict[str, Any]] | None:
        checkout = git_checkout(self.root)
        if checkout is None:
            return None
        branch = checkout.branch or "the remote's default branch"
        if typer.confirm(f"Pull your code from the git remote when a run starts? "
                         f"({checkout.remote_url}, {branch}; no: runs start in {self.root})",
                         default=True):
            return git_clone_pull_steps(checkout)
        return None


def complete_interactively(project: Project | None, selection: Selection,
                           overrides: DeploymentOverrides
                           ) -> tuple[Project | None, Selection, DeploymentOverrides | None,
                                      Callable[[], None] | None]:
    """Ask for what the chosen deployment lacks; the project, selection and overrides to
    plan with afterwards (unchanged when nothing is missing), and what writes the answers
    into the project file once the deploy succeeded (None: nothing to write)."""
    spec = project.spec if project else ProjectFile()
    chosen, _ = select_deployments(spec.deployments, selection, project.lines if project else None)
    if len(chosen) != 1:
        return project, selection, overrides, None  # several: the plan names what each lacks
    selected = chosen[0]
    declaration = apply_overrides(selected.declaration, overrides)
    if selection.entrypoint:
        declaration = declaration.model_copy(update={"entrypoint": selection.entrypoint})
    if not {"name", "work_pool.name"} & set(missing_fields(declaration)):
        return project, selection, overrides, None
    root = project.root if project else Path.cwd().resolve()
    check_before_asking(declaration, root)
    typer.echo("A few questions to complete the deployment (--no-prompt never asks):")
    answered = Wizard(root, spec, declaration).ask()
    target = project.path if project else root / NEW_FILE
    save = None
    if _may_save(project, selected) and typer.confirm(
            f"Save these answers into {target.name} once the deploy succeeds?", default=True):
        save = functools.partial(_save, project, target, selected, answered)
    planned = _with_declaration(project, root, target, selected.index, answered)
    return planned, Selection((f"{flow_names(answered)[0]}/{answered.name}",)), None, save


def check_before_asking(declaration: DeploymentDeclaration, root: Path) -> None:
    """What can fail without an answer fails before the first question: the flow loads,
    and the job variables fit the work pool when it is known."""
    if declaration.entrypoint:
        import_flow_facts(declaration.entrypoint, root)
    if declaration.work_pool.name:
        check_job_variables(declaration.work_pool.name, declaration.work_pool.job_variables)


def check_job_variables(pool_name: str, job_variables: dict[str, Any]) -> None:
    from .from_project import job_variables_fit

    with client() as api:
        job_variables_fit(api.read_work_pool(pool_name), job_variables)


def _may_save(project: Project | None, selected: Selected) -> bool:
    """An entry that came from a deployment.yaml is not rewritten into the other file."""
    return not (project and project.deployments_from and selected.index is not None)


def _save(project: Project | None, target: Path, selected: Selected,
          answered: DeploymentDeclaration) -> None:
    entry = entry_to_save(project, selected, answered)
    result = save_deployment(target, entry, selected.index)
    if result.written:
        typer.echo(f"Saved deployment {answered.name!r} into {target.name}.")
    else:
        typer.echo(f"{target.name} cannot take the entry without being rewritten; add it "
                   f"under deployments: yourself:\n{result.entry_text}", err=True)


def entry_to_save(project: Project | None, selected: Selected,
                  answered: DeploymentDeclaration) -> dict[str, Any]:
    """A new entry whole; else the file's entry as written, with what the answers and flags
    changed (keys flowpool ignores, and the file's order, are kept)."""
    if selected.index is None:
        return _written(answered)
    before, after = _written(selected.declaration), _written(answered)
    changed = {key: value for key, value in after.items() if before.get(key) != value}
    return {**_raw_entry(project, selected.index), **changed}


def _written(declaration: DeploymentDeclaration) -> dict[str, Any]:
    return declaration.model_dump(exclude_none=True, exclude_defaults=True)


def _raw_entry(project: Project, index: int) -> dict[str, Any]:
    import yaml

    raw = yaml.safe_load(project.path.read_text(encoding="utf-8")) or {}
    return dict(raw["deployments"][index])


def _with_declaration(project: Project | None, root: Path, path: Path, index: int | None,
                      answered: DeploymentDeclaration) -> Project:
    """The project with the answered deployment in place, in memory only."""
    spec = project.spec if project else ProjectFile()
    deployments = list(spec.deployments)
    if index is None:
        deployments.append(answered)
    else:
        deployments[index] = answered
    return Project(path=path, root=root, spec=spec.model_copy(update={"deployments": deployments}),
                   lines=project.lines if project else LineIndex(),
                   warnings=list(project.warnings) if project else [])


def _ask_name(question: str, default: str | None = None, deployment: bool = False) -> str:
    """A pool's name, or with `deployment` a deployment's (which may have inner spaces)."""
    valid, advice = ((is_display_name, DISPLAY_NAME_ADVICE) if deployment
                     else (is_name, NAME_ADVICE))
    while True:
        name = typer.prompt(question, default=default).strip()
        if valid(name):
            return name
        typer.echo(f"  {name!r} is not a valid name: {advice}", err=True)


def _ask_among(question: str, options: tuple[str, ...], default: str,
               yes_no: bool = False) -> str:
    """One of `options`; with `yes_no`, also y/yes or n/no (`none` is given as `n`)."""
    accepted = options + (YES + NO if yes_no else ())
    while True:
        answer = typer.prompt(f"{question} ({', '.join(options)})", default=default)
        answer = answer.strip().lower()
        if answer in accepted:
            return "n" if answer == "none" and yes_no else answer
        typer.echo(f"  answer one of: {', '.join(options)}" + (", or y/n" if yes_no else ""),
                   err=True)


def _ask_choice(question: str, names: list[str]) -> str | None:
    """A listed name (by number or by name), or None for "create a new one"."""
    while True:
        answer = typer.prompt(question, default="1").strip()
        if answer in names:
            return answer
        if answer.isdigit() and 1 <= int(answer) <= len(names) + 1:
            return names[int(answer) - 1] if int(answer) <= len(names) else None
        typer.echo(f"  give a number from 1 to {len(names) + 1}, or one of: {', '.join(names)}",
                   err=True)


def _create_pool(api) -> str:
    while True:
        name = _ask_name("New work pool name")
        kind = _ask_among("Work pool type", POOL_TYPES, default="process")
        try:
            api.create_work_pool(WorkPoolCreate(name=name, type=kind))
        except AlreadyExists as exc:
            typer.echo(f"  {exc.message}; choose another name", err=True)
            continue
        typer.echo(f"Created work pool {name!r} of type {kind}. Start a worker for it with: "
                   f"flowpool worker start --pool {name}")
        return name
