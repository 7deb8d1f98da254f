"""Flow runs: the filtered list, a run's page with its live logs, Cancel and Retry."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ..api import flow_runs as api_runs
from ..api.dependencies import utcnow
from ..api.waiting import annotate_waiting
from ..errors import FieldError, InvalidInput
from ..models.logs import MAX_PAGE as MAX_LOG_PAGE
from ..states import FINAL_STATES, StateType
from ..store import flow_runs as runs_store
from ..store import logs as logs_store
from ..store.deployments import list_deployments, read_deployment
from ..store.pages import MAX_CURSOR_CHARS
from ..store.run_search import RunFilter, search_runs
from ..store.work_pools import list_work_pool_names
from . import related
from .forms_security import FormData, checked_form, csrf_token
from .rendering import render, render_text
from .routing import PageRoute, back_to, parts

router = APIRouter(route_class=PageRoute)
RUNS_PER_PAGE = 50
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7),
           "30d": timedelta(days=30)}
LIVE_POLL_MS = 1000


@router.get("/ui/runs", response_class=HTMLResponse)
def run_list(request: Request, state: list[str] = Query([]), deployment: str = "",
             pool: str = "", tag: str = Query("", max_length=200), window: str = "",
             after: str | None = Query(None, max_length=MAX_CURSOR_CHARS)):
    db, redis, probe, _ = parts(request)
    with db.connect() as conn:
        found = _filter(conn, state, deployment, pool, tag, window)
        page = search_runs(conn, found, after, RUNS_PER_PAGE)
        runs = annotate_waiting(conn, redis, page.items, probe)
        deployments = [d.full_name for d in list_deployments(conn)]
        pools = list_work_pool_names(conn)
    query = {k: v for k, v in request.query_params.multi_items() if k != "after"}
    return render(request, "runs.html", title="Flow runs", runs=runs, cursor=page.cursor,
                  query=query, states=[s.value for s in StateType],
                  chosen_states=[s.value for s in found.states], deployment=deployment,
                  pool=pool, tag=tag, window=window, windows=list(WINDOWS),
                  deployments=deployments, pools=pools, first_page=after is None)


def _filter(conn, states: list[str], deployment: str, pool: str, tag: str,
            window: str) -> RunFilter:
    deployment_id = None
    if deployment:
        flow_name, _, name = deployment.partition("/")
        if not name:
            raise InvalidInput("pick a deployment as FLOW/NAME", [FieldError(
                "deployment", "write it as FLOW/NAME, e.g. get-repo-info/my-deployment")])
        deployment_id = read_deployment(conn, flow_name, name).id
    if window and window not in WINDOWS:
        raise InvalidInput(f"unknown time window {window!r}", [FieldError(
            "window", f"use one of: {', '.join(WINDOWS)}")])
    since = utcnow() - WINDOWS[window] if window else None
    return RunFilter(states=tuple(runs_store.parse_state_type(s) for s in states if s),
                     deployment_id=deployment_id, work_pool_name=pool or None,
                     tag=tag or None, created_after=since)


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str):
    db, redis, probe, _ = parts(request)
    with db.connect() as conn:
        run = annotate_waiting(conn, redis, [runs_store.read_flow_run_detail(conn, run_id)],
                               probe)[0].masked()
        lines = logs_store.read_logs(conn, run_id, 0, MAX_LOG_PAGE)
        task_runs, more_task_runs = related.task_runs(conn, run_id)
        extras = dict(task_runs=task_runs, more_task_runs=more_task_runs,
                      child_runs=related.child_runs(conn, run_id),
                      artifacts=related.artifacts(conn, run_id))
    return render(request, "run.html", title=run.name, run=run, lines=lines,
                  cursor=lines[-1].id if lines else 0, final=run.state_type in FINAL_STATES,
                  poll_ms=LIVE_POLL_MS, **extras)


@router.get("/ui/runs/{run_id}/live")
def run_live(request: Request, run_id: str, after: int = Query(0, ge=0, le=2**63 - 1)):
    """What changed since the page drew: new log lines after the cursor (a page at most)
    and the run's state panel. The page polls this until the run is final and caught up."""
    db, redis, probe, _ = parts(request)
    with db.connect() as conn:
        run = annotate_waiting(conn, redis, [runs_store.read_flow_run_detail(conn, run_id)],
                               probe)[0].masked()
        lines = logs_store.read_logs(conn, run_id, after, MAX_LOG_PAGE)
    final = run.state_type in FINAL_STATES
    body = {"cursor": lines[-1].id if lines else after,
            "lines": render_text("_log_lines.html", lines=lines),
            "state": render_text("_run_state.html", run=run, csrf_token=csrf_token(request)),
            "more": len(lines) == MAX_LOG_PAGE, "final": final}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/ui/runs/{run_id}/cancel")
def cancel(request: Request, run_id: str, form: FormData = Depends(checked_form)):
    db, redis, _, doorbell = parts(request)
    api_runs.cancel_flow_run(run_id, db, redis, doorbell)
    return back_to(f"/ui/runs/{run_id}")


@router.post("/ui/runs/{run_id}/retry")
def retry(request: Request, run_id: str, form: FormData = Depends(checked_form)):
    db, _, _, doorbell = parts(request)
    api_runs.retry_flow_run(run_id, db, doorbell)
    return back_to(f"/ui/runs/{run_id}")
