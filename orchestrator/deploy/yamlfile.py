"""Read a YAML document and remember the line of every value in it.

PyYAML's safe loader does the parsing (anchors, aliases and `<<:` merges included); before
it builds the Python values we walk its node tree once to record, for each path, the line
where it is written. A value that comes through an alias is located at its anchor, where
the user would fix it. Malformed YAML becomes an InvalidInput that names the line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import FieldError, InvalidInput
from ..steps.diagnostics import LineIndex, Loc, ProjectWarning, format_path

MERGE_KEY_TAG = "tag:yaml.org,2002:merge"
HINTS = {
    "found undefined alias": "define the anchor (&name) before the alias (*name) uses it",
    "found unhashable key": 'quote a value that starts with "{{", e.g. image: "{{ build.image }}"',
    "could not find expected ':'":
        "every line of a mapping needs `key: value`; look for a wrapped comment or a missing colon",
    "found character '\\t'": "indent with spaces, not tabs",
}


@dataclass
class YamlDocument:
    """The values of a YAML document, where each is written, and what looked doubtful."""

    data: Any
    lines: LineIndex
    warnings: list[ProjectWarning] = field(default_factory=list)


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one YAML document; `source` names it in errors (usually the file name)."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, LineIndex())
        lines: dict[Loc, int] = {}
        warnings: list[ProjectWarning] = []
        _index(loader, node, (), node.start_mark.line + 1, lines, warnings, set())
        return YamlDocument(loader.construct_document(node), LineIndex(lines), warnings)
    except yaml.MarkedYAMLError as exc:
        raise malformed_yaml(exc, source) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML: {exc}", [
            FieldError(source, "save the file as UTF-8 YAML")]) from None
    finally:
        loader.dispose()


def _index(loader, node, loc: Loc, line: int, lines: dict[Loc, int],
           warnings: list[ProjectWarning], active: set[int]) -> None:
    import yaml

    lines[loc] = line
    if id(node) in active:  # an alias that contains itself
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        warnings += _duplicate_keys(node, loc)
        loader.flatten_mapping(node)  # resolves `<<:` merges, as construction will
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _index(loader, value_node, loc + (key_node.value,),
                       key_node.start_mark.line + 1, lines, warnings, active)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(loader, item, loc + (position,), item.start_mark.line + 1, lines, warnings,
                   active)
    active.discard(id(node))


def _duplicate_keys(node, loc: Loc) -> list[ProjectWarning]:
    """Keys written twice in one mapping: YAML keeps the last silently, we say so."""
    seen: dict[str, int] = {}
    warnings = []
    for key_node, _ in node.value:
        if key_node.tag == MERGE_KEY_TAG or not isinstance(key_node.value, str):
            continue
        line = key_node.start_mark.line + 1
        if key_node.value in seen:
            warnings.append(ProjectWarning(
                format_path(loc + (key_node.value,)),
                f"given twice (lines {seen[key_node.value]} and {line}); the last one is used",
                line))
        seen[key_node.value] = line
    return warnings


def malformed_yaml(exc, source: str) -> InvalidInput:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    problem = exc.problem or exc.context or "malformed YAML"
    detail = f"{where}: {problem}"
    if exc.context and exc.problem:
        detail += f" ({exc.context}"
        detail += f" at line {exc.context_mark.line + 1})" if exc.context_mark else ")"
    hint = next((text for marker, text in HINTS.items() if marker in problem), None)
    return InvalidInput(f"{source} is not valid YAML: {where}: {problem}",
                        [FieldError(source, detail + (f"; {hint}" if hint else ""))])
