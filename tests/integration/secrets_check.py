"""Helpers for checking that a secret shows up nowhere a person or another user could see it:
the command lines of a process tree (what `ps` shows) and the logs of a stack."""
from __future__ import annotations

from pathlib import Path

from devstack import LocalStack


def command_lines(root_pid: int) -> list[bytes]:
    """The command lines of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    lines, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return lines


def stack_processes(stack: LocalStack) -> list[bytes]:
    return [line for p in (stack.server, *stack.workers) for line in command_lines(p.pid)]


def stack_logs(stack: LocalStack) -> str:
    paths = [stack.home / "server.log", *(w.log_path for w in stack.workers)]
    return "\n".join(path.read_text(errors="replace") for path in paths)
