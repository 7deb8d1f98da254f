"""A batch of reports from the process of a root flow run, applied in one transaction: its
child flow runs, task runs, artifacts and log lines.

Every run a report names must be the root run or one of its descendants (already stored, or
earlier in the batch); anything else refuses the whole batch, naming each field. The root's
row is locked first, so the batches of one tree apply one at a time, and never interleave
with the root's end (`flow_runs.end_descendants`). The root's own snapshot is skipped: its
state is its engine's to propose.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from ..errors import FieldError, InvalidInput
from ..models import FlowRun, LogCreate
from ..models.reports import FlowRunReportIn, ReportBatchIn, ReportResult
from ..states import FINAL_STATES
from .artifacts import upsert_artifacts
from .child_runs import upsert_child_runs
from .flow_runs import flow_run_not_found
from .logs import create_logs
from .tables import flow_runs
from .task_runs import upsert_task_runs

MAX_ERRORS = 20  # named in one refusal


def apply_report(conn: sa.Connection, root_id: str, batch: ReportBatchIn, log_limit_bytes: int,
                 now: datetime) -> ReportResult:
    root = _lock_root(conn, root_id)
    ended = root.state_type in FINAL_STATES
    tree = _Tree(conn, root, batch)
    children = tree.admit_children(batch.flow_runs)
    tree.check_members(batch)
    stored, ignored = upsert_child_runs(conn, root, children, now, ended)
    batch = tree.of_stored_runs(conn, batch)  # a run left out (its tree ended) takes nothing
    result = ReportResult(
        flow_runs=stored, ignored=ignored,
        task_runs=upsert_task_runs(conn, root.id, batch.task_runs, now, ended),
        artifacts=upsert_artifacts(conn, root.id, batch.artifacts, now))
    result.ignored += (len(batch.task_runs) - result.task_runs
                       + len(batch.artifacts) - result.artifacts + tree.left_out)
    _store_logs(conn, batch, log_limit_bytes, now, result)
    return result


def _lock_root(conn: sa.Connection, root_id: str) -> FlowRun:
    row = conn.execute(sa.select(flow_runs).where(flow_runs.c.id == root_id)
                       .with_for_update()).mappings().first()
    if row is None:
        raise flow_run_not_found(root_id)
    root = FlowRun.model_validate(dict(row))
    if root.root_flow_run_id is not None:
        raise InvalidInput(f"flow run {root_id} is a child run: its tree reports through its "
                           f"root run {root.root_flow_run_id}", [FieldError(
                               "run_id", f"send the reports to {root.root_flow_run_id}")])
    return root


class _Tree:
    """The runs of one root's tree that a batch refers to, and the refusals found."""

    def __init__(self, conn: sa.Connection, root: FlowRun, batch: ReportBatchIn):
        self.root = root
        named = _named_runs(batch) - {root.id}
        self.stored_roots = dict(conn.execute(
            sa.select(flow_runs.c.id, flow_runs.c.root_flow_run_id)
            .where(flow_runs.c.id.in_(list(named)))).all()) if named else {}
        self.members = {root.id} | {i for i, r in self.stored_roots.items() if r == root.id}
        self.errors: list[FieldError] = []
        self.left_out = 0

    def admit_children(self, reports: list[FlowRunReportIn]) -> list[FlowRunReportIn]:
        """The child runs, each after its parent; refuses runs of another tree."""
        waiting = []
        for index, report in enumerate(reports):
            if report.id == self.root.id:
                continue
            if report.id in self.stored_roots and report.id not in self.members:
                self._refuse(f"flow_runs.{index}.id", "this run belongs to another flow run")
            else:
                waiting.append((index, report))
        admitted = []
        while waiting:
            ready = [(i, r) for i, r in waiting if r.parent_flow_run_id in self.members]
            if not ready:
                break
            for _, report in ready:
                self.members.add(report.id)
                admitted.append(report)
            waiting = [(i, r) for i, r in waiting if r.id not in self.members]
        for index, _ in waiting:
            self._refuse(f"flow_runs.{index}.parent_flow_run_id",
                         f"not flow run {self.root.id} nor one of its descendants")
        return admitted

    def check_members(self, batch: ReportBatchIn) -> None:
        """Task runs, log lines and artifacts belong to runs of this tree; raise otherwise."""
        for kind, items in (("task_runs", batch.task_runs), ("logs", batch.logs),
                            ("artifacts", batch.artifacts)):
            for index, item in enumerate(items):
                if item.flow_run_id is not None and item.flow_run_id not in self.members:
                    self._refuse(f"{kind}.{index}.flow_run_id",
                                 f"not flow run {self.root.id} nor one of its descendants")
        if self.errors:
            raise InvalidInput(f"reports of runs outside flow run {self.root.id}'s tree",
                               self.errors[:MAX_ERRORS])

    def of_stored_runs(self, conn: sa.Connection, batch: ReportBatchIn) -> ReportBatchIn:
        """The task runs, log lines and artifacts of runs now stored; counts the others."""
        others = list(self.members - {self.root.id})
        stored = {self.root.id} | set(conn.execute(
            sa.select(flow_runs.c.id).where(flow_runs.c.id.in_(others))).scalars())
        kept = {kind: [item for item in getattr(batch, kind)
                       if (item.flow_run_id or self.root.id) in stored]
                for kind in ("task_runs", "logs", "artifacts")}
        self.left_out = sum(len(getattr(batch, k)) - len(v) for k, v in kept.items())
        return batch.model_copy(update=kept)

    def _refuse(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))


def _named_runs(batch: ReportBatchIn) -> set[str]:
    named = {r.id for r in batch.flow_runs}
    named |= {r.parent_flow_run_id for r in batch.flow_runs if r.parent_flow_run_id}
    for items in (batch.task_runs, batch.logs, batch.artifacts):
        named |= {item.flow_run_id for item in items if item.flow_run_id}
    return named


def _store_logs(conn: sa.Connection, batch: ReportBatchIn, limit_bytes: int, now: datetime,
                result: ReportResult) -> None:
    """Each run's lines within that run's own log budget."""
    by_run: dict[str, list[LogCreate]] = defaultdict(list)
    for line in batch.logs:
        by_run[line.flow_run_id].append(LogCreate(
            timestamp=line.timestamp, level=line.level, message=line.message,
            source="task" if line.task_run_id else "flow"))
    for run_id, entries in by_run.items():
        budget = create_logs(conn, run_id, entries, limit_bytes, now)
        result.logs_created += budget.created
        result.logs_dropped += budget.dropped
        if budget.spent:
            result.logs_spent.append(run_id)
