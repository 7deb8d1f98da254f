"""What a run page shows beside the run itself when the flow made it: task runs, child flow
runs and artifacts; and the global concurrency limits of the work pools page.

Child flow runs are read as soon as flow runs record their parent (`store.run_search`). Task
runs, artifacts and global concurrency limits have no table on the server yet: until they
do, these functions find none and their sections stay hidden. Each returns plain view objects,
so the templates need no change when the store starts answering.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..models import FlowRun
from ..store.run_search import child_flow_runs
from .markdown import render_markdown


@dataclass(frozen=True)
class TaskRunView:
    id: str
    name: str
    state_type: str
    state_name: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    message: str | None = None


@dataclass(frozen=True)
class ArtifactView:
    type: str  # markdown, table, link, image, progress
    data: Any
    key: str | None = None
    description: str | None = None
    created: datetime | None = None

    def markdown(self):
        """A markdown artifact, or a link artifact (`[text](url)` or a bare URL), as safe HTML."""
        text = str(self.data)
        if self.type == "link" and not text.startswith("["):
            text = f"[{text}]({text})"
        return render_markdown(text)

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return table_rows(self.data)


@dataclass(frozen=True)
class GlobalLimitView:
    name: str
    limit: int
    active: bool
    holders: list[str] = field(default_factory=list)


def task_runs(conn: sa.Connection, run_id: str) -> list[TaskRunView]:
    return []  # no task-run table on the server yet


def child_runs(conn: sa.Connection, run_id: str) -> list[FlowRun]:
    return child_flow_runs(conn, run_id)


def artifacts(conn: sa.Connection, run_id: str) -> list[ArtifactView]:
    return []  # no artifact table on the server yet


def global_limits(conn: sa.Connection) -> list[GlobalLimitView]:
    return []  # no global concurrency limits on the server yet


def table_rows(data: Any) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of a table artifact given as rows of dicts, rows of lists, or a dict of
    columns."""
    if isinstance(data, dict):
        header = [str(k) for k in data]
        columns = [v if isinstance(v, list) else [v] for v in data.values()]
        height = max((len(c) for c in columns), default=0)
        return header, [[c[i] if i < len(c) else "" for c in columns] for i in range(height)]
    rows = list(data or [])
    if rows and all(isinstance(r, dict) for r in rows):
        header = list(dict.fromkeys(str(k) for r in rows for k in r))
        return header, [[r.get(h, "") for h in header] for r in rows]
    return [], [r if isinstance(r, list) else [r] for r in rows]
