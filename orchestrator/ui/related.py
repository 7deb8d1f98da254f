"""What a run page shows beside the run itself when the flow made it: task runs, child flow
runs and artifacts; and the global concurrency limits of the work pools page.

Each section is bounded: a flow of ten thousand tasks shows its first `SHOWN` task runs and
says how to list the rest. Each function returns plain view objects for the templates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..api.concurrency_limits import with_usage
from ..models import FlowRun
from ..store.artifacts import page_artifacts
from ..store.concurrency_limits import page_concurrency_limits
from ..store.run_search import child_flow_runs
from ..store.task_runs import page_task_runs
from .markdown import render_markdown

SHOWN = 200  # rows of each section on a page


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
    in_use: float | None = None  # None while the broker does not answer
    holders: list[str] = field(default_factory=list)  # flow run ids


def task_runs(conn: sa.Connection, run_id: str) -> tuple[list[TaskRunView], bool]:
    """The run's first task runs, in the order they started, and whether there are more."""
    page = page_task_runs(conn, run_id, None, SHOWN)
    views = [TaskRunView(id=t.id, name=t.name, state_type=t.state_type.value,
                         state_name=t.state_name, start_time=t.start_time,
                         end_time=t.end_time, message=t.state_message) for t in page.items]
    return views, page.cursor is not None


def child_runs(conn: sa.Connection, run_id: str) -> list[FlowRun]:
    return child_flow_runs(conn, run_id)


def artifacts(conn: sa.Connection, run_id: str) -> list[ArtifactView]:
    page = page_artifacts(conn, run_id, None, None, SHOWN)
    return [ArtifactView(type=a.type, data=a.data, key=a.key, description=a.description,
                         created=a.created) for a in page.items]


def global_limits(conn: sa.Connection, redis) -> list[GlobalLimitView]:
    """The global concurrency limits with the slots in use and the runs holding them."""
    views = []
    for limit in page_concurrency_limits(conn, None, SHOWN).items:
        usage = with_usage(limit, redis, detail=True)
        views.append(GlobalLimitView(
            name=usage.name, limit=usage.limit, active=usage.active, in_use=usage.active_slots,
            holders=list(dict.fromkeys(h.flow_run_id for h in usage.holders))))
    return views


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
