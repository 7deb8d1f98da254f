"""Save one deployment entry into a project file: what the deploy wizard offers at its end.

A person's project file has comments, anchors and an order they chose, so it is never
re-dumped: the entry's text is spliced into the `deployments:` list at the place PyYAML's
parser says the list (or the replaced entry) is written. The result is parsed again and
must equal the old document with just that entry added or replaced; if the file's shape
does not allow a clean splice (a flow-style list, say), nothing is written and the caller
shows the entry to paste instead. A new file is written whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .recipes import write_atomically

NEW_FILE_HEADER = ("# flowpool project file, written by `flowpool deploy`.\n"
                   "# build and push run when you deploy; pull runs at the start of every run.\n")


@dataclass(frozen=True)
class SaveResult:
    path: Path
    written: bool
    entry_text: str  # the entry as YAML, to paste under `deployments:` when not written


def save_deployment(path: Path, entry: dict[str, Any], index: int | None = None) -> SaveResult:
    """Add `entry` to the file's deployments (or replace the one at `index`); create the
    file when it does not exist."""
    if not path.exists():
        text = NEW_FILE_HEADER + "deployments:\n" + entry_block(entry, 0)
        write_atomically(path, text)
        return SaveResult(path, True, entry_block(entry, 0))
    old = path.read_text(encoding="utf-8")
    new = spliced(old, entry, index)
    if new is None:
        return SaveResult(path, False, entry_block(entry, 0))
    write_atomically(path, new)
    return SaveResult(path, True, entry_block(entry, 0))


def entry_block(entry: dict[str, Any], indent: int) -> str:
    """`- name: ...` lines of one list item, indented by `indent` spaces."""
    import yaml

    text = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "".join(" " * indent + line for line in text.splitlines(keepends=True))


def spliced(text: str, entry: dict[str, Any], index: int | None) -> str | None:
    """`text` with the entry spliced in, or None when that cannot be done cleanly."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        before = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    candidate = _splice(text, root, entry, index)
    if candidate is None or not _only_entry_changed(before, candidate, entry, index):
        return None
    return candidate


def _splice(text: str, root, entry: dict[str, Any], index: int | None) -> str | None:
    import yaml

    if root is None:  # empty, or only comments
        return _appended(text, "deployments:\n" + entry_block(entry, 0))
    if not isinstance(root, yaml.MappingNode):
        return None
    found = next(((k, v) for k, v in root.value
                  if isinstance(k, yaml.ScalarNode) and k.value == "deployments"), None)
    if found is None:
        return _appended(text, "deployments:\n" + entry_block(entry, 0))
    key, value = found
    if _is_empty(value) and index is None:
        # `deployments: []` or `deployments:` alone: the list starts on the next line
        return text[:key.end_mark.index] + ":\n" + entry_block(entry, 0).rstrip("\n") + \
            text[value.end_mark.index:]
    if not isinstance(value, yaml.SequenceNode) or value.flow_style or not value.value:
        return None
    indent = value.start_mark.column
    if index is None:
        at = _line_start(text, value.value[-1].end_mark.index)
        return text[:at] + _ensure_newline(text[:at]) + entry_block(entry, indent) + text[at:]
    item = value.value[index]
    start = _line_start(text, item.start_mark.index)
    end = _line_start(text, item.end_mark.index)
    if end <= start:
        end = len(text)
    return text[:start] + entry_block(entry, indent) + text[end:]


def _is_empty(node) -> bool:
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return node.tag == "tag:yaml.org,2002:null"
    return isinstance(node, yaml.SequenceNode) and not node.value and node.flow_style


def _line_start(text: str, position: int) -> int:
    """The start of the line holding `position` (a node's end mark may sit mid-line, on the
    indentation before the next item)."""
    if position >= len(text):
        return len(text)
    return text.rfind("\n", 0, position) + 1


def _appended(text: str, block: str) -> str:
    return text + _ensure_newline(text) + block


def _ensure_newline(text: str) -> str:
    return "" if not text or text.endswith("\n") else "\n"


def _only_entry_changed(before: Any, candidate: str, entry: dict[str, Any],
                        index: int | None) -> bool:
    import yaml

    try:
        after = yaml.safe_load(candidate)
    except yaml.YAMLError:
        return False
    expected = dict(before or {})
    deployments = list(expected.get("deployments") or [])
    if index is None:
        deployments.append(entry)
    else:
        deployments[index] = entry
    expected["deployments"] = deployments
    return after == expected
