"""Routes for flow runs: reading them, claiming them and proposing states (their logs: logs.py)."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Query, Request, Response

from .. import metrics
from ..errors import StateRejected
from ..leases import request_cancel
from ..models import ClaimedRun, ClaimRequest, FlowRun, FlowRunDetail, StateProposal
from ..states import Origin, StateType, is_final
from ..masking import mask_text
from ..store import flow_runs as store
from ..store import logs as logs_store
from ..store.database import Database
from ..store.deployments import read_deployment_by_id
from ..store.pages import Page
from ..store.work_pools import read_work_pool
from ..wakeup import Doorbell
from . import run_credentials
from .checks import CheckedRoute
from .dependencies import get_broker_probe, get_db, get_doorbell, get_redis, ring, utcnow
from .errors import ERROR_RESPONSES
from .logs import run_log_limit
from .model_response import model_response
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page
from .waiting import annotate_waiting

log = logging.getLogger(__name__)
router = APIRouter(prefix="/flow_runs", tags=["flow runs"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)
DEFAULT_RUNS_PER_PAGE = 100


@router.get("", responses=PAGE_RESPONSES)
def list_flow_runs(response: Response, state: str | None = None,
                   deployment_id: str | None = None, work_pool: str | None = None,
                   parent_flow_run_id: str | None = Query(
                       None, max_length=36, description="only the child runs of this run"),
                   page: PageQuery = Depends(page_query(DEFAULT_RUNS_PER_PAGE)),
                   db: Database = Depends(get_db), redis=Depends(get_redis),
                   probe=Depends(get_broker_probe)) -> list[FlowRun]:
    """Runs, newest first, a page at a time (child runs included, with their parent);
    waiting ones say whether they are Late and why they wait."""
    state_type = store.parse_state_type(state) if state else None
    with db.connect() as conn:
        found = store.page_flow_runs(conn, state_type, deployment_id, work_pool, page.after,
                                     page.limit, parent_flow_run_id)
        runs = annotate_waiting(conn, redis, found.items, probe)
    return [run.masked() for run in send_page(response, Page(runs, found.cursor))]


@router.get("/{run_id}", response_model=FlowRunDetail)
def read_flow_run(run_id: str, db: Database = Depends(get_db), redis=Depends(get_redis),
                  probe=Depends(get_broker_probe)) -> Response:
    with db.connect() as conn:
        run = annotate_waiting(conn, redis, [store.read_flow_run_detail(conn, run_id)], probe)[0]
    return model_response(run.masked())


@router.post("/{run_id}/claim", response_model=ClaimedRun)
def claim_flow_run(run_id: str, request: ClaimRequest, http: Request,
                   db: Database = Depends(get_db)) -> Response:
    """PENDING -> RUNNING, accepted only with the current dispatch token. The answer holds
    the run's real (unmasked) values, and its run credential when the API has a key."""
    with db.begin() as conn:
        run = store.set_state(conn, run_id, StateProposal(type=StateType.RUNNING, token=request.token),
                              Origin.TOKEN_HOLDER, utcnow(), worker_name=request.worker_name)
        claimed = _launch_bundle(conn, run)
    metrics.run_started(run)
    api_key = http.app.state.api_key
    credential = run_credentials.issue(api_key, run_id) if api_key else None
    return model_response(claimed.model_copy(update={"run_credential": credential}))


@router.get("/{run_id}/launch")
def read_launch_bundle(run_id: str, db: Database = Depends(get_db)) -> ClaimedRun:
    """What the run was launched with, unmasked: read by the run's own process (with its run
    credential) to fetch its pull steps and job variables."""
    with db.connect() as conn:
        return _launch_bundle(conn, store.read_flow_run(conn, run_id))


def _launch_bundle(conn, run: FlowRun) -> ClaimedRun:
    if run.deployment_id is None:
        raise StateRejected(f"flow run {run.id} has no deployment to run")
    deployment = read_deployment_by_id(conn, run.deployment_id, schedules=False)
    return ClaimedRun(flow_run=run, deployment=deployment,
                      work_pool=read_work_pool(conn, run.work_pool_name))


@router.post("/{run_id}/state", response_model=FlowRun)
def set_flow_run_state(run_id: str, proposal: StateProposal, db: Database = Depends(get_db),
                       doorbell: Doorbell | None = Depends(get_doorbell),
                       limit_bytes: int = Depends(run_log_limit)) -> Response:
    """Propose a state; a short run's engine sends its last log lines with it, stored in the
    same transaction (within the run's log budget), so its end costs one request."""
    with db.begin() as conn:
        run = store.set_state(conn, run_id, proposal, Origin.TOKEN_HOLDER, utcnow())
        if proposal.logs:
            for entry in proposal.logs:  # as POST /logs does: URL credentials never stored
                entry.message = mask_text(entry.message)
            logs_store.create_logs(conn, run_id, proposal.logs, limit_bytes, utcnow())
    metrics.run_changed(run)
    if is_final(run.state_type):
        ring(doorbell, "run finished")
    return model_response(run.masked())


@router.post("/{run_id}/cancel")
def cancel_flow_run(run_id: str, db: Database = Depends(get_db), redis=Depends(get_redis),
                    doorbell: Doorbell | None = Depends(get_doorbell)) -> FlowRun:
    """A waiting run becomes CANCELLED; a running one CANCELLING until its worker stops it."""
    with db.begin() as conn:
        run = store.cancel_flow_run(conn, run_id, utcnow())
    announce_cancelled([run], redis)
    ring(doorbell, "run cancelled")
    return run.masked()


def announce_cancelled(runs: list[FlowRun], redis) -> None:
    """After a commit that cancelled `runs`: count them, and ask the workers of those still
    running to stop them."""
    for run in runs:
        metrics.run_changed(run)
        if run.state_type is StateType.CANCELLING and redis is not None:
            _post_cancel_request(redis, run.id)


def _post_cancel_request(redis, run_id: str) -> None:
    """The flag only hastens the stop: the worker also sees CANCELLING on its next heartbeat,
    so a broker that is down does not fail the cancel."""
    try:
        request_cancel(redis, run_id)
    except Exception as exc:
        log.warning("run %s: could not post the cancel request to the broker (%s); its worker"
                    " sees CANCELLING on its next heartbeat", run_id, exc)


@router.post("/{run_id}/retry")
def retry_flow_run(run_id: str, db: Database = Depends(get_db),
                   doorbell: Doorbell | None = Depends(get_doorbell)) -> FlowRun:
    """Run a finished run again with the same parameters."""
    with db.begin() as conn:
        run = store.rerun_flow_run(conn, run_id, utcnow())
    ring(doorbell, "run retried")
    return run.masked()
