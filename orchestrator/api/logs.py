"""Routes for a flow run's log lines: shipped in bounded batches, kept within the run's log
budget (FLOWPOOL_RUN_LOG_LIMIT), read in pages.

A batch is read with a byte limit (FLOWPOOL_MAX_REQUEST_BYTES, see body_limit) before any of
it is parsed, so a huge request costs the server at most that much memory. Pages: `?after=CURSOR&limit=N` returns the lines
after CURSOR (a line's id) in order; the next page is `after=` the last line's id, and a full
page carries a `Link: <...>; rel="next"` header to it. The body stays a JSON list.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field, TypeAdapter, ValidationError

from config.settings import get_settings

from ..masking import mask_text
from ..models import Log, LogCreate
from ..models.logs import (MAX_ENTRIES_PER_REQUEST, MAX_PAGE, LogBudget,
                           LogsDropped)
from ..store import flow_runs as runs_store
from ..store import logs as store
from ..store.database import Database
from .dependencies import get_db, utcnow
from .errors import ERROR_RESPONSES

# Not a CheckedRoute: a line with NUL is stored (as U+FFFD), not refused with the whole batch.
router = APIRouter(prefix="/flow_runs", tags=["logs"], responses=ERROR_RESPONSES)
LogBatch = TypeAdapter(Annotated[list[LogCreate], Field(max_length=MAX_ENTRIES_PER_REQUEST)])
BATCH_SCHEMA = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "array", "maxItems": MAX_ENTRIES_PER_REQUEST,
    "items": LogCreate.model_json_schema()}}}}}


async def run_log_limit() -> int:  # a coroutine: no thread hop (see `dependencies`)
    return get_settings().run_log_limit


async def raw_body(request: Request) -> bytes:
    """The request body, unparsed: BodyLimit has already refused (413) one over
    FLOWPOOL_MAX_REQUEST_BYTES, and the batch is parsed in one go below."""
    return await request.body()


@router.post("/{run_id}/logs", status_code=201, openapi_extra=BATCH_SCHEMA)
def create_logs(run_id: str, body: bytes = Depends(raw_body),
                limit_bytes: int = Depends(run_log_limit),
                db: Database = Depends(get_db)) -> LogBudget:
    """Store a batch of lines within the run's budget; the answer says what was dropped and
    whether the budget is spent (then a shipper should stop sending)."""
    try:
        entries = LogBatch.validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    # the engine masks the secrets it knows; URL credentials are masked here whoever sent them
    for entry in entries:
        entry.message = mask_text(entry.message)
    with db.begin() as conn:
        return store.create_logs(conn, run_id, entries, limit_bytes, utcnow())


@router.post("/{run_id}/logs/dropped")
def record_dropped_logs(run_id: str, dropped: LogsDropped,
                        limit_bytes: int = Depends(run_log_limit),
                        db: Database = Depends(get_db)) -> LogBudget:
    """Count lines the run's engine dropped without sending them (its budget was spent)."""
    with db.begin() as conn:
        return store.record_dropped_logs(conn, run_id, dropped, limit_bytes, utcnow())


@router.get("/{run_id}/logs")
def read_logs(run_id: str, request: Request, response: Response,
              after: int = Query(0, ge=0, le=2**63 - 1, description="id of the last line seen"),
              limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE),
              db: Database = Depends(get_db)) -> list[Log]:
    with db.connect() as conn:
        runs_store.read_flow_run(conn, run_id)
        page = store.read_logs(conn, run_id, after, limit)
    if len(page) == limit:
        following = request.url.include_query_params(after=page[-1].id, limit=limit)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return page
