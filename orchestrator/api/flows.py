"""Route for flows: the flow names of deployments and runs, with deployments and last run."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ..bounds import MAX_PAGE
from ..models.removals import FlowSummary
from ..store.database import Database
from ..store.flows import list_flows as list_from_store
from .checks import CheckedRoute
from .dependencies import get_db
from .errors import ERROR_RESPONSES

router = APIRouter(prefix="/flows", tags=["flows"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)


@router.get("")
def list_flows(limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE,
                                  description=f"at most this many flows, 1..{MAX_PAGE}"),
               db: Database = Depends(get_db)) -> list[FlowSummary]:
    """Flows by name, each with its deployments and its latest run."""
    with db.connect() as conn:
        return list_from_store(conn, limit)
