"""Prometheus instruments of events, counted in the process where they happen: the scheduler's
ticks where the scheduler runs (inside `flowpool server start`, or a `flowpool scheduler
start` that serves them on its own --metrics-port), and runs starting and finishing, and HTTP
requests, in the API process that records them. Gauges of what the database holds (runs by
state, queue depth, slots) are read at scrape time instead: see `api/metrics.py`.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

from .models import FlowRun
from .states import FINAL_STATES

# seconds: a warm process run starts in well under a second; long flows run for hours
START_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
DURATION_BUCKETS = (0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600)

SCHEDULER_TICKS = Counter("flowpool_scheduler_ticks",
                          "Passes of the leading scheduler (crash detection, dispatch, schedules).")
SCHEDULER_TICK_ERRORS = Counter("flowpool_scheduler_tick_errors",
                                "Scheduler passes that failed with an error (the next one follows shortly).")
RUN_START_DELAY = Histogram(
    "flowpool_flow_run_start_delay_seconds",
    "From a run's trigger (its creation, or its scheduled time if later) to RUNNING.",
    ["work_pool"], buckets=START_BUCKETS)
RUN_DURATION = Histogram(
    "flowpool_flow_run_duration_seconds", "From a run's first RUNNING to its final state.",
    ["work_pool", "state"], buckets=DURATION_BUCKETS)
RUNS_FINISHED = Counter("flowpool_flow_runs_finished",
                        "Runs that reached a final state through this API process.",
                        ["work_pool", "state"])
HTTP_REQUESTS = Counter("flowpool_http_requests", "HTTP requests answered, by route template.",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("flowpool_http_request_duration_seconds",
                          "Time to answer HTTP requests, by route template.", ["route"])


def run_started(run: FlowRun) -> None:
    """A run was claimed (PENDING -> RUNNING): its start delay."""
    trigger = max(run.created, run.scheduled_time)
    delay = (run.state_changed - trigger).total_seconds()
    RUN_START_DELAY.labels(run.work_pool_name).observe(max(delay, 0.0))


def run_changed(run: FlowRun) -> None:
    """A run's state changed: counted and timed once it is final."""
    if run.state_type not in FINAL_STATES:
        return
    state = run.state_type.value
    RUNS_FINISHED.labels(run.work_pool_name, state).inc()
    if run.start_time is not None and run.end_time is not None:
        duration = (run.end_time - run.start_time).total_seconds()
        RUN_DURATION.labels(run.work_pool_name, state).observe(max(duration, 0.0))
