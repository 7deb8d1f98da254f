"""Routes that read task runs (they are written by reports: api/reports.py)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from ..models.task_runs import TaskRun
from ..store import flow_runs as runs_store
from ..store import task_runs as store
from ..store.database import Database
from .checks import CheckedRoute
from .dependencies import get_db
from .errors import ERROR_RESPONSES
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page

router = APIRouter(tags=["task runs"], route_class=CheckedRoute, responses=ERROR_RESPONSES)


@router.get("/flow_runs/{run_id}/task_runs", responses=PAGE_RESPONSES)
def list_flow_run_task_runs(run_id: str, response: Response,
                            page: PageQuery = Depends(page_query()),
                            db: Database = Depends(get_db)) -> list[TaskRun]:
    """The run's task runs in the order they were created, a page at a time."""
    return _task_runs(db, response, run_id, page)


@router.get("/task_runs", responses=PAGE_RESPONSES)
def list_task_runs(response: Response,
                   flow_run_id: str = Query(..., max_length=36,
                                            description="the flow run whose task runs to list"),
                   page: PageQuery = Depends(page_query()),
                   db: Database = Depends(get_db)) -> list[TaskRun]:
    """The task runs of one flow run, as `/flow_runs/{id}/task_runs`."""
    return _task_runs(db, response, flow_run_id, page)


def _task_runs(db: Database, response: Response, run_id: str, page: PageQuery) -> list[TaskRun]:
    with db.connect() as conn:
        runs_store.read_flow_run(conn, run_id)
        return send_page(response, store.page_task_runs(conn, run_id, page.after, page.limit))
