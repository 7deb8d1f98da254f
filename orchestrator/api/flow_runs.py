"""Routes for flow runs: reading them, claiming them, proposing states, and their logs."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from ..errors import StateRejected
from ..leases import request_cancel
from ..models import (ClaimedRun, ClaimRequest, FlowRun, FlowRunDetail, Log, LogCreate,
                      StateProposal)
from ..states import Origin, StateType, is_final
from ..store import flow_runs as store
from ..store import logs as logs_store
from ..store.database import Database
from ..store.deployments import read_deployment_by_id
from ..store.pages import Page
from ..store.work_pools import read_work_pool
from ..wakeup import Doorbell
from .checks import CheckedRoute
from .dependencies import get_db, get_doorbell, get_redis, ring, utcnow
from .errors import ERROR_RESPONSES
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page
from .waiting import annotate_waiting

router = APIRouter(prefix="/flow_runs", tags=["flow runs"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)
DEFAULT_RUNS_PER_PAGE = 100


@router.get("", responses=PAGE_RESPONSES)
def list_flow_runs(response: Response, state: str | None = None,
                   deployment_id: str | None = None, work_pool: str | None = None,
                   page: PageQuery = Depends(page_query(DEFAULT_RUNS_PER_PAGE)),
                   db: Database = Depends(get_db), redis=Depends(get_redis)) -> list[FlowRun]:
    """Runs, newest first, a page at a time; waiting ones say whether they are Late and why
    they wait."""
    state_type = store.parse_state_type(state) if state else None
    with db.connect() as conn:
        found = store.page_flow_runs(conn, state_type, deployment_id, work_pool, page.after,
                                     page.limit)
        runs = annotate_waiting(conn, redis, found.items)
    return send_page(response, Page(runs, found.cursor))


@router.get("/{run_id}")
def read_flow_run(run_id: str, db: Database = Depends(get_db),
                  redis=Depends(get_redis)) -> FlowRunDetail:
    with db.connect() as conn:
        return annotate_waiting(conn, redis, [store.read_flow_run_detail(conn, run_id)])[0]


@router.post("/{run_id}/claim")
def claim_flow_run(run_id: str, request: ClaimRequest, db: Database = Depends(get_db)) -> ClaimedRun:
    """PENDING -> RUNNING, accepted only with the current dispatch token."""
    with db.begin() as conn:
        run = store.set_state(conn, run_id, StateProposal(type=StateType.RUNNING, token=request.token),
                              Origin.TOKEN_HOLDER, utcnow(), worker_name=request.worker_name)
        if run.deployment_id is None:
            raise StateRejected(f"flow run {run_id} has no deployment to run")
        deployment = read_deployment_by_id(conn, run.deployment_id)
        pool = read_work_pool(conn, run.work_pool_name)
    return ClaimedRun(flow_run=run, deployment=deployment, work_pool=pool)


@router.post("/{run_id}/state")
def set_flow_run_state(run_id: str, proposal: StateProposal, db: Database = Depends(get_db),
                       doorbell: Doorbell | None = Depends(get_doorbell)) -> FlowRun:
    with db.begin() as conn:
        run = store.set_state(conn, run_id, proposal, Origin.TOKEN_HOLDER, utcnow())
    if is_final(run.state_type):
        ring(doorbell, "run finished")
    return run


@router.post("/{run_id}/cancel")
def cancel_flow_run(run_id: str, db: Database = Depends(get_db), redis=Depends(get_redis),
                    doorbell: Doorbell | None = Depends(get_doorbell)) -> FlowRun:
    """A waiting run becomes CANCELLED; a running one CANCELLING until its worker stops it."""
    with db.begin() as conn:
        run = store.cancel_flow_run(conn, run_id, utcnow())
    if run.state_type is StateType.CANCELLING and redis is not None:
        request_cancel(redis, run_id)
    ring(doorbell, "run cancelled")
    return run


@router.post("/{run_id}/retry")
def retry_flow_run(run_id: str, db: Database = Depends(get_db),
                   doorbell: Doorbell | None = Depends(get_doorbell)) -> FlowRun:
    """Run a finished run again with the same parameters."""
    with db.begin() as conn:
        run = store.rerun_flow_run(conn, run_id, utcnow())
    ring(doorbell, "run retried")
    return run


@router.post("/{run_id}/logs", status_code=201)
def create_logs(run_id: str, entries: list[LogCreate], db: Database = Depends(get_db)) -> dict:
    with db.begin() as conn:
        store.read_flow_run(conn, run_id)
        return {"created": logs_store.create_logs(conn, run_id, entries)}


@router.get("/{run_id}/logs")
def read_logs(run_id: str, after: int = Query(0, ge=0, le=2 ** 63 - 1),
              limit: int = Query(1000, ge=1, le=1000),
              db: Database = Depends(get_db)) -> list[Log]:
    with db.connect() as conn:
        store.read_flow_run(conn, run_id)
        return logs_store.read_logs(conn, run_id, after, limit)
