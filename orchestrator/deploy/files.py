"""Find and load a project's file: `flowpool.yaml`, else `prefect.yaml`, or an explicit path.

As in Prefect 2.10, a `deployment.yaml` next to it (or alone) adds its deployments: the
project file gives the build, push and pull sections, `deployment.yaml` the deployments
(a `deployments:` list, or one deployment written at the top level, the first 2.10 form).
An entry of `deployment.yaml` replaces the project file's entry of the same name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FieldError, InvalidInput
from ..steps.diagnostics import LineIndex, ProjectWarning
from .schema import ProjectFile, parse_project
from .yamlfile import YamlDocument, parse_yaml

# In order of preference: flowpool's own file wins over a Prefect file next to it.
PROJECT_FILE_NAMES = ("flowpool.yaml", "flowpool.yml", "prefect.yaml", "prefect.yml")
DEPLOYMENT_FILE_NAMES = ("deployment.yaml", "deployment.yml")
# Keys that make a deployment.yaml one deployment written at the top level.
DEPLOYMENT_KEYS = {"entrypoint", "flow_name", "work_pool", "parameters", "schedule"}


@dataclass
class Project:
    """A loaded project file. `root` is where deploy runs: entrypoints are relative to it."""

    path: Path
    root: Path
    spec: ProjectFile
    lines: LineIndex
    warnings: list[ProjectWarning] = field(default_factory=list)
    deployments_from: Path | None = None  # a deployment.yaml whose deployments were merged in


def find_project_file(directory: Path, explicit: Path | None = None) -> Path | None:
    """`explicit` when given (it must exist), else the first project file in `directory`."""
    if explicit is not None:
        path = explicit if explicit.is_absolute() else directory / explicit
        if not path.is_file():
            raise InvalidInput(f"project file {explicit} does not exist", [FieldError(
                "--file", "give the path of a flowpool.yaml or prefect.yaml file")])
        return path
    return next((directory / name for name in PROJECT_FILE_NAMES
                 if (directory / name).is_file()), None)


def load_project(directory: Path | None = None, file: Path | None = None) -> Project | None:
    """The project of `directory` (default: the working directory), with its
    deployment.yaml merged in when no `file` is given; None when it has neither."""
    root = (directory or Path.cwd()).resolve()
    path = find_project_file(root, file)
    extra = None if file else next((root / name for name in DEPLOYMENT_FILE_NAMES
                                    if (root / name).is_file()), None)
    if extra is None:
        return read_project_file(path, root) if path else None
    return read_project_file(path or extra, root, deployments_from=extra)


def read_project_file(path: Path, root: Path | None = None,
                      deployments_from: Path | None = None) -> Project:
    """Parse and validate one project file (with the deployments of `deployments_from`, a
    deployment.yaml, merged in); errors name the field and the line."""
    document = _read_yaml(path)
    if deployments_from is not None:
        document = merged(document if deployments_from != path else YamlDocument({}, LineIndex()),
                          _deployments_document(_read_yaml(deployments_from)))
    source = path.name if deployments_from in (None, path) else f"{path.name} + deployment.yaml"
    spec, warnings = parse_project(document, source)
    return Project(path=path, root=(root or path.parent).resolve(), spec=spec,
                   lines=document.lines, warnings=warnings, deployments_from=deployments_from)


def has_project_files(directory: Path) -> bool:
    return any((directory / name).is_file()
               for name in PROJECT_FILE_NAMES + DEPLOYMENT_FILE_NAMES)


def _read_yaml(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name} is not UTF-8 text", [FieldError(
            path.name, f"byte {exc.start} is not UTF-8; save the file as UTF-8")]) from None
    return parse_yaml(text, path.name)


def _deployments_document(document: YamlDocument) -> YamlDocument:
    """A deployment.yaml as `{deployments: [...]}`: the first 2.10 form wrapped."""
    data = document.data
    if isinstance(data, dict) and "deployments" not in data and DEPLOYMENT_KEYS & set(data):
        shifted = {("deployments", 0, *loc): line for loc, line in document.lines.items()}
        return YamlDocument({"deployments": [data]}, LineIndex(shifted), document.warnings)
    if data is not None and not (isinstance(data, dict) and set(data) <= {"deployments"}):
        raise InvalidInput("deployment.yaml is not a list of deployments", [FieldError(
            "deployment.yaml", "write `deployments:` with one entry per deployment; build, "
                               "push and pull go in prefect.yaml or flowpool.yaml")])
    return document


def merged(project: YamlDocument, extra: YamlDocument) -> YamlDocument:
    """The project document with `extra`'s deployments added; one of the same name replaces
    the project's entry. The lines of `extra`'s entries are those of its own file."""
    data = dict(project.data) if isinstance(project.data, dict) else {}
    own = list(data.get("deployments") or [])
    added = list((extra.data or {}).get("deployments") or [])
    names = {entry.get("name") for entry in added if isinstance(entry, dict) and entry.get("name")}
    kept = [i for i, entry in enumerate(own) if not (isinstance(entry, dict)
                                                     and entry.get("name") in names)]
    data["deployments"] = [own[i] for i in kept] + added
    lines = {loc: line for loc, line in project.lines.items() if loc[:1] != ("deployments",)}
    for new, old in enumerate(kept):
        lines.update({("deployments", new, *loc[2:]): line for loc, line
                      in project.lines.items() if loc[:2] == ("deployments", old)})
    lines.update({("deployments", len(kept) + loc[1], *loc[2:]): line
                  for loc, line in extra.lines.items() if loc[:1] == ("deployments",)
                  and len(loc) > 1})
    return YamlDocument(data, LineIndex(lines), project.warnings + extra.warnings)
