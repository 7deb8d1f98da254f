"""The store's aggregates for the dashboard and /metrics, and the runs search, on SQLite and
PostgreSQL: counts come out of the database, per hour, state, pool and queue."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from orchestrator.models import (DeploymentCreate, FlowRunCreate, StateProposal,
                                 WorkPoolCreate, WorkQueueCreate)
from orchestrator.states import Origin, StateType
from orchestrator.store import deployments, flow_runs, overview, work_pools
from orchestrator.store.run_search import RunFilter, child_flow_runs, search_runs

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)


def make_run(conn, deployment, pool, created, tags=(), scheduled=None, queue=None):
    return flow_runs.create_flow_run(conn, deployment, pool, FlowRunCreate(
        tags=list(tags), scheduled_time=scheduled, work_queue_name=queue), created)


def fail(conn, run, when):
    flow_runs.set_state(conn, run.id, StateProposal(type=StateType.CANCELLED), Origin.USER, when)


@pytest.fixture
def seeded(database):
    with database.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name="p", type="process"), NOW)
        work_pools.create_work_queue(conn, "p", WorkQueueCreate(name="fast", priority=1,
                                                                 concurrency_limit=2), NOW)
        pool = work_pools.read_work_pool(conn, "p")
        dep = deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name="d", entrypoint="f.py:f", work_pool_name="p"), NOW)
        other = deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name="e", entrypoint="f.py:f", work_pool_name="p"), NOW)
    return database, dep, other, pool


def test_runs_are_counted_per_hour_and_state_over_the_window(seeded):
    db, dep, _, pool = seeded
    with db.begin() as conn:
        make_run(conn, dep, pool, NOW - timedelta(hours=30))  # outside the window
        make_run(conn, dep, pool, NOW - timedelta(hours=2, minutes=10))
        make_run(conn, dep, pool, NOW - timedelta(hours=2, minutes=50))
        fail(conn, make_run(conn, dep, pool, NOW - timedelta(minutes=5)), NOW)
    with db.connect() as conn:
        rows = overview.runs_by_hour_and_state(conn, NOW - timedelta(hours=24))
    assert sorted(rows) == [("2026-03-01 09", "SCHEDULED", 1), ("2026-03-01 10", "SCHEDULED", 1),
                            ("2026-03-01 12", "CANCELLED", 1)]


def test_queue_depth_slots_late_runs_and_next_run(seeded):
    db, dep, other, pool = seeded
    with db.begin() as conn:
        due = make_run(conn, dep, pool, NOW - timedelta(minutes=10))  # late
        make_run(conn, dep, pool, NOW, queue="fast")  # due now, not late yet
        future = make_run(conn, other, pool, NOW, scheduled=NOW + timedelta(hours=1))
        flow_runs.issue_tokens(conn, [due.id], StateType.SCHEDULED, NOW)  # PENDING: a slot
        late = make_run(conn, other, pool, NOW - timedelta(minutes=20))
    with db.connect() as conn:
        loads = {q.work_queue_name: q for q in overview.queue_loads(conn, NOW)}
        late_by_pool = overview.late_runs_by_pool(conn, NOW - timedelta(seconds=15))
        late_runs = overview.late_runs(conn, NOW - timedelta(seconds=15), 10)
        next_runs = overview.next_run_times(conn, [dep.id, other.id])
        by_state = overview.runs_by_state_and_pool(conn)

    assert (loads["default"].due, loads["default"].slots_in_use) == (1, 1)
    assert (loads["fast"].due, loads["fast"].slots_in_use, loads["fast"].concurrency_limit) == (
        1, 0, 2)
    assert late_by_pool == {"p": 1} and [r.id for r in late_runs] == [late.id]
    assert next_runs[other.id] == late.scheduled_time and dep.id in next_runs
    assert next_runs[other.id].tzinfo is not None
    assert future.id not in [r.id for r in late_runs]
    assert sorted(by_state) == [("PENDING", "p", 1), ("SCHEDULED", "p", 3)]


def test_failing_deployments_are_ranked_by_their_failures(seeded):
    db, dep, other, pool = seeded
    with db.begin() as conn:
        for deployment, count in ((dep, 1), (other, 2)):
            for _ in range(count):
                run = make_run(conn, deployment, pool, NOW - timedelta(hours=1))
                flow_runs.issue_tokens(conn, [run.id], StateType.SCHEDULED, NOW)
                token = flow_runs.read_flow_run(conn, run.id).dispatch_token
                flow_runs.set_state(conn, run.id, StateProposal(type=StateType.RUNNING,
                                                                token=token),
                                    Origin.TOKEN_HOLDER, NOW)
                flow_runs.set_state(conn, run.id, StateProposal(type=StateType.FAILED,
                                                                token=token),
                                    Origin.TOKEN_HOLDER, NOW)
    with db.connect() as conn:
        failing = overview.failing_deployments(conn, NOW - timedelta(hours=24), 10)
    assert [(f.name, f.failed) for f in failing] == [("e", 2), ("d", 1)]
    assert failing[0].last_failed == NOW


def test_runs_are_found_by_state_deployment_tag_and_time(seeded):
    db, dep, other, pool = seeded
    with db.begin() as conn:
        old = make_run(conn, dep, pool, NOW - timedelta(days=3), tags=["nightly"])
        odd = make_run(conn, other, pool, NOW - timedelta(hours=1), tags=['50%_"off"'])
        fail(conn, plain := make_run(conn, dep, pool, NOW), NOW)

    def ids(**criteria):
        with db.connect() as conn:
            return [r.id for r in search_runs(conn, RunFilter(**criteria), None, 10).items]

    assert ids() == [plain.id, odd.id, old.id]
    assert ids(states=(StateType.CANCELLED,)) == [plain.id]
    assert ids(deployment_id=other.id) == [odd.id]
    assert ids(tag="nightly") == [old.id] and ids(tag="night") == []
    assert ids(tag='50%_"off"') == [odd.id] and ids(tag="50") == []
    assert ids(created_after=NOW - timedelta(days=1)) == [plain.id, odd.id]
    assert ids(work_pool_name="nope") == []
    with db.connect() as conn:
        assert child_flow_runs(conn, plain.id) == []
