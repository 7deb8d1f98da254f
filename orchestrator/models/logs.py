"""Log lines of a flow run, shipped by the engine and the worker, and the bounds on them.

A run may store FLOWPOOL_RUN_LOG_LIMIT bytes of log lines (its budget); past it, lines are
dropped and counted. Every request and every line is bounded too, so neither a chatty run nor
a hostile caller can grow the server's memory or database without limit.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated
from pydantic import Field

from ..bounds import MAX_PAGE  # noqa: F401 - log lines per GET, as every listing
from .base import WHOLE_NUMBER, Model, Timestamp

MAX_LINE_BYTES = 64 * 1024  # a longer line is cut, with a note of how much was cut
MAX_ENTRIES_PER_REQUEST = 1000
MAX_REQUEST_BYTES = 1024 * 1024  # the JSON body of one POST of log lines
MAX_LEVEL = 100  # logging's levels go to 50 (CRITICAL)


class LogCreate(Model):
    timestamp: Timestamp
    level: Annotated[int, Field(ge=0, le=MAX_LEVEL), WHOLE_NUMBER] = 20
    message: str
    source: str = Field(default="engine", max_length=20)


class Log(LogCreate):
    id: int  # the cursor: the next page is `?after=ID` of the last line of this one
    flow_run_id: str
    timestamp: datetime
    level: int = 20  # as stored, also by versions that did not bound them
    source: str = "engine"


class LogsDropped(Model):
    """Lines an engine did not ship because the run's budget was spent: counted, not sent."""

    lines: Annotated[int, Field(ge=0, le=10**12), WHOLE_NUMBER]
    bytes: Annotated[int, Field(ge=0, le=10**15), WHOLE_NUMBER]


class LogBudget(Model):
    """The answer to shipped lines: what was stored, what was dropped, what room is left."""

    created: int = 0
    dropped: int = 0
    bytes_left: int | None = None
    spent: bool = False  # lines were dropped: nothing more of this run will be stored


def fit_line(message: str, cut_bytes: int = 0) -> str:
    """`message` as it is stored: at most MAX_LINE_BYTES of UTF-8, ending with a note of how
    many bytes were cut (`cut_bytes`: what the caller had cut already). NUL, which PostgreSQL
    text cannot hold, becomes U+FFFD; a lone surrogate, which UTF-8 cannot encode, becomes ?."""
    if "\x00" in message:
        message = message.replace("\x00", "\ufffd")
    try:
        data = message.encode("utf-8")
    except UnicodeEncodeError:
        data = message.encode("utf-8", "replace")
        message = data.decode("utf-8")
    if len(data) <= MAX_LINE_BYTES and not cut_bytes:
        return message
    head = data[:MAX_LINE_BYTES].decode("utf-8", "ignore")
    cut = len(data) - len(head.encode("utf-8")) + cut_bytes
    return f"{head} [flowpool: line cut at {MAX_LINE_BYTES} bytes; {cut} more bytes not kept]"


def line_bytes(line: str) -> int:
    """What a line counts against a run's log budget: its size in UTF-8."""
    return len(line.encode("utf-8", "replace"))
