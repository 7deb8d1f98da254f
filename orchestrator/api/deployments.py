"""Routes for deployments, and for creating runs of them."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from ..errors import NotFound
from ..jobs import validate_job_variables
from ..masking import restore_masked
from ..models import Deployment, DeploymentCreate, FlowRun, FlowRunCreate
from ..models.removals import Removal
from ..store import deployments as store
from ..store import flow_runs as runs_store
from ..store.removals import delete_deployment as delete_from_store
from ..store.database import Database
from ..store.work_pools import read_work_pool, read_work_queue
from ..wakeup import Doorbell
from .checks import CheckedRoute
from .dependencies import get_db, get_doorbell, get_redis, ring, utcnow
from .errors import ERROR_RESPONSES
from .flow_runs import announce_cancelled
from .links import created
from .model_response import model_response
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page

router = APIRouter(prefix="/deployments", tags=["deployments"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)


DEPLOYMENT = {"flow_name": "$response.body#/flow_name", "name": "$response.body#/name"}
RUN = {"run_id": "$response.body#/id"}


@router.put("", responses=created(
    200, ReadDeployment=("get", "/deployments/name/{flow_name}/{name}", DEPLOYMENT),
    ReadDeploymentById=("get", "/deployments/{deployment_id}",
                        {"deployment_id": "$response.body#/id"}),
    CreateFlowRun=("post", "/deployments/name/{flow_name}/{name}/runs", DEPLOYMENT),
    CreateSchedule=("post", "/deployments/name/{flow_name}/{name}/schedules", DEPLOYMENT)))
def upsert_deployment(request: DeploymentCreate, db: Database = Depends(get_db),
                      doorbell: Doorbell | None = Depends(get_doorbell)) -> Deployment:
    with db.begin() as conn:
        pool = read_work_pool(conn, request.work_pool_name)
        validate_job_variables(pool.base_job_template, request.job_variables)
        if request.work_queue_name:
            read_work_queue(conn, pool.name, request.work_queue_name)
        request = _keep_secrets(conn, request)
        deployment = store.upsert_deployment(conn, request, utcnow())
    ring(doorbell, "deployment changed")  # its schedules' runs are made at once
    return deployment.masked()


@router.get("", responses=PAGE_RESPONSES)
def list_deployments(response: Response, work_pool: str | None = None,
                     page: PageQuery = Depends(page_query()),
                     db: Database = Depends(get_db)) -> list[Deployment]:
    """Deployments by FLOW/NAME, a page at a time."""
    with db.connect() as conn:
        found = store.page_deployments(conn, work_pool, page.after, page.limit)
    return [d.masked() for d in send_page(response, found)]


@router.get("/name/{flow_name}/{name}")
def read_deployment_by_name(flow_name: str, name: str, db: Database = Depends(get_db)) -> Deployment:
    with db.connect() as conn:
        return store.read_deployment(conn, flow_name, name).masked()


FORCE = Query(False, description="cancel the runs in progress instead of refusing")


@router.delete("/name/{flow_name}/{name}")
def delete_deployment(flow_name: str, name: str, force: bool = FORCE,
                      db: Database = Depends(get_db), redis=Depends(get_redis),
                      doorbell: Doorbell | None = Depends(get_doorbell)) -> Removal:
    """Delete a deployment and its schedules; its waiting runs go with it. While runs are in
    progress it refuses (409, naming them), unless `force` cancels them."""
    with db.begin() as conn:
        removal, cancelled = delete_from_store(conn, flow_name, name, force, utcnow())
    announce_cancelled(cancelled, redis)
    ring(doorbell, "deployment deleted")
    return removal


@router.get("/{deployment_id}")
def read_deployment(deployment_id: str, db: Database = Depends(get_db)) -> Deployment:
    with db.connect() as conn:
        return store.read_deployment_by_id(conn, deployment_id).masked()


@router.post("/name/{flow_name}/{name}/runs", status_code=201, responses=created(
    201, ReadFlowRun=("get", "/flow_runs/{run_id}", RUN),
    CancelFlowRun=("post", "/flow_runs/{run_id}/cancel", RUN),
    ReadLogs=("get", "/flow_runs/{run_id}/logs", RUN)), response_model=FlowRun)
def create_flow_run(flow_name: str, name: str, request: FlowRunCreate,
                    db: Database = Depends(get_db),
                    doorbell: Doorbell | None = Depends(get_doorbell)) -> Response:
    return model_response(start_flow_run(flow_name, name, request, db, doorbell), 201)


def start_flow_run(flow_name: str, name: str, request: FlowRunCreate, db: Database,
                   doorbell: Doorbell | None) -> FlowRun:
    """A new run of the deployment, masked as shown (the UI's run buttons start them so too)."""
    with db.begin() as conn:
        deployment = store.read_deployment(conn, flow_name, name, schedules=False)
        pool = read_work_pool(conn, deployment.work_pool_name)
        run = runs_store.create_flow_run(conn, deployment, pool, request, utcnow())
    ring(doorbell, "run created")
    return run.masked()


def _keep_secrets(conn, request: DeploymentCreate) -> DeploymentCreate:
    """A redeploy that sends back values as the API showed them (masked) keeps the stored
    secrets instead of storing the mask."""
    try:
        current = store.read_deployment(conn, request.flow_name, request.name)
    except NotFound:
        return request
    return request.model_copy(update={
        "job_variables": restore_masked(request.job_variables, current.job_variables),
        "pull_steps": restore_masked(request.pull_steps, current.pull_steps)})
