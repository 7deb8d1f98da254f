"""Ships a run's output to the API: `print` output, the run's stderr, and `logging` records.

Lines are buffered and sent in batches from a background thread; nothing is dropped while
the API is briefly away (the client retries), and `close()` sends what is left. Every line has
the run's known secrets and any URL credentials masked before it leaves the process.
"""
from __future__ import annotations

import io
import logging
import sys
import threading
import traceback
from datetime import datetime, timezone

from ..client import FlowpoolClient
from ..masking import redact
from ..models import LogCreate

FLUSH_INTERVAL_S = 0.25
MAX_BATCH = 500


class LogShipper:
    def __init__(self, client: FlowpoolClient, run_id: str, source: str = "engine"):
        self.client, self.run_id, self.source = client, run_id, source
        self._pending: list[LogCreate] = []
        self.secrets: set[str] = set()  # values to mask in every line
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flowpool-log-shipper", daemon=True)

    def start(self) -> "LogShipper":
        self._thread.start()
        return self

    def add(self, level: int, message: str) -> None:
        entry = LogCreate(timestamp=datetime.now(timezone.utc), level=level,
                          message=redact(message, self.secrets), source=self.source)
        with self._lock:
            self._pending.append(entry)
            if len(self._pending) >= MAX_BATCH:
                self._wake.set()

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            self.client.send_logs(self.run_id, batch)
        except Exception as exc:  # keep them for the next try
            with self._lock:
                self._pending[:0] = batch
            print(f"flowpool: could not ship logs yet: {exc}", file=sys.__stderr__)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()


class LineTee(io.TextIOBase):
    """A text stream that ships each complete line and writes it through to `stream` (the
    worker reads that), both with the run's secrets masked; so a line goes out whole."""

    def __init__(self, stream, shipper: LogShipper, level: int):
        self.stream, self.shipper, self.level = stream, shipper, level
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self.stream.write(redact(line, self.shipper.secrets) + "\n")
            self.shipper.add(self.level, line)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def close_partial(self) -> None:
        if self._partial:
            self.stream.write(redact(self._partial, self.shipper.secrets) + "\n")
            self.shipper.add(self.level, self._partial)
            self._partial = ""

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
