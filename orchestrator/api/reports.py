"""The route through which the process of a root flow run reports everything its flow code
did: child flow runs, task runs, log lines and artifacts, in batches (never one request per
task). Snapshots are keyed by ids the process made, so a batch sent twice changes nothing."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from ..masking import mask_text
from ..models.reports import ReportBatchIn, ReportResult
from ..store import reports as store
from ..store.database import Database
from .checks import CheckedRoute
from .dependencies import get_db, utcnow
from .errors import ERROR_RESPONSES
from .logs import run_log_limit

router = APIRouter(prefix="/flow_runs", tags=["reports"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)


@router.post("/{run_id}/reports")
def report(run_id: str, batch: ReportBatchIn, limit_bytes: int = Depends(run_log_limit),
           db: Database = Depends(get_db)) -> ReportResult:
    """Apply one batch for the root run `run_id` and its descendants: at most 1,000 of each
    kind, within FLOWPOOL_MAX_REQUEST_BYTES; log lines count against the log budget of the
    run they belong to. The answer names the runs whose log budget is spent."""
    with db.begin() as conn:
        return store.apply_report(conn, run_id, masked(batch), limit_bytes, utcnow())


def masked(batch: ReportBatchIn) -> ReportBatchIn:
    """The batch with URL credentials masked wherever text is shown: log lines, messages,
    tracebacks, text artifacts (the engine masks the secret values it knows itself)."""
    for line in batch.logs:
        line.message = mask_text(line.message)
    for run in [*batch.flow_runs, *batch.task_runs]:
        if run.message:
            run.message = mask_text(run.message)
    for task_run in batch.task_runs:
        if task_run.error:
            task_run.error = mask_text(task_run.error)
    for artifact in batch.artifacts:
        if isinstance(artifact.data, str):
            artifact.data = mask_text(artifact.data)
    return batch
