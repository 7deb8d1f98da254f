"""The store on a real SQLite file and a real PostgreSQL server: runs, the compare-and-set
state change, and dispatch."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from orchestrator.errors import AlreadyExists, InvalidInput, NotFound, StateRejected
from orchestrator.models import (DeploymentCreate, FlowRunCreate, StateProposal, WorkPoolCreate,
                                 utcnow)
from orchestrator.scheduler.dispatch import dispatch_once
from orchestrator.states import Origin, StateType
from orchestrator.store import deployments, flow_runs, work_pools

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
          "additionalProperties": False}


class RecordingPublisher:
    def __init__(self):
        self.sent = []

    def publish_many(self, messages):
        self.sent.extend(messages)


def make_deployment(db, pool="pool-a"):
    now = utcnow()
    with db.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name=pool, type="process"), now)
        return deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name="d", entrypoint="flows.py:f", parameter_schema=SCHEMA,
            work_pool_name=pool), now)


def make_run(db, deployment, **parameters):
    with db.begin() as conn:
        pool = work_pools.read_work_pool(conn, deployment.work_pool_name)
        return flow_runs.create_flow_run(conn, deployment, pool,
                                         FlowRunCreate(parameters=parameters or {"n": 1}), utcnow())


def dispatch(db):
    publisher = RecordingPublisher()
    dispatch_once(db, publisher, utcnow(), claim_timeout_s=30)
    return publisher.sent


def test_a_pool_has_a_default_queue_and_names_are_unique(database):
    make_deployment(database)
    with database.connect() as conn:
        assert [q.name for q in work_pools.list_work_queues(conn, "pool-a")] == ["default"]
    with pytest.raises(AlreadyExists), database.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name="pool-a", type="process"), utcnow())


def test_redeploying_replaces_the_definition_and_keeps_the_id(database):
    first = make_deployment(database)
    with database.begin() as conn:
        second = deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name="d", entrypoint="other.py:f", work_pool_name="pool-a"), utcnow())
        assert second.id == first.id
        assert deployments.read_deployment(conn, "f", "d").entrypoint == "other.py:f"


def test_a_run_with_invalid_parameters_is_not_written(database):
    deployment = make_deployment(database)
    with pytest.raises(InvalidInput):
        make_run(database, deployment, n="x")
    with database.connect() as conn:
        assert flow_runs.list_flow_runs(conn) == []


def test_dispatch_issues_a_token_and_one_message_per_due_run(database):
    deployment = make_deployment(database)
    run = make_run(database, deployment)

    sent = dispatch(database)

    with database.connect() as conn:
        pending = flow_runs.read_flow_run(conn, run.id)
    assert pending.state_type is StateType.PENDING and pending.dispatch_token
    assert [(q, m.run_id, m.token) for q, m in sent] == \
        [("flowpool.pool-a.default", run.id, pending.dispatch_token)]
    assert dispatch(database) == []  # a second tick finds nothing new


def test_a_future_run_is_not_dispatched_before_its_time(database):
    deployment = make_deployment(database)
    with database.begin() as conn:
        pool = work_pools.read_work_pool(conn, "pool-a")
        flow_runs.create_flow_run(conn, deployment, pool, FlowRunCreate(
            parameters={"n": 1}, scheduled_time=utcnow() + timedelta(hours=1)), utcnow())
    assert dispatch(database) == []


def test_an_unclaimed_pending_run_is_dispatched_again_with_a_new_token(database):
    deployment = make_deployment(database)
    run = make_run(database, deployment)
    first = dispatch(database)[0][1]

    publisher = RecordingPublisher()
    dispatch_once(database, publisher, utcnow() + timedelta(seconds=31), claim_timeout_s=30)

    second = publisher.sent[0][1]
    assert second.run_id == run.id and second.token != first.token
    with pytest.raises(StateRejected), database.begin() as conn:
        claim(conn, run.id, first.token)


def claim(conn, run_id, token, worker="w"):
    return flow_runs.set_state(conn, run_id, StateProposal(type=StateType.RUNNING, token=token),
                               Origin.TOKEN_HOLDER, utcnow(), worker_name=worker)


def test_only_one_of_two_concurrent_claims_wins(database):
    deployment = make_deployment(database)
    run = make_run(database, deployment)
    token = dispatch(database)[0][1].token
    outcomes, barrier = [], threading.Barrier(4)

    def try_claim(worker):
        barrier.wait()
        try:
            with database.begin() as conn:
                claim(conn, run.id, token, worker)
            outcomes.append("won")
        except StateRejected:
            outcomes.append("lost")

    threads = [threading.Thread(target=try_claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    with database.connect() as conn:
        detail = flow_runs.read_flow_run_detail(conn, run.id)
    assert detail.attempt == 1
    assert [h.type for h in detail.history].count(StateType.RUNNING) == 1


def test_the_final_state_keeps_the_result_and_the_history(database):
    deployment = make_deployment(database)
    run = make_run(database, deployment)
    token = dispatch(database)[0][1].token
    with database.begin() as conn:
        claim(conn, run.id, token)
        flow_runs.set_state(conn, run.id, StateProposal(type=StateType.COMPLETED, token=token,
                                                        result={"ok": [1, 2]}),
                            Origin.TOKEN_HOLDER, utcnow())
    with database.connect() as conn:
        done = flow_runs.read_flow_run_detail(conn, run.id)
    assert done.result == {"ok": [1, 2]} and done.end_time and done.start_time
    assert [h.type.value for h in done.history] == ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]
    assert done.history[0].timestamp.tzinfo is not None


def test_unknown_objects_are_reported_as_not_found(database):
    with database.connect() as conn:
        with pytest.raises(NotFound, match="work pool 'nope' does not exist"):
            work_pools.read_work_pool(conn, "nope")
        with pytest.raises(NotFound):
            flow_runs.read_flow_run(conn, "nope")
