"""Dispatch against a real database: limits from run states, priorities, pauses, no
head-of-line blocking, CANCEL_NEW, and slots freed by final states."""
from __future__ import annotations

from orchestrator.models import (DeploymentCreate, FlowRunCreate, StateProposal, WorkPoolUpdate,
                                 WorkQueueCreate, WorkQueueUpdate, utcnow)
from orchestrator.scheduler.dispatch import dispatch_once
from orchestrator.states import Origin, StateType
from orchestrator.store import deployments, flow_runs, work_pools
from tests.test_store import RecordingPublisher


def setup_pool(db, pool="p", limit=None, queues=()):
    with db.begin() as conn:
        from orchestrator.models import WorkPoolCreate

        work_pools.create_work_pool(conn, WorkPoolCreate(name=pool, type="process",
                                                         concurrency_limit=limit), utcnow())
        for name, priority, queue_limit in queues:
            work_pools.create_work_queue(conn, pool, WorkQueueCreate(
                name=name, priority=priority, concurrency_limit=queue_limit), utcnow())


def deploy(db, name, pool="p", queue=None, limit=None, strategy="ENQUEUE"):
    with db.begin() as conn:
        return deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name=name, entrypoint="f.py:f", work_pool_name=pool,
            work_queue_name=queue, concurrency_limit=limit, collision_strategy=strategy), utcnow())


def trigger(db, deployment, count=1, queue=None):
    with db.begin() as conn:
        pool = work_pools.read_work_pool(conn, deployment.work_pool_name)
        return [flow_runs.create_flow_run(conn, deployment, pool,
                                          FlowRunCreate(work_queue_name=queue), utcnow()).id
                for _ in range(count)]


def dispatch(db, batch_size=1000):
    publisher = RecordingPublisher()
    dispatch_once(db, publisher, utcnow(), claim_timeout_s=3600, batch_size=batch_size)
    return [m.run_id for _, m in publisher.sent]


def finish(db, run_id, state=StateType.CRASHED):
    with db.begin() as conn:
        run = flow_runs.read_flow_run(conn, run_id)
        flow_runs.set_state(conn, run_id, StateProposal(type=StateType.RUNNING,
                                                        token=run.dispatch_token),
                            Origin.TOKEN_HOLDER, utcnow(), worker_name="w")
        flow_runs.set_state(conn, run_id, StateProposal(type=state, token=run.dispatch_token),
                            Origin.TOKEN_HOLDER, utcnow())


def states(db, run_ids):
    with db.connect() as conn:
        return [flow_runs.read_flow_run(conn, r).state_type.value for r in run_ids]


def test_a_pool_limit_is_never_exceeded_and_a_final_state_frees_the_slot(database):
    setup_pool(database, limit=2)
    runs = trigger(database, deploy(database, "d"), 5)

    assert dispatch(database) == runs[:2]
    assert dispatch(database) == []
    finish(database, runs[0])
    assert dispatch(database) == [runs[2]]


def test_higher_priority_queues_are_admitted_first(database):
    setup_pool(database, limit=3, queues=[("high", 1, None), ("low", 3, None)])
    low = trigger(database, deploy(database, "low", queue="low"), 3)
    high = trigger(database, deploy(database, "high", queue="high"), 2)

    assert dispatch(database) == high + low[:1]


def test_a_queue_limit_holds_while_other_queues_flow(database):
    setup_pool(database, queues=[("narrow", 1, 1)])
    narrow = trigger(database, deploy(database, "n", queue="narrow"), 3)
    wide = trigger(database, deploy(database, "w"), 3)

    assert sorted(dispatch(database)) == sorted(narrow[:1] + wide)


def test_a_deployment_blocked_by_its_limit_does_not_starve_others_beyond_the_window(database):
    setup_pool(database)
    blocked = trigger(database, deploy(database, "busy", limit=1), 30)
    other = trigger(database, deploy(database, "other"), 2)

    assert dispatch(database, batch_size=5) == [blocked[0]]
    assert dispatch(database, batch_size=5) == other


def test_cancel_new_cancels_the_colliding_run_at_once_with_the_reason(database):
    setup_pool(database)
    first, second = trigger(database, deploy(database, "once", limit=1, strategy="CANCEL_NEW"), 2)

    assert dispatch(database) == [first]
    assert states(database, [first, second]) == ["PENDING", "CANCELLED"]
    with database.connect() as conn:
        message = flow_runs.read_flow_run(conn, second).state_message
    assert "concurrency limit of 1" in message and "CANCEL_NEW" in message


def test_pausing_stops_dispatch_and_resuming_continues_in_order(database):
    setup_pool(database, queues=[("q2", 2, None)])
    runs = trigger(database, deploy(database, "d"), 2)
    with database.begin() as conn:
        work_pools.update_work_pool(conn, "p", WorkPoolUpdate(paused=True), utcnow())
    assert dispatch(database) == []
    with database.begin() as conn:
        work_pools.update_work_pool(conn, "p", WorkPoolUpdate(paused=False), utcnow())
        work_pools.update_work_queue(conn, "p", "default", WorkQueueUpdate(paused=True))
    assert dispatch(database) == []
    with database.begin() as conn:
        work_pools.update_work_queue(conn, "p", "default", WorkQueueUpdate(paused=False))
    assert dispatch(database) == runs


def test_inspecting_a_pool_shows_the_runs_holding_each_limit(database):
    setup_pool(database, limit=4, queues=[("q", 1, 2)])
    runs = trigger(database, deploy(database, "d", queue="q"), 3)
    dispatch(database)

    with database.connect() as conn:
        detail = work_pools.read_work_pool_detail(conn, "p")
    assert (detail.usage.limit, detail.usage.in_use) == (4, 2)
    queue = next(q for q in detail.work_queues if q.name == "q")
    assert (queue.usage.limit, queue.usage.in_use) == (2, 2)
    assert {h.id for h in queue.usage.holders} == set(runs[:2])
