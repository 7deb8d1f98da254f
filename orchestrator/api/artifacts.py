"""Routes that read artifacts (they are written by reports: api/reports.py)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from ..models.artifacts import Artifact
from ..models.reports import ARTIFACT_KEY_PATTERN
from ..store import artifacts as store
from ..store import flow_runs as runs_store
from ..store.database import Database
from .checks import CheckedRoute
from .dependencies import get_db
from .errors import ERROR_RESPONSES
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page

router = APIRouter(tags=["artifacts"], route_class=CheckedRoute, responses=ERROR_RESPONSES)


@router.get("/flow_runs/{run_id}/artifacts", responses=PAGE_RESPONSES)
def list_flow_run_artifacts(run_id: str, response: Response,
                            page: PageQuery = Depends(page_query()),
                            db: Database = Depends(get_db)) -> list[Artifact]:
    """The artifacts of a flow run (and of its task runs), newest first."""
    with db.connect() as conn:
        runs_store.read_flow_run(conn, run_id)
        return send_page(response, store.page_artifacts(conn, run_id, None, page.after,
                                                        page.limit))


@router.get("/artifacts", responses=PAGE_RESPONSES)
def list_artifacts(response: Response,
                   key: str = Query(..., pattern=ARTIFACT_KEY_PATTERN, max_length=200,
                                    description="the artifact's key"),
                   page: PageQuery = Depends(page_query()),
                   db: Database = Depends(get_db)) -> list[Artifact]:
    """The versions of the artifact `key`, newest first: the first is its latest."""
    with db.connect() as conn:
        return send_page(response, store.page_artifacts(conn, None, key, page.after,
                                                        page.limit))
