"""Deleting deployments and work pools, and listing flows, on a real SQLite file and a real
PostgreSQL server: what happens to the runs that belonged to them."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from orchestrator.errors import InUse, NotFound
from orchestrator.models import (DeploymentCreate, FlowRunCreate, StateProposal, WorkPoolCreate,
                                 utcnow)
from orchestrator.schedules import DeploymentSchedule, IntervalSchedule
from orchestrator.states import Origin, StateType
from orchestrator.store import deployment_schedules as schedules
from orchestrator.store import deployments, flow_runs, work_pools
from orchestrator.store.events import list_events
from orchestrator.store.flows import list_flows
from orchestrator.store.removals import delete_deployment, delete_work_pool
from tests.test_store import dispatch


def deploy(db, flow="f", name="d", pool="pool-a", **fields):
    now = utcnow()
    with db.begin() as conn:
        if pool not in work_pools.list_work_pool_names(conn):
            work_pools.create_work_pool(conn, WorkPoolCreate(name=pool, type="process"), now)
        return deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name=flow, name=name, entrypoint="flows.py:f", work_pool_name=pool, **fields), now)


def new_run(db, deployment):
    with db.begin() as conn:
        pool = work_pools.read_work_pool(conn, deployment.work_pool_name)
        return flow_runs.create_flow_run(conn, deployment, pool, FlowRunCreate(), utcnow())


def start(db, run_id):
    """Dispatch the due runs and move `run_id` to RUNNING with its token."""
    token = {m.run_id: m.token for _, m in dispatch(db)}[run_id]
    with db.begin() as conn:
        flow_runs.set_state(conn, run_id, StateProposal(type=StateType.RUNNING, token=token),
                            Origin.TOKEN_HOLDER, utcnow(), worker_name="w")
    return token


def finish(db, run_id, token, state=StateType.COMPLETED):
    with db.begin() as conn:
        return flow_runs.set_state(conn, run_id, StateProposal(type=state, token=token),
                                   Origin.TOKEN_HOLDER, utcnow())


def read(db, run_id):
    with db.connect() as conn:
        return flow_runs.read_flow_run(conn, run_id)


def test_deleting_a_deployment_with_a_run_in_progress_is_refused_and_changes_nothing(database):
    deployment = deploy(database)
    running = new_run(database, deployment)
    start(database, running.id)

    with pytest.raises(InUse) as refused, database.begin() as conn:
        delete_deployment(conn, "f", "d", False, utcnow())

    assert running.id in str(refused.value) and "--force" in str(refused.value)
    with database.connect() as conn:
        assert deployments.read_deployment(conn, "f", "d").id == deployment.id
    assert read(database, running.id).state_type is StateType.RUNNING


def test_force_cancels_runs_in_progress_deletes_waiting_ones_and_keeps_history(database):
    deployment = deploy(database, schedules=[DeploymentSchedule(
        schedule=IntervalSchedule(interval_s=3600, anchor_date=utcnow()))])
    done = new_run(database, deployment)
    finish(database, done.id, start(database, done.id))
    running = new_run(database, deployment)
    start(database, running.id)
    waiting = new_run(database, deployment)

    with database.begin() as conn:
        removal, cancelled = delete_deployment(conn, "f", "d", True, utcnow())

    assert removal.name == "f/d" and removal.cancelled_runs == [running.id]
    assert removal.deleted_waiting_runs == 1
    assert [r.state_type for r in cancelled] == [StateType.CANCELLING]
    with database.connect() as conn:
        with pytest.raises(NotFound):
            deployments.read_deployment(conn, "f", "d")
        with pytest.raises(NotFound):
            flow_runs.read_flow_run(conn, waiting.id)
        kept = flow_runs.read_flow_run(conn, done.id)
    assert kept.state_type is StateType.COMPLETED and kept.deployment_id is None
    assert read(database, running.id).state_type is StateType.CANCELLING


def test_a_pool_in_use_by_deployments_is_not_deleted_even_with_force(database):
    deploy(database, name="d1")
    deploy(database, name="d2")

    with pytest.raises(InUse) as refused, database.begin() as conn:
        delete_work_pool(conn, "pool-a", True, utcnow())

    assert "f/d1, f/d2" in str(refused.value)
    with database.connect() as conn:
        assert work_pools.read_work_pool(conn, "pool-a").name == "pool-a"


def test_a_pool_with_runs_in_progress_is_deleted_only_with_force(database):
    deployment = deploy(database)
    running = new_run(database, deployment)
    start(database, running.id)
    with database.begin() as conn:  # the run outlives its deployment, still stopping
        delete_deployment(conn, "f", "d", True, utcnow())

    with pytest.raises(InUse), database.begin() as conn:
        delete_work_pool(conn, "pool-a", False, utcnow())
    with database.begin() as conn:
        removal, _ = delete_work_pool(conn, "pool-a", True, utcnow())

    assert removal.name == "pool-a"
    with database.connect() as conn:
        assert "pool-a" not in work_pools.list_work_pool_names(conn)
        with pytest.raises(NotFound):
            work_pools.read_work_queue(conn, "pool-a", "default")


def test_flows_list_their_deployments_and_their_latest_run(database):
    first = deploy(database, flow="alpha", name="one")
    deploy(database, flow="alpha", name="two")
    deploy(database, flow="beta", name="only")
    new_run(database, first)
    latest = new_run(database, first)

    with database.connect() as conn:
        flows = list_flows(conn, 10)

    assert [(f.name, f.deployments) for f in flows] == [("alpha", ["one", "two"]),
                                                        ("beta", ["only"])]
    assert flows[0].last_run.id == latest.id and flows[1].last_run is None
    with database.connect() as conn:
        assert [f.name for f in list_flows(conn, 1)] == ["alpha"]


def test_a_retried_run_shows_the_start_of_its_current_attempt(database):
    deployment = deploy(database, retries=1)
    run = new_run(database, deployment)
    finish(database, run.id, start(database, run.id), StateType.FAILED)
    first_start = read(database, run.id).start_time

    start(database, run.id)

    again = read(database, run.id)
    assert again.attempt == 2 and again.start_time > first_start


def _events(db, name):
    with db.connect() as conn:
        return list_events(conn, name=name)


def test_deleting_a_deployment_emits_its_deleted_event(database):
    deployment = deploy(database)

    with database.begin() as conn:
        delete_deployment(conn, "f", "d", False, utcnow())

    [deleted] = _events(database, "flowpool.deployment.deleted")
    assert deleted.resource["flowpool.resource.id"] == f"flowpool.deployment.{deployment.id}"
    assert deleted.resource["flowpool.deployment.full-name"] == "f/d"


def test_schedule_changes_emit_the_deployment_updated_event(database):
    deployment = deploy(database)
    entry = DeploymentSchedule(slug="hourly", schedule=IntervalSchedule(
        interval_s=3600, anchor_date=utcnow()))

    with database.begin() as conn:
        schedules.create_schedule(conn, deployment, entry, utcnow())
    with database.connect() as conn:
        deployment = deployments.read_deployment(conn, "f", "d")
    with database.begin() as conn:
        schedules.set_schedule_active(conn, deployment, "hourly", False, utcnow())
        schedules.delete_schedule(conn, deployment, "hourly", utcnow())

    updates = _events(database, "flowpool.deployment.updated")
    assert len(updates) == 3
    assert {e.resource["flowpool.resource.id"] for e in updates} == {
        f"flowpool.deployment.{deployment.id}"}


def test_a_dispatch_batch_writes_its_events_in_one_statement(database):
    deployment = deploy(database)
    for _ in range(20):
        new_run(database, deployment)
    inserts = []

    def count_event_inserts(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            inserts.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", count_event_inserts)
    try:
        sent = dispatch(database)
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count_event_inserts)

    assert len(sent) == 20
    assert len(inserts) == 1
    assert len(_events(database, "flowpool.flow-run.Pending")) == 20
