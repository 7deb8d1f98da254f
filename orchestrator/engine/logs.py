"""Ships a run's output to the API: `print` output, the run's stderr, and `logging` records.

Lines are buffered and sent in batches from a background thread, the first after
FIRST_FLUSH_S (so a short run's lines ride with its final state); nothing is dropped while
the API is briefly away (the client retries), and `close()` sends what is left. Every line has
the run's known secrets and any URL credentials masked before it leaves the process. The run's
log budget bounds it all: the buffer never holds more than the API said the run may still
store, and once the API says the budget is spent, lines are only counted, and the count
reported. Nothing here blocks the flow or fails it: a line that cannot be shipped is dropped.
"""
from __future__ import annotations

import io
import logging
import sys
import threading
import time
import traceback
from datetime import datetime, timezone

from config.settings import DEFAULT_RUN_LOG_LIMIT

from ..client import FlowpoolClient
from ..errors import ApiUnavailable, FlowpoolError
from ..masking import redact
from ..models import LogCreate
from ..models.logs import (MAX_LEVEL, MAX_LINE_BYTES, LogBudget, LogsDropped, fit_line,
                           line_bytes)

FLUSH_INTERVAL_S = 0.25
FIRST_FLUSH_S = 2.0
MAX_BATCH = 500
DROPPED_REPORT_INTERVAL_S = 1.0
KEEP_LAST_BYTES = 64 * 1024  # the last lines that may ride with the final state


class LogShipper:
    def __init__(self, client: FlowpoolClient, run_id: str, source: str = "engine"):
        self.client, self.run_id, self.source = client, run_id, source
        self._pending: list[LogCreate] = []
        self.secrets: set[str] = set()  # values to mask in every line
        self._pending_bytes = 0
        # What the API last said the run may still store; until it answers, the default budget.
        self._room = DEFAULT_RUN_LOG_LIMIT
        self._spent = False
        self._dropped_lines = self._dropped_bytes = 0  # not reported yet
        self._reported_at = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flowpool-log-shipper", daemon=True)

    def start(self) -> "LogShipper":
        self._thread.start()
        return self

    def add(self, level: int, message: str, cut_bytes: int = 0) -> None:
        line = fit_line(redact(message, self.secrets), cut_bytes)
        with self._lock:
            self._queue(LogCreate(timestamp=datetime.now(timezone.utc),
                                  level=min(max(level, 0), MAX_LEVEL), message=line,
                                  source=self.source))

    def add_entries(self, entries: list[LogCreate]) -> None:
        """Lines ready to send that were logged elsewhere (the flow's own run logger), so
        they go with this run's last lines when those ride with the final state."""
        with self._lock:
            for entry in entries:
                self._queue(entry)

    def _queue(self, entry: LogCreate) -> None:
        """Queue one line within the run's log budget (under the lock)."""
        size = line_bytes(entry.message)
        if self._spent or self._pending_bytes + size > self._room:
            self._spent = True  # the API would drop it; so are all later lines
            self._count_dropped(1, size)
            return
        self._pending.append(entry)
        self._pending_bytes += size
        if len(self._pending) >= MAX_BATCH:
            self._wake.set()

    def _loop(self) -> None:
        wait_s = FIRST_FLUSH_S  # a run shorter than this sends its lines with its final state
        while not self._closed.is_set():
            self._wake.wait(wait_s)
            wait_s = FLUSH_INTERVAL_S
            if self._closed.is_set():
                return  # close() sends (or hands back) what is left
            self._wake.clear()
            self.flush()
            self.report_dropped()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending, self._pending_bytes = self._pending, [], 0
        while batch:
            try:
                budget, sent = self.client.send_logs(self.run_id, batch)
            except ApiUnavailable as exc:  # keep them for the next try
                self._put_back(batch)
                print(f"flowpool: could not ship logs yet: {exc}", file=sys.__stderr__)
                return
            except FlowpoolError as exc:  # refused for good: never retry, never fail the run
                self._give_up(batch, exc)
                return
            except Exception as exc:  # noqa: BLE001 - whatever it is, the flow goes on
                self._put_back(batch)
                print(f"flowpool: could not ship logs: {exc!r}", file=sys.__stderr__)
                return
            batch = batch[sent:]
            if self._learn(budget) and batch:
                with self._lock:
                    self._count_dropped(len(batch), sum(line_bytes(e.message) for e in batch))
                return

    def report_dropped(self, final: bool = False) -> None:
        """Tell the API how many lines were dropped here, at most once a second."""
        with self._lock:
            due = final or time.monotonic() - self._reported_at >= DROPPED_REPORT_INTERVAL_S
            if not self._dropped_lines or not due:
                return
            dropped = LogsDropped(lines=self._dropped_lines, bytes=self._dropped_bytes)
            self._dropped_lines = self._dropped_bytes = 0
            self._reported_at = time.monotonic()
        try:
            self.client.report_dropped_logs(self.run_id, dropped)
        except FlowpoolError as exc:
            with self._lock:
                self._count_dropped(dropped.lines, dropped.bytes)
            print(f"flowpool: could not report dropped log lines: {exc}", file=sys.__stderr__)

    def _learn(self, budget: LogBudget) -> bool:
        """Take in what the API said of the budget; whether it is spent."""
        with self._lock:
            if budget.bytes_left is not None:
                self._room = budget.bytes_left
            if budget.spent:
                self._spent = True
                self._count_dropped(len(self._pending), self._pending_bytes)
                self._pending, self._pending_bytes = [], 0
            return budget.spent

    def _put_back(self, batch: list[LogCreate]) -> None:
        with self._lock:
            self._pending[:0] = batch
            self._pending_bytes += sum(line_bytes(entry.message) for entry in batch)

    def _give_up(self, batch: list[LogCreate], exc: FlowpoolError) -> None:
        with self._lock:
            self._spent = True
            self._count_dropped(len(batch) + len(self._pending),
                                sum(line_bytes(e.message) for e in batch) + self._pending_bytes)
            self._pending, self._pending_bytes = [], 0
        print(f"flowpool: the API refused this run's log lines, dropping them: {exc}",
              file=sys.__stderr__)

    def _count_dropped(self, lines: int, size: int) -> None:
        self._dropped_lines += lines
        self._dropped_bytes += size

    def close(self, keep_last: bool = False) -> list[LogCreate]:
        """Stop shipping; send what is left. With `keep_last`, lines that fit in a small
        request (nothing dropped meanwhile) are handed back instead, for the engine to send
        with its final state."""
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=5)
        with self._lock:  # lines handed over by add_entries() were logged in between
            self._pending.sort(key=lambda entry: entry.timestamp)
        if keep_last:
            with self._lock:
                if (not self._dropped_lines and len(self._pending) <= MAX_BATCH
                        and self._pending_bytes <= KEEP_LAST_BYTES):
                    kept, self._pending, self._pending_bytes = self._pending, [], 0
                    return kept
        self.flush()
        self.report_dropped(final=True)
        return []


class LineTee(io.TextIOBase):
    """A text stream that ships each complete line and writes it through to `stream` (the
    worker reads that), both with the run's secrets masked; so a line goes out whole.

    A line longer than MAX_LINE_BYTES keeps only its start (progress bars that never print a
    newline included), so its cost does not grow with its length.
    """

    def __init__(self, stream, shipper: LogShipper, level: int):
        self.stream, self.shipper, self.level = stream, shipper, level
        self._parts: list[str] = []
        self._kept = 0  # characters of the current line kept
        self._cut = 0  # bytes of the current line not kept

    def write(self, text: str) -> int:
        *lines, rest = text.split("\n")
        for line in lines:
            self._take(line)
            self._ship()
        self._take(rest)
        return len(text)

    def _take(self, text: str) -> None:
        room = max(0, MAX_LINE_BYTES - self._kept)  # a character is at least a byte
        if len(text) > room:
            self._cut += line_bytes(text[room:])
            text = text[:room]
        if text:
            self._parts.append(text)
            self._kept += len(text)

    def _ship(self) -> None:
        line = "".join(self._parts)
        shown = redact(line, self.shipper.secrets)
        self.stream.write((fit_line(shown, self._cut) if self._cut else shown) + "\n")
        self.shipper.add(self.level, line, self._cut)
        self._parts, self._kept, self._cut = [], 0, 0

    def flush(self) -> None:
        self.stream.flush()

    def close_partial(self) -> None:
        if self._parts or self._cut:
            self._ship()

    @property
    def encoding(self):
        return getattr(self.stream, "encoding", "utf-8")

    def isatty(self) -> bool:
        return False


class ShippingHandler(logging.Handler):
    def __init__(self, shipper: LogShipper):
        super().__init__()
        self.shipper = shipper

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self.shipper.add(record.levelno, f"{record.name}: {message}")
        except Exception:
            self.handleError(record)


class RedactingConsole:
    """Where run-logger lines are echoed for the worker's output: with the run's secrets
    masked, as in its shipped logs (a block's secret loaded by the flow included)."""

    def __init__(self, stream, secrets: set[str]):
        self.stream, self.secrets = stream, secrets

    def write(self, text: str) -> int:
        return self.stream.write(redact(text, self.secrets))

    def flush(self) -> None:
        self.stream.flush()


class RedactingFormatter(logging.Formatter):
    """The engine's own console lines, with the run's secrets masked like its shipped logs."""

    def __init__(self, shipper: LogShipper, fmt: str):
        super().__init__(fmt)
        self.shipper = shipper

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.shipper.secrets)


def capture_output(shipper: LogShipper) -> tuple[LineTee, LineTee]:
    """Route print output, stderr and logging records of the run to the shipper."""
    out = LineTee(sys.stdout, shipper, logging.INFO)
    err = LineTee(sys.stderr, shipper, logging.WARNING)
    console = logging.StreamHandler(sys.__stderr__)
    console.setFormatter(RedactingFormatter(shipper, "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [ShippingHandler(shipper), console]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore"):  # the engine's own HTTP calls are not the run's logs
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.stdout, sys.stderr = out, err
    return out, err
