"""Routes for automations: create, list, read, pause/resume, delete; and the automations
made from a deployment's `triggers:`, replaced as a whole on each deploy."""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Path

from ..models.automations import Automation, AutomationCreate, AutomationUpdate
from ..store import automations as store
from ..store.database import Database
from ..store.deployments import read_deployment_by_id
from .checks import CheckedRoute
from .dependencies import get_db, utcnow
from .errors import ERROR_RESPONSES

router = APIRouter(prefix="/automations", tags=["automations"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)
AutomationRef = Path(max_length=200)
MAX_DEPLOYMENT_TRIGGERS = 50


class AutomationDetail(Automation):
    firings: list[dict]  # the latest, newest first: when, and what each action did


@router.post("", status_code=201)
def create_automation(request: AutomationCreate, db: Database = Depends(get_db)) -> Automation:
    with db.begin() as conn:
        if request.deployment_id is not None:
            read_deployment_by_id(conn, request.deployment_id)
        return store.create_automation(conn, request, utcnow()).masked()


@router.get("")
def list_automations(db: Database = Depends(get_db)) -> list[Automation]:
    with db.connect() as conn:
        return [a.masked() for a in store.list_automations(conn)]


@router.get("/{ref}")
def read_automation(ref: str = AutomationRef, db: Database = Depends(get_db)) -> AutomationDetail:
    """By id or name, with its latest firings."""
    with db.connect() as conn:
        found = store.read_automation(conn, ref)
        return AutomationDetail(**found.masked().model_dump(),
                                firings=store.recent_firings(conn, found.id))


@router.patch("/{ref}")
def update_automation(update: AutomationUpdate, ref: str = AutomationRef,
                      db: Database = Depends(get_db)) -> Automation:
    """Pause (`enabled: false`) or resume (`enabled: true`)."""
    with db.begin() as conn:
        return store.set_automation_enabled(conn, ref, update.enabled, utcnow()).masked()


@router.delete("/{ref}")
def delete_automation(ref: str = AutomationRef, db: Database = Depends(get_db)) -> Automation:
    with db.begin() as conn:
        return store.delete_automation(conn, ref).masked()


@router.put("/deployment/{deployment_id}")
def replace_deployment_automations(
        deployment_id: str = Path(max_length=36),
        automations: list[AutomationCreate] = Body(..., max_length=MAX_DEPLOYMENT_TRIGGERS),
        db: Database = Depends(get_db)) -> list[Automation]:
    """The automations of a deployment's `triggers:`, as its latest deploy declares them."""
    with db.begin() as conn:
        read_deployment_by_id(conn, deployment_id)
        return [a.masked() for a in store.replace_deployment_automations(
            conn, deployment_id, automations, utcnow())]
