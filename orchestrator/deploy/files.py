"""Find and load a project's file: `flowpool.yaml`, else `prefect.yaml`, or an explicit path."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FieldError, InvalidInput
from ..steps.diagnostics import LineIndex, ProjectWarning
from .schema import ProjectFile, parse_project
from .yamlfile import parse_yaml

# In order of preference: flowpool's own file wins over a Prefect file next to it.
PROJECT_FILE_NAMES = ("flowpool.yaml", "flowpool.yml", "prefect.yaml", "prefect.yml")


@dataclass
class Project:
    """A loaded project file. `root` is where deploy runs: entrypoints are relative to it."""

    path: Path
    root: Path
    spec: ProjectFile
    lines: LineIndex
    warnings: list[ProjectWarning] = field(default_factory=list)


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
    """The project of `directory` (default: the working directory); None when it has no file."""
    root = (directory or Path.cwd()).resolve()
    path = find_project_file(root, file)
    return read_project_file(path, root) if path else None


def read_project_file(path: Path, root: Path | None = None) -> Project:
    """Parse and validate one project file; errors name the field and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name} is not UTF-8 text", [FieldError(
            path.name, f"byte {exc.start} is not UTF-8; save the file as UTF-8")]) from None
    document = parse_yaml(text, path.name)
    spec, warnings = parse_project(document, path.name)
    return Project(path=path, root=(root or path.parent).resolve(), spec=spec,
                   lines=document.lines, warnings=warnings)
