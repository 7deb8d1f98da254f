"""Routes for a deployment's schedules, pausing and resuming it, and its upcoming runs.
Every change rings the scheduler, so new runs are made (or gone) at once."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ..models import Deployment, FlowRun
from ..models.deployments import ScheduleUpdate, StoredSchedule
from ..schedules import DeploymentSchedule
from ..store import deployment_schedules as store
from ..store.database import Database
from ..store.deployments import read_deployment
from ..wakeup import Doorbell
from ..bounds import MAX_PAGE
from .checks import CheckedRoute
from .dependencies import get_broker_probe, get_db, get_doorbell, get_redis, ring, utcnow
from .errors import ERROR_RESPONSES
from .links import created
from .waiting import annotate_waiting

router = APIRouter(prefix="/deployments/name/{flow_name}/{name}", tags=["schedules"],
                   route_class=CheckedRoute, responses=ERROR_RESPONSES)


@router.get("/schedules")
def list_schedules(flow_name: str, name: str,
                   db: Database = Depends(get_db)) -> list[StoredSchedule]:
    with db.connect() as conn:
        return read_deployment(conn, flow_name, name).schedules


SCHEDULE = {"flow_name": "$request.path.flow_name", "name": "$request.path.name",
            "ref": "$response.body#/id"}
SCHEDULE_PATH = "/deployments/name/{flow_name}/{name}/schedules/{ref}"


@router.post("/schedules", status_code=201, responses=created(
    201, UpdateSchedule=("patch", SCHEDULE_PATH, SCHEDULE),
    DeleteSchedule=("delete", SCHEDULE_PATH, SCHEDULE)))
def create_schedule(flow_name: str, name: str, entry: DeploymentSchedule,
                    db: Database = Depends(get_db),
                    doorbell: Doorbell | None = Depends(get_doorbell)) -> StoredSchedule:
    with db.begin() as conn:
        deployment = read_deployment(conn, flow_name, name)
        created = store.create_schedule(conn, deployment, entry, utcnow())
    ring(doorbell, "schedule created")
    return created


@router.patch("/schedules/{ref}")
def update_schedule(flow_name: str, name: str, ref: str, update: ScheduleUpdate,
                    db: Database = Depends(get_db),
                    doorbell: Doorbell | None = Depends(get_doorbell)) -> StoredSchedule:
    """Pause (its future runs are deleted) or resume a schedule, named by id, slug or id prefix."""
    with db.begin() as conn:
        deployment = read_deployment(conn, flow_name, name)
        schedule = store.set_schedule_active(conn, deployment, ref, update.active, utcnow())
    ring(doorbell, "schedule changed")
    return schedule


@router.delete("/schedules/{ref}")
def delete_schedule(flow_name: str, name: str, ref: str, db: Database = Depends(get_db),
                    doorbell: Doorbell | None = Depends(get_doorbell)) -> StoredSchedule:
    with db.begin() as conn:
        deployment = read_deployment(conn, flow_name, name)
        deleted = store.delete_schedule(conn, deployment, ref, utcnow())
    ring(doorbell, "schedule deleted")
    return deleted


@router.post("/pause")
def pause_deployment(flow_name: str, name: str, db: Database = Depends(get_db),
                     doorbell: Doorbell | None = Depends(get_doorbell)) -> Deployment:
    """Stop creating runs; the future auto-scheduled ones are deleted."""
    return _set_paused(db, doorbell, flow_name, name, True)


@router.post("/resume")
def resume_deployment(flow_name: str, name: str, db: Database = Depends(get_db),
                      doorbell: Doorbell | None = Depends(get_doorbell)) -> Deployment:
    """Create runs again from the schedules."""
    return _set_paused(db, doorbell, flow_name, name, False)


def _set_paused(db: Database, doorbell: Doorbell | None, flow_name: str, name: str,
                paused: bool) -> Deployment:
    with db.begin() as conn:
        store.set_deployment_paused(conn, read_deployment(conn, flow_name, name), paused,
                                    utcnow())
        deployment = read_deployment(conn, flow_name, name)
    ring(doorbell, "deployment paused" if paused else "deployment resumed")
    return deployment.masked()


@router.get("/upcoming")
def upcoming_runs(flow_name: str, name: str,
                  limit: int = Query(10, ge=1, le=MAX_PAGE, description=f"1..{MAX_PAGE}"),
                  db: Database = Depends(get_db), redis=Depends(get_redis),
                  probe=Depends(get_broker_probe)) -> list[FlowRun]:
    """The deployment's next `limit` SCHEDULED runs, soonest first."""
    with db.connect() as conn:
        deployment = read_deployment(conn, flow_name, name)
        runs = annotate_waiting(conn, redis, store.upcoming_runs(conn, deployment.id, limit),
                                probe)
    return [run.masked() for run in runs]
