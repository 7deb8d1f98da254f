"""The dashboard: runs by state over the last 24 hours, late runs, failing deployments, pools
with no online worker, and whether the scheduler leads and the broker answers."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from config.settings import get_settings

from ..api.dependencies import utcnow
from ..api.liveness import read_liveness
from ..api.waiting import annotate_waiting
from ..store import overview
from ..store.flow_runs import list_flow_runs
from ..store.work_pools import list_work_pools
from .chart import build_chart, window_start
from .rendering import render
from .routing import PageRoute, parts

router = APIRouter(route_class=PageRoute)
SHOWN = 10


@router.get("/ui/", response_class=HTMLResponse)
def dashboard(request: Request):
    db, redis, probe, _ = parts(request)
    now = utcnow()
    late_before = now - timedelta(seconds=get_settings().late_after_s)
    with db.connect() as conn:
        chart = build_chart(overview.runs_by_hour_and_state(conn, window_start(now)), now)
        late_count = sum(overview.late_runs_by_pool(conn, late_before).values())
        late = annotate_waiting(conn, redis, overview.late_runs(conn, late_before, SHOWN), probe)
        failing = overview.failing_deployments(conn, now - timedelta(hours=24), SHOWN)
        pools = list_work_pools(conn)
        recent = annotate_waiting(conn, redis, list_flow_runs(conn, limit=SHOWN), probe)
    live = read_liveness(redis, probe, [p.name for p in pools])
    idle = [p for p in pools if live.workers_known and not live.online(p.name)]
    return render(request, "dashboard.html", title="Dashboard", chart=chart, late=late,
                  late_count=late_count, failing=failing, idle_pools=idle, pools=pools,
                  live=live, recent=recent, now=now)
