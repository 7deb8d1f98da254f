"""Deployments: the list with schedules and next runs; a deployment's page with its schedules
(pause and resume each, or the whole deployment), upcoming and recent runs, parameters, job
variables and pull steps; Run (with the defaults) and Custom run (a form made from the
parameter schema)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from ..api import deployments as api_deployments
from ..api import deployment_schedules as api_schedules
from ..api.waiting import annotate_waiting
from ..errors import FieldError, InvalidInput
from ..models import Deployment, FlowRunCreate
from ..models.deployments import ScheduleUpdate
from ..schedules import describe
from ..store import overview
from ..store.deployments import list_deployments, read_deployment
from ..store.flow_runs import list_flow_runs
from ..store.deployment_schedules import upcoming_runs
from ..store.work_pools import list_work_queues
from . import param_form
from .forms_security import FormData, checked_form
from .rendering import render, url_part
from .routing import PageRoute, back_to, parts

router = APIRouter(route_class=PageRoute)
SHOWN_RUNS = 10


def page_path(deployment: Deployment) -> str:
    return deployment_page_url(deployment.flow_name, deployment.name)


def deployment_page_url(flow_name: str, name: str) -> str:
    """Names may hold spaces (and other characters a URL must encode)."""
    return f"/ui/deployments/{url_part(flow_name)}/{url_part(name)}"


@router.get("/ui/deployments", response_class=HTMLResponse)
def deployment_list(request: Request):
    db = parts(request)[0]
    with db.connect() as conn:
        found = [d.masked() for d in list_deployments(conn)]
        next_runs = overview.next_run_times(conn, [d.id for d in found])
    return render(request, "deployments.html", title="Deployments", deployments=found,
                  next_runs=next_runs, describe=describe)


@router.get("/ui/deployments/{flow_name}/{name}", response_class=HTMLResponse)
def deployment_page(request: Request, flow_name: str, name: str):
    with parts(request)[0].connect() as conn:
        deployment = read_deployment(conn, flow_name, name)
    return _page(request, deployment, param_form.build_fields(deployment.parameter_schema,
                                                              deployment.parameters))


def _page(request: Request, deployment: Deployment, fields: list[param_form.Field],
          form: FormData | None = None, errors: list[FieldError] | None = None,
          status_code: int = 200) -> HTMLResponse:
    db, redis, probe, _ = parts(request)
    with db.connect() as conn:
        upcoming = annotate_waiting(conn, redis, upcoming_runs(conn, deployment.id, SHOWN_RUNS),
                                    probe)
        recent = annotate_waiting(conn, redis, list_flow_runs(
            conn, deployment_id=deployment.id, limit=SHOWN_RUNS), probe)
        queues = [q.name for q in list_work_queues(conn, deployment.work_pool_name)]
    form = form or FormData()
    return render(request, "deployment.html", status_code=status_code,
                  title=deployment.full_name, deployment=deployment.masked(),
                  base=page_path(deployment), upcoming=upcoming, recent=recent, queues=queues,
                  fields=fields, describe=describe, custom_open=bool(form),
                  form_errors=errors or [], job_variables=form.get("job_variables", "{}"),
                  work_queue=form.get("work_queue", deployment.work_queue_name),
                  scheduled_time=form.get("scheduled_time"), run_name=form.get("name"))


@router.post("/ui/deployments/{flow_name}/{name}/run")
def quick_run(request: Request, flow_name: str, name: str,
              form: FormData = Depends(checked_form)):
    """A run with the deployment's defaults, now."""
    db, _, _, doorbell = parts(request)
    run = api_deployments.start_flow_run(flow_name, name, FlowRunCreate(), db, doorbell)
    return back_to(f"/ui/runs/{run.id}")


@router.post("/ui/deployments/{flow_name}/{name}/custom-run")
def custom_run(request: Request, flow_name: str, name: str,
               form: FormData = Depends(checked_form)):
    """A run with the form's parameters, job-variable overrides, queue and start time; on a
    bad value the page comes back with the form open and the error beside its field."""
    db, _, _, doorbell = parts(request)
    with db.connect() as conn:
        deployment = read_deployment(conn, flow_name, name)
    fields = param_form.build_fields(deployment.parameter_schema, deployment.parameters)
    try:
        request_body = _run_request(deployment, fields, form)
        run = api_deployments.start_flow_run(flow_name, name, request_body, db, doorbell)
    except InvalidInput as exc:
        return _page(request, deployment, fields, form, _unplaced(exc, fields), 422)
    return back_to(f"/ui/runs/{run.id}")


def _run_request(deployment: Deployment, fields: list[param_form.Field],
                 form: FormData) -> FlowRunCreate:
    errors: list[FieldError] = []
    try:
        parameters = param_form.read_parameters(
            fields, form, deployment.parameter_schema if deployment.enforce_parameter_schema
            else {}, deployment.parameters)
    except InvalidInput as exc:
        parameters, errors = {}, list(exc.errors)
    job_variables = _json_object(form.get("job_variables"), "job_variables", errors)
    scheduled = _start_time(form.get("scheduled_time"), errors)
    if errors:
        raise InvalidInput("invalid run", errors)
    try:
        return FlowRunCreate(parameters=parameters, job_variables=job_variables,
                             work_queue_name=form.get("work_queue") or None,
                             scheduled_time=scheduled, name=form.get("name") or None)
    except ValidationError as exc:
        raise InvalidInput("invalid run", [FieldError(
            ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]) from None


def _json_object(text: str, field: str, errors: list[FieldError]) -> dict:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        errors.append(FieldError(field, f"not valid JSON ({exc})"))
        return {}
    if not isinstance(value, dict):
        errors.append(FieldError(field, 'give a JSON object, e.g. {"env": {"LEVEL": "debug"}}'))
        return {}
    return value


def _start_time(text: str, errors: list[FieldError]) -> datetime | None:
    """The form's start time, read as UTC (empty: now)."""
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        errors.append(FieldError("scheduled_time", "give a date and time, e.g. 2026-01-31T09:00"))
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _unplaced(exc: InvalidInput, fields: list[param_form.Field]) -> list[FieldError]:
    """Errors that no parameter field shows already (job variables, queue, start time...)."""
    shown = {f.name for f in fields if f.error}
    return [e for e in exc.errors if e.field not in shown] or (
        [] if shown else [FieldError("", exc.message)])


@router.post("/ui/deployments/{flow_name}/{name}/pause")
def pause(request: Request, flow_name: str, name: str, form: FormData = Depends(checked_form)):
    db, _, _, doorbell = parts(request)
    deployment = api_schedules.pause_deployment(flow_name, name, db, doorbell)
    return back_to(page_path(deployment))


@router.post("/ui/deployments/{flow_name}/{name}/resume")
def resume(request: Request, flow_name: str, name: str, form: FormData = Depends(checked_form)):
    db, _, _, doorbell = parts(request)
    deployment = api_schedules.resume_deployment(flow_name, name, db, doorbell)
    return back_to(page_path(deployment))


@router.post("/ui/deployments/{flow_name}/{name}/schedules/{ref}/{action}")
def set_schedule(request: Request, flow_name: str, name: str, ref: str, action: str,
                 form: FormData = Depends(checked_form)):
    """Pause or resume one schedule (pausing deletes its future runs; resuming makes them)."""
    if action not in ("pause", "resume"):
        raise InvalidInput(f"unknown action {action!r}", [FieldError("action", "pause or resume")])
    db, _, _, doorbell = parts(request)
    api_schedules.update_schedule(flow_name, name, ref, ScheduleUpdate(active=action == "resume"),
                                  db, doorbell)
    return back_to(deployment_page_url(flow_name, name))
