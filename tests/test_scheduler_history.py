"""History must not slow the scheduler down: with 100,000 finished runs in the table, a tick
(reap, dispatch, materialize, next due time) stays fast, and on SQLite every query it sends
to the runs table searches an index instead of scanning."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from config.settings import Settings
from orchestrator.leases import WorkerBeat, forget_worker, record_worker_beat
from orchestrator.models import DeploymentCreate, FlowRunCreate, WorkPoolCreate
from orchestrator.scheduler.service import Scheduler
from orchestrator.schedules import CronSchedule, DeploymentSchedule
from orchestrator.states import StateType
from orchestrator.store import deployments, flow_runs, work_pools
from orchestrator.store.tables import flow_runs as runs_table
from tests.test_store import RecordingPublisher

HISTORY_RUNS = 100_000
DEPLOYMENTS = 20
TICK_BOUND_S = 2.0  # generous: a tick takes tens of milliseconds here
DUE_RUNS = 5
POOL = f"history-{os.getpid()}"  # the session's Redis is shared: a name of its own
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def history_insert(count: int, when: datetime):
    """INSERT ... SELECT of `count` COMPLETED runs, generated inside the database."""
    seq = sa.select(sa.literal(1).label("n")).cte("seq", recursive=True)
    seq = seq.union_all(sa.select(seq.c.n + 1).where(seq.c.n < count))
    constants = dict(name="old", flow_name="f", deployment_name="d0", work_pool_name=POOL,
                     work_queue_name="default", state_type="COMPLETED", state_name="Completed",
                     attempt=1, retries=0, result_is_repr=False, auto_scheduled=False)
    columns = {"id": sa.literal("history-") + sa.cast(seq.c.n, sa.String)}
    columns.update({key: sa.literal(value) for key, value in constants.items()})
    columns.update({key: sa.literal(value, sa.JSON) for key, value in
                    dict(parameters={}, job_variables={}, tags=[], retry_delay_seconds=0).items()})
    columns.update({key: sa.literal(when, runs_table.c[key].type) for key in
                    ("state_changed", "scheduled_time", "created", "updated", "end_time")})
    select = sa.select(*[value.label(key) for key, value in columns.items()]).select_from(seq)
    return runs_table.insert().from_select(list(columns), select)


@pytest.fixture
def busy_database(database):
    """A pool, deployments with hourly schedules, a few due runs and a long history."""
    with database.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name=POOL, type="process"), NOW)
        for i in range(DEPLOYMENTS):
            deployment = deployments.upsert_deployment(conn, DeploymentCreate(
                flow_name="f", name=f"d{i}", entrypoint="flows.py:f", work_pool_name=POOL,
                schedules=[DeploymentSchedule(schedule=CronSchedule(cron="0 * * * *"))]), NOW)
        pool = work_pools.read_work_pool(conn, POOL)
        for _ in range(DUE_RUNS):
            flow_runs.create_flow_run(conn, deployment, pool, FlowRunCreate(), NOW)
        conn.execute(history_insert(HISTORY_RUNS, NOW - timedelta(days=1)))
    if database.url.startswith("postgresql"):
        with database.begin() as conn:
            conn.execute(sa.text("ANALYZE flow_runs"))
    return database


@pytest.fixture
def scheduler(busy_database, redis_server):
    """A scheduler, and an online worker with room for every due run."""
    scheduler = Scheduler(busy_database, RecordingPublisher(), Settings(), redis_server.url)
    record_worker_beat(scheduler.redis, WorkerBeat(name="w", pool=POOL, limit=100))
    yield scheduler
    forget_worker(scheduler.redis, POOL, "w")


def timed_tick(scheduler: Scheduler, now: datetime) -> float:
    started = time.perf_counter()
    scheduler.tick(now)
    return time.perf_counter() - started


def test_a_tick_stays_fast_with_a_hundred_thousand_finished_runs(busy_database, scheduler):
    first = timed_tick(scheduler, NOW)  # materializes every schedule
    steady = timed_tick(scheduler, NOW + timedelta(seconds=1))
    print(f"first tick {first * 1000:.0f} ms, steady tick {steady * 1000:.0f} ms")
    assert first < TICK_BOUND_S and steady < TICK_BOUND_S
    assert len(scheduler.publisher.sent) == DUE_RUNS
    with busy_database.connect() as conn:
        waiting = flow_runs.list_flow_runs(conn, StateType.SCHEDULED, limit=1000)
    assert len(waiting) == DEPLOYMENTS * 3


def test_every_query_of_a_tick_on_the_runs_table_searches_an_index(database, busy_database,
                                                                   scheduler):
    if not busy_database.url.startswith("sqlite"):
        pytest.skip("query plans are checked on SQLite; PostgreSQL is covered by the timing")
    statements = []

    def record(_conn, _cursor, statement, parameters, _context, executemany):
        if "flow_runs" in statement and not executemany and not statement.startswith("INSERT"):
            statements.append((statement, parameters))

    event.listen(busy_database.engine, "before_cursor_execute", record)
    try:
        scheduler.tick(NOW)
    finally:
        event.remove(busy_database.engine, "before_cursor_execute", record)
    assert statements
    with busy_database.connect() as conn:
        for statement, parameters in statements:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            scans = [row[-1] for row in plan if row[-1].startswith("SCAN flow_runs")]
            assert not scans, f"{statement}\n-> {scans}"
