"""Which of a file's deployments a `deploy` command means.

`--all`; `--name NAME` (repeatable), where NAME may be `FLOW/NAME` and may hold globs
(`etl-*`, `my-flow/*`); `deploy ENTRYPOINT` picks the entries with that entrypoint. With
nothing chosen, a file with one deployment means that one. A name or an entrypoint the file
does not declare makes a new deployment from the command line's flags.

FLOW is matched against what the file says without importing code: the entry's `flow_name`,
else its entrypoint's function name, as written or with `_` as `-` (a flow's default name).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ..errors import FieldError, InvalidInput
from ..steps.diagnostics import LineIndex, ProjectWarning, warning
from .schema import DeploymentDeclaration

GLOB_CHARACTERS = set("*?[")


@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...] = ()
    all: bool = False
    entrypoint: str | None = None


@dataclass
class Selected:
    """A chosen deployment: its position in the file, or None when the command line declares it."""

    index: int | None
    declaration: DeploymentDeclaration


def select_deployments(declared: list[DeploymentDeclaration], selection: Selection,
                       lines: LineIndex | None = None
                       ) -> tuple[list[Selected], list[ProjectWarning]]:
    """The chosen deployments in file order, and warnings about blank entries left out."""
    if selection.all and selection.names:
        raise InvalidInput("choose deployments with --all or with --name, not both", [
            FieldError("--all", "drop --all to deploy only the named deployments")])
    if selection.all and selection.entrypoint:
        raise InvalidInput("--all deploys the file's deployments, each with its own entrypoint", [
            FieldError("--all", "drop the ENTRYPOINT, or choose a deployment with --name")])
    candidates = [(i, d) for i, d in enumerate(declared) if not d.is_blank()]
    skipped = [warning(("deployments", i), "has no name and no entrypoint (a blank template "
                                           "entry); skipped", lines)
               for i, d in enumerate(declared) if d.is_blank()]
    if selection.all:
        chosen = [Selected(i, d) for i, d in candidates]
        if not chosen:
            raise InvalidInput("the file declares no deployment to deploy", [FieldError(
                "deployments", "add an entry with a name and an entrypoint")] + [
                FieldError(w.field, f"{w.message} (line {w.line})" if w.line else w.message)
                for w in skipped])
    elif selection.names:
        chosen = _by_names(candidates, selection)
    elif selection.entrypoint:
        chosen = [Selected(i, d) for i, d in candidates
                  if _same_entrypoint(d.entrypoint, selection.entrypoint)] or [_new(selection)]
    else:
        chosen = _the_only_one(candidates, selection)
    return chosen, skipped


def _by_names(candidates: list[tuple[int, DeploymentDeclaration]],
              selection: Selection) -> list[Selected]:
    chosen: dict[int, Selected] = {}
    new: list[Selected] = []
    for pattern in selection.names:
        matches = [(i, d) for i, d in candidates if matches_pattern(d, pattern)]
        if matches:
            chosen.update({i: Selected(i, d) for i, d in matches})
        elif selection.entrypoint and _is_plain_name(pattern):
            new.append(_new(Selection((pattern,), entrypoint=selection.entrypoint)))
        else:
            raise _nothing_matches(pattern, candidates, selection)
    return [chosen[i] for i in sorted(chosen)] + new


def _the_only_one(candidates: list[tuple[int, DeploymentDeclaration]],
                  selection: Selection) -> list[Selected]:
    if len(candidates) == 1:
        return [Selected(*candidates[0])]
    if not candidates:
        return [_new(selection)]
    names = ", ".join(full_name(d) for _, d in candidates)
    raise InvalidInput(f"the file declares {len(candidates)} deployments; say which to deploy", [
        FieldError("--name", f"give --name NAME (repeatable, globs allowed) or --all; "
                             f"deployments: {names}")])


def _new(selection: Selection) -> Selected:
    name = selection.names[0] if len(selection.names) == 1 else None
    return Selected(None, DeploymentDeclaration(name=name, entrypoint=selection.entrypoint))


def _nothing_matches(pattern: str, candidates: list[tuple[int, DeploymentDeclaration]],
                     selection: Selection) -> InvalidInput:
    names = ", ".join(full_name(d) for _, d in candidates) or "none"
    advice = f"the file's deployments are: {names}"
    if not selection.entrypoint and _is_plain_name(pattern):
        advice += "; to declare a new one, give its entrypoint too: deploy path/to/file.py:flow"
    return InvalidInput(f"no deployment matches {pattern!r}", [FieldError("--name", advice)])


def matches_pattern(declaration: DeploymentDeclaration, pattern: str) -> bool:
    """`NAME` or `FLOW/NAME`, either part possibly a glob."""
    if not declaration.name:
        return False
    if "/" not in pattern:
        return fnmatch.fnmatchcase(declaration.name, pattern)
    return any(fnmatch.fnmatchcase(f"{flow}/{declaration.name}", pattern)
               for flow in flow_names(declaration))


def flow_names(declaration: DeploymentDeclaration) -> list[str]:
    """The names the deployment's flow may go by, as far as the file tells."""
    if declaration.flow_name:
        return [declaration.flow_name]
    function = function_name(declaration.entrypoint)
    return list(dict.fromkeys([function, function.replace("_", "-")])) if function else []


def function_name(entrypoint: str | None) -> str | None:
    if not entrypoint:
        return None
    separator = ":" if ":" in entrypoint else "."
    return entrypoint.rpartition(separator)[2] or None


def full_name(declaration: DeploymentDeclaration) -> str:
    flows = flow_names(declaration)
    return f"{flows[-1]}/{declaration.name}" if flows else str(declaration.name)


def _same_entrypoint(written: str | None, given: str) -> bool:
    return bool(written) and _normalized(written) == _normalized(given)


def _normalized(entrypoint: str) -> str:
    return entrypoint.strip().removeprefix("./")


def _is_plain_name(pattern: str) -> bool:
    return "/" not in pattern and not (set(pattern) & GLOB_CHARACTERS)
