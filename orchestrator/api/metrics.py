"""`/metrics` in Prometheus' text format, and the count of HTTP requests by route.

Two kinds of series: events counted in this process (`orchestrator/metrics.py`: runs started
and finished through this API, HTTP requests, and the scheduler's ticks when it runs in this
process), and gauges read from the database and Redis at scrape time (runs by state and pool,
queue depth and slots, late runs, workers online), which every API replica reports alike.
With FLOWPOOL_API_KEY set, /metrics wants the key like every other path.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from fastapi import FastAPI, Response
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry,
                               disable_created_metrics, generate_latest)
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import get_settings

from .. import metrics
from ..states import StateType
from ..store import overview
from ..store.work_pools import list_work_pool_names
from .liveness import read_liveness

disable_created_metrics()  # the `_created` twin of every series doubles a scrape for no use


class StoreCollector:
    """Gauges computed from the database and Redis each time Prometheus scrapes."""

    def __init__(self, app: FastAPI):
        self.app = app

    def collect(self):
        state = self.app.state
        now = datetime.now(timezone.utc)
        with state.db.connect() as conn:
            by_state = overview.runs_by_state_and_pool(conn)
            loads = overview.queue_loads(conn, now)
            late = overview.late_runs_by_pool(
                conn, now - timedelta(seconds=get_settings().late_after_s))
            pools = list_work_pool_names(conn)
        yield _runs_by_state(by_state, pools)
        yield from _queue_gauges(loads)
        yield _per_pool("flowpool_late_runs", "SCHEDULED runs past their time by more than"
                        " FLOWPOOL_LATE_AFTER_S.", pools, late)
        yield from self._liveness(pools)

    def _liveness(self, pools: list[str]):
        live = read_liveness(self.app.state.redis, self.app.state.broker_probe, pools)
        if live.broker_up is not None:
            yield GaugeMetricFamily("flowpool_broker_up", "1 while the broker answers a PING.",
                                    value=int(live.broker_up))
        if live.leader_known:
            yield GaugeMetricFamily("flowpool_scheduler_leader",
                                    "1 while a scheduler holds the leader lease.",
                                    value=int(live.leader is not None))
        if live.workers_known:
            yield _per_pool("flowpool_workers_online", "Workers whose heartbeat is fresh.",
                            pools, {p: len(live.online(p)) for p in pools})


def _runs_by_state(rows: list[tuple[str, str, int]], pools: list[str]) -> GaugeMetricFamily:
    """Every (state, pool) pair, zeros included, so a series never vanishes when it empties."""
    family = GaugeMetricFamily("flowpool_flow_runs", "Flow runs in the database by state and"
                               " work pool.", labels=["state", "work_pool"])
    counts = {(state, pool): count for state, pool, count in rows}
    for pool in sorted(set(pools) | {pool for _, pool in counts}):
        for state in StateType:
            family.add_metric([state.value, pool], counts.get((state.value, pool), 0))
    return family


def _queue_gauges(loads: list[overview.QueueLoad]):
    depth = GaugeMetricFamily("flowpool_work_queue_depth", "SCHEDULED runs due, waiting to be"
                              " dispatched.", labels=["work_pool", "work_queue"])
    in_use = GaugeMetricFamily("flowpool_work_queue_slots_in_use", "Runs PENDING, RUNNING or"
                               " CANCELLING (each holds a slot).",
                               labels=["work_pool", "work_queue"])
    limit = GaugeMetricFamily("flowpool_work_queue_concurrency_limit", "The queue's limit"
                              " (absent when unlimited).", labels=["work_pool", "work_queue"])
    for load in loads:
        labels = [load.work_pool_name, load.work_queue_name]
        depth.add_metric(labels, load.due)
        in_use.add_metric(labels, load.slots_in_use)
        if load.concurrency_limit is not None:
            limit.add_metric(labels, load.concurrency_limit)
    return depth, in_use, limit


def _per_pool(name: str, documentation: str, pools: list[str],
              values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["work_pool"])
    for pool in pools:
        family.add_metric([pool], values.get(pool, 0))
    return family


def install_metrics(app: FastAPI) -> None:
    """GET /metrics (outside the OpenAPI document: it is not JSON) and the request counter."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(app))

    @app.get("/metrics", include_in_schema=False)
    def scrape() -> Response:
        body = generate_latest(REGISTRY) + generate_latest(registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(RequestMetrics)


class RequestMetrics:
    """Counts each answered request by method, route template and status (a path that matched
    no route, or was refused before routing, counts as route "none")."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "none"
            metrics.HTTP_REQUESTS.labels(scope["method"], route, str(status[0])).inc()
            metrics.HTTP_DURATION.labels(route).observe(time.perf_counter() - started)
