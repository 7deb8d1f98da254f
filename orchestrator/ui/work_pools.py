"""Work pools: each pool's queues (priority, limit, slots in use and the runs holding them,
paused), its workers ONLINE or OFFLINE with their runs, pausing the pool and its limit; and
the global concurrency limits, where there are any."""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from config.settings import get_settings

from ..api import work_pools as api_pools
from ..api.liveness import read_liveness
from ..errors import FieldError, InvalidInput
from ..models import WorkPoolUpdate, WorkQueueUpdate
from ..store import work_pools as store
from . import related
from .forms_security import FormData, checked_form
from .rendering import render
from .routing import PageRoute, back_to, parts

router = APIRouter(route_class=PageRoute)


@router.get("/ui/work-pools", response_class=HTMLResponse)
def pool_list(request: Request):
    db, redis, probe, _ = parts(request)
    with db.connect() as conn:
        pools = [store.read_work_pool_detail(conn, name).masked()
                 for name in store.list_work_pool_names(conn)]
        limits = related.global_limits(conn, redis)
    live = read_liveness(redis, probe, [p.name for p in pools])
    online = {p.name: len(live.online(p.name)) for p in pools}
    return render(request, "work_pools.html", title="Work pools", pools=pools, online=online,
                  live=live, global_limits=limits)


@router.get("/ui/work-pools/{name}", response_class=HTMLResponse)
def pool_page(request: Request, name: str):
    db, redis, probe, _ = parts(request)
    with db.connect() as conn:
        pool = store.read_work_pool_detail(conn, name).masked()
        holders = store.runs_by_worker(conn, name)
    live = read_liveness(redis, probe, [name])
    now, after = time.time(), get_settings().worker_offline_after_s
    workers = [(beat, beat.online(now, after), holders.get(beat.name, []))
               for beat in live.workers.get(name, [])]
    return render(request, "work_pool.html", title=f"Work pool {name}", pool=pool,
                  workers=workers, live=live)


@router.post("/ui/work-pools/{name}/{action}")
def change_pool(request: Request, name: str, action: str, form: FormData = Depends(checked_form)):
    """pause, resume, or limit (the form's `limit`; empty clears it)."""
    db, _, _, doorbell = parts(request)
    if action in ("pause", "resume"):
        update = WorkPoolUpdate(paused=action == "pause")
    elif action == "limit":
        update = WorkPoolUpdate(concurrency_limit=_limit(form.get("limit")))
    else:
        raise InvalidInput(f"unknown action {action!r}", [FieldError(
            "action", "pause, resume or limit")])
    api_pools.update_work_pool(name, update, db, doorbell)
    return back_to(f"/ui/work-pools/{name}")


@router.post("/ui/work-pools/{name}/queues/{queue}/{action}")
def change_queue(request: Request, name: str, queue: str, action: str,
                 form: FormData = Depends(checked_form)):
    db, _, _, doorbell = parts(request)
    if action not in ("pause", "resume"):
        raise InvalidInput(f"unknown action {action!r}", [FieldError("action", "pause or resume")])
    api_pools.update_work_queue(name, queue, WorkQueueUpdate(paused=action == "pause"), db,
                                doorbell)
    return back_to(f"/ui/work-pools/{name}")


def _limit(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) > 1_000_000:
        raise InvalidInput("invalid concurrency limit", [FieldError(
            "limit", "a whole number from 0 to 1000000, or empty for no limit")])
    return int(text)
