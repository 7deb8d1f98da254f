"""Artifacts: markdown, tables, links, images and progress attached to the current flow run
or task run (or to no run, outside one), reported with the run's other reports.

A key (lowercase letters, digits and dashes) names an artifact across runs: each run's
artifact with that key is a new version of it.
"""
from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

from .live_runs import json_ready
from .reporting import ArtifactReport, ReportBatch
from .run_context import ambient_reporter, flow_run_context, task_run_context

KEY_PATTERN = re.compile(r"^[a-z0-9-]+$")
_progress: dict[str, ArtifactReport] = {}  # progress artifacts made here, for their updates
_progress_lock = threading.Lock()


def create_markdown_artifact(markdown: str, key: str | None = None,
                             description: str | None = None) -> uuid.UUID:
    return _create("markdown", str(markdown), key, description)


def create_table_artifact(table: list[dict] | dict[str, list] | list[list], key: str | None = None,
                          description: str | None = None) -> uuid.UUID:
    """A table given as rows (dicts or lists) or as columns (a dict of lists)."""
    if not isinstance(table, (list, tuple, dict)):
        raise TypeError("a table artifact takes a list of rows or a dict of columns")
    return _create("table", json_ready(table), key, description)


def create_link_artifact(link: str, link_text: str | None = None, key: str | None = None,
                         description: str | None = None) -> uuid.UUID:
    data = f"[{link_text}]({link})" if link_text else link
    return _create("link", data, key, description)


def create_image_artifact(image_url: str, key: str | None = None,
                          description: str | None = None) -> uuid.UUID:
    return _create("image", image_url, key, description)


def create_progress_artifact(progress: float, key: str | None = None,
                             description: str | None = None) -> uuid.UUID:
    """A progress bar, 0 to 100; move it with update_progress_artifact."""
    return _create("progress", _percent(progress), key, description)


def update_progress_artifact(artifact_id: uuid.UUID | str, progress: float,
                             description: str | None = None) -> uuid.UUID:
    with _progress_lock:
        previous = _progress.get(str(artifact_id))
    if previous is None:
        raise ValueError(f"no progress artifact {artifact_id} was created in this process")
    updated = previous._replace(data=_percent(progress),
                                description=description or previous.description)
    _report(updated)
    return uuid.UUID(str(artifact_id))


def _create(kind: str, data: Any, key: str | None, description: str | None) -> uuid.UUID:
    if key is not None and not KEY_PATTERN.match(key):
        raise ValueError(f"artifact key {key!r} may only hold lowercase letters, digits and "
                         "dashes")
    artifact_id = uuid.uuid4()
    flow_context, task_context = flow_run_context.get(), task_run_context.get()
    report = ArtifactReport(str(artifact_id), key, kind, data, description,
                            flow_context.run.id if flow_context else None,
                            task_context.run.id if task_context else None, time.time())
    _report(report)
    return artifact_id


def _report(report: ArtifactReport) -> None:
    if report.type == "progress":
        with _progress_lock:
            _progress[report.id] = report
    flow_context = flow_run_context.get()
    if flow_context is not None:
        flow_context.session.buffer.artifact(report)
    else:
        ambient_reporter().send(ReportBatch([], [], [], [report]))


def _percent(progress: float) -> float:
    progress = float(progress)
    if not 0 <= progress <= 100:
        raise ValueError(f"progress is a percentage from 0 to 100, not {progress}")
    return progress
