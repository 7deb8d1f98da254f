"""Naming a place in a project file: `deployments[0].work_pool.name (line 12)`.

Every error and warning about a project file names the field the way a user reads it and
the line it is written on, so it can be found in a 3,000-line file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

from ..errors import FieldError

Key = Union[str, int]
Loc = tuple[Key, ...]


def format_path(loc: Loc) -> str:
    """('deployments', 0, 'work_pool', 'name') -> 'deployments[0].work_pool.name'."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


class LineIndex:
    """The line on which each path of a YAML document is written (1-based)."""

    def __init__(self, lines: Mapping[Loc, int] | None = None):
        self._lines = dict(lines or {})

    def items(self):
        """(path, line) of every value written."""
        return self._lines.items()

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor written in the file."""
        for end in range(len(loc), -1, -1):
            line = self._lines.get(_normalized(loc[:end]))
            if line is not None:
                return line
        return None


def _normalized(loc: Loc) -> Loc:
    return tuple(key if isinstance(key, int) else str(key) for key in loc)


@dataclass(frozen=True)
class ProjectWarning:
    """Something in the file that flowpool ignores or doubts, with where it is."""

    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.field} (line {self.line})" if self.line else self.field
        return f"{where}: {self.message}" if where else self.message


def field_error(loc: Loc, message: str, lines: LineIndex | None,
                line_loc: Loc | None = None) -> FieldError:
    """A FieldError naming the field of `loc` and, when known, its line (that of `line_loc`
    when the field is shown by another path than the one it is written at)."""
    line = lines.line_of(line_loc or loc) if lines else None
    return FieldError(format_path(loc), f"{message} (line {line})" if line else message)


def warning(loc: Loc, message: str, lines: LineIndex | None) -> ProjectWarning:
    return ProjectWarning(format_path(loc), message, lines.line_of(loc) if lines else None)
