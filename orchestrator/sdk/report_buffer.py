"""The buffer between runs and their Reporter: snapshots in, batches out.

Adding is a dict store under a lock (a task run costs two: its start and its end, and the
second replaces the first when both are still here). A batch goes out when `max_batch`
snapshots wait, every `flush_interval_s` from a background thread (only when the reporter
asks for it), and on `close()`. Batches are sent one at a time, in order, so a later
snapshot of a run never reaches the reporter before an earlier one.
"""
from __future__ import annotations

import sys
import threading

from .reporting import ArtifactReport, FlowRunReport, LogLine, ReportBatch, TaskRunReport

MAX_BATCH = 1000


class PendingReports:
    """Reports waiting to go out, merged: the latest snapshot of each run (in the order runs
    first appeared), every log line, the latest of each artifact. Its owner locks it."""

    def __init__(self):
        self.flow_runs: dict[str, FlowRunReport] = {}
        self.task_runs: dict[str, TaskRunReport] = {}
        self.logs: list[LogLine] = []
        self.artifacts: dict[str, ArtifactReport] = {}

    def __bool__(self) -> bool:
        return bool(self.flow_runs or self.task_runs or self.logs or self.artifacts)

    def merge(self, batch: ReportBatch, max_logs: int) -> int:
        """Add `batch`, keeping at most `max_logs` log lines queued; how many were dropped."""
        self.flow_runs.update((r.id, r) for r in batch.flow_runs)
        self.task_runs.update((r.id, r) for r in batch.task_runs)
        room = max(max_logs - len(self.logs), 0)
        self.logs.extend(batch.logs[:room])
        self.artifacts.update((a.id, a) for a in batch.artifacts)
        return max(len(batch.logs) - room, 0)

    def batch(self) -> ReportBatch:
        return ReportBatch(list(self.flow_runs.values()), list(self.task_runs.values()),
                           self.logs, list(self.artifacts.values()))


class ReportBuffer:
    def __init__(self, reporter, max_batch: int = MAX_BATCH):
        self.reporter = reporter
        self.max_batch = max_batch
        self.interval_s = getattr(reporter, "flush_interval_s", None)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # one batch at a time, in order
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._reset()

    def _reset(self) -> None:
        self._pending = PendingReports()
        self._count = 0

    def flow_run(self, report: FlowRunReport) -> None:
        with self._lock:
            self._pending.flow_runs[report.id] = report
            full = self._added()
        if full:
            self.flush()

    def task_run(self, report: TaskRunReport) -> None:
        with self._lock:
            self._pending.task_runs[report.id] = report
            full = self._added()
        if full:
            self.flush()

    def log(self, line: LogLine) -> None:
        with self._lock:
            self._pending.logs.append(line)
            full = self._added()
        if full:
            self.flush()

    def artifact(self, report: ArtifactReport) -> None:
        with self._lock:
            self._pending.artifacts[report.id] = report
            full = self._added()
        if full:
            self.flush()

    def _added(self) -> bool:
        """Count one snapshot (under the lock); whether a batch is due."""
        self._count += 1
        if self._thread is None and self.interval_s:
            self._start_flusher()
        return self._count >= self.max_batch

    def flush(self) -> None:
        with self._send_lock:
            with self._lock:
                if not self._count:
                    return
                batch = self._pending.batch()
                self._reset()
            try:
                self.reporter.send(batch)
            except Exception as exc:  # noqa: BLE001 - reports must never fail the flow
                print(f"flowpool: could not report {len(batch.task_runs)} task run(s) and "
                      f"{len(batch.logs)} log line(s): {exc!r}", file=sys.__stderr__)

    def close(self) -> None:
        self._closed.set()
        self.flush()

    def _start_flusher(self) -> None:
        self._thread = threading.Thread(target=self._flush_every_interval, daemon=True,
                                        name="flowpool-report-buffer")
        self._thread.start()

    def _flush_every_interval(self) -> None:
        while not self._closed.wait(self.interval_s):
            self.flush()
