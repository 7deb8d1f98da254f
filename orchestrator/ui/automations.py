"""Automations: each one's trigger and actions in short, the deployment it came from, and
pausing or resuming it."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ..api import automations as api_automations
from ..errors import FieldError, InvalidInput, NotFound
from ..models.automations import AutomationUpdate
from ..store import automations as store
from ..store.deployments import read_deployment_by_id
from .forms_security import FormData, checked_form
from .rendering import render
from .routing import PageRoute, back_to, parts

router = APIRouter(route_class=PageRoute)


@router.get("/ui/automations", response_class=HTMLResponse)
def automation_list(request: Request):
    with parts(request)[0].connect() as conn:
        automations = [a.masked() for a in store.list_automations(conn)]
        origins = {a.deployment_id: _deployment(conn, a.deployment_id)
                   for a in automations if a.deployment_id}
    return render(request, "automations.html", title="Automations", automations=automations,
                  origins=origins)


@router.post("/ui/automations/{ref}/{action}")
def change(request: Request, ref: str, action: str, form: FormData = Depends(checked_form)):
    """pause or resume, as `PATCH /api/automations/REF` does."""
    if action not in ("pause", "resume"):
        raise InvalidInput(f"unknown action {action[:40]!r}", [FieldError(
            "action", "pause or resume")])
    api_automations.update_automation(AutomationUpdate(enabled=action == "resume"), ref[:200],
                                      parts(request)[0])
    return back_to("/ui/automations")


def _deployment(conn, deployment_id: str) -> tuple[str, str] | None:
    """(flow, name) of the deployment an automation came from; None once it is gone."""
    try:
        found = read_deployment_by_id(conn, deployment_id)
    except NotFound:
        return None
    return found.flow_name, found.name
