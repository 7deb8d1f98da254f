"""Reports of a root run's process in the store, on a real SQLite file and a real PostgreSQL:
child flow runs and task runs upserted idempotently (an older snapshot never overwrites a
newer one), the tree checked, children ended with their root, dispatch, limits and the reaper
blind to child runs; artifacts, the task cache, concurrency limits, variables."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from orchestrator.errors import AlreadyExists, InvalidInput, NotFound
from orchestrator.models import StateProposal, utcnow
from orchestrator.models.concurrency_limits import ConcurrencyLimitCreate, ConcurrencyLimitUpdate
from orchestrator.models.reports import ReportBatchIn
from orchestrator.models.task_cache import TaskCacheWrite
from orchestrator.store import dispatch as dispatch_queries
from orchestrator.scheduler.reaper import Reaper
from orchestrator.states import Origin, StateType
from orchestrator.store import (artifacts, concurrency_limits, flow_runs, reports, task_cache,
                                task_runs, variables, work_pools)
from tests.test_dispatch import deploy, setup_pool, trigger
from tests.test_store import dispatch

LOG_LIMIT = 1024 * 1024


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def root(database):
    """A RUNNING root run of a deployment (claimed with its token), as its engine sees it."""
    setup_pool(database)
    run_id, = trigger(database, deploy(database, "d"))
    dispatch(database)
    with database.begin() as conn:
        token = flow_runs.read_flow_run(conn, run_id).dispatch_token
        flow_runs.set_state(conn, run_id, StateProposal(type=StateType.RUNNING, token=token),
                            Origin.TOKEN_HOLDER, utcnow(), worker_name="w1")
    return run_id


def history(*states: str) -> list[dict]:
    now = utcnow()
    return [{"type": s, "name": s.capitalize(), "timestamp": (now + timedelta(seconds=i)).isoformat()}
            for i, s in enumerate(states)]


def child(run_id: str, parent: str, *states: str, attempt: int = 1, **extra) -> dict:
    return dict(id=run_id, name=f"child-{run_id[:4]}", flow_name="child", parent_flow_run_id=parent,
                parameters={"x": 1}, state_type=states[-1], state_name=states[-1].capitalize(),
                attempt=attempt, history=history(*states), **extra)


def task(run_id: str, flow_run_id: str, *states: str, attempt: int = 1, **extra) -> dict:
    return dict(id=run_id, flow_run_id=flow_run_id, name="double-0", task_key="flows.double",
                state_type=states[-1], state_name=states[-1].capitalize(), attempt=attempt,
                history=history(*states), **extra)


def report(db, root_id: str, **batch):
    with db.begin() as conn:
        return reports.apply_report(conn, root_id, ReportBatchIn.model_validate(batch),
                                    LOG_LIMIT, utcnow())


def read_run(db, run_id):
    with db.connect() as conn:
        return flow_runs.read_flow_run_detail(conn, run_id)


def read_tasks(db, flow_run_id):
    with db.connect() as conn:
        return task_runs.page_task_runs(conn, flow_run_id, None, 1000).items


def end_root(db, root_id: str, state: StateType):
    with db.begin() as conn:
        run = flow_runs.read_flow_run(conn, root_id)
        flow_runs.set_state(conn, root_id, StateProposal(type=state, token=run.dispatch_token),
                            Origin.TOKEN_HOLDER, utcnow())


def test_child_runs_are_flow_runs_of_their_own_linked_to_their_parent(database, root):
    first, nested = new_id(), new_id()
    calling_task = new_id()
    result = report(database, root, flow_runs=[
        child(nested, first, "RUNNING"),  # given before its parent: stored after it
        child(first, root, "RUNNING", "COMPLETED", parent_task_run_id=calling_task,
              result="8")])

    assert result.flow_runs == 2
    stored = read_run(database, first)
    assert (stored.parent_flow_run_id, stored.parent_task_run_id, stored.root_flow_run_id) == \
        (root, calling_task, root)
    assert stored.state_type is StateType.COMPLETED and stored.result == "8"
    assert [h.type for h in stored.history] == [StateType.RUNNING, StateType.COMPLETED]
    assert stored.deployment_id is None and stored.work_pool_name == "p"
    assert read_run(database, nested).root_flow_run_id == root
    with database.connect() as conn:
        children = flow_runs.page_flow_runs(conn, None, None, None, None, 100,
                                            parent_flow_run_id=root).items
    assert [c.id for c in children] == [first]


def test_a_later_snapshot_replaces_an_earlier_one_and_never_the_reverse(database, root):
    run_id, task_id = new_id(), new_id()
    report(database, root, flow_runs=[child(run_id, root, "RUNNING", "COMPLETED")],
           task_runs=[task(task_id, root, "PENDING", "RUNNING", "FAILED", "RUNNING", attempt=2)])
    # a resent older batch: first attempt of the task, the child still running
    report(database, root, flow_runs=[child(run_id, root, "RUNNING")],
           task_runs=[task(task_id, root, "PENDING", "RUNNING", "FAILED", attempt=1)])
    assert read_run(database, run_id).state_type is StateType.COMPLETED
    assert len(read_run(database, run_id).history) == 2
    stored, = read_tasks(database, root)
    assert (stored.attempt, stored.state_type) == (2, StateType.RUNNING)

    report(database, root, task_runs=[task(task_id, root, "PENDING", "RUNNING", "FAILED",
                                           "RUNNING", "COMPLETED", attempt=2, result="42")])
    report(database, root, task_runs=[task(task_id, root, "PENDING", "RUNNING", "FAILED",
                                           "RUNNING", "COMPLETED", attempt=2, result="42")])
    stored, = read_tasks(database, root)
    assert (stored.state_type, stored.result, stored.state_count) == (StateType.COMPLETED, "42", 5)


def test_reports_of_runs_outside_the_tree_refuse_the_batch_naming_each_field(database, root):
    stranger = new_id()
    with pytest.raises(InvalidInput) as refused:
        report(database, root, flow_runs=[child(new_id(), stranger, "RUNNING")],
               task_runs=[task(new_id(), stranger, "RUNNING")],
               logs=[dict(flow_run_id=stranger, timestamp=utcnow().isoformat(), message="x")])
    fields = {e.field for e in refused.value.errors}
    assert fields == {"flow_runs.0.parent_flow_run_id", "task_runs.0.flow_run_id",
                      "logs.0.flow_run_id"}
    assert read_tasks(database, root) == []

    other_root = trigger(database, deploy(database, "other"))[0]
    with pytest.raises(InvalidInput) as refused:  # a run of another tree cannot be taken over
        report(database, root, flow_runs=[child(other_root, root, "RUNNING")])
    assert refused.value.errors[0].field == "flow_runs.0.id"
    with pytest.raises(NotFound):
        report(database, new_id(), flow_runs=[])


def test_the_root_s_own_snapshot_is_left_to_its_engine(database, root):
    report(database, root, flow_runs=[child(root, None, "RUNNING", "COMPLETED")])
    assert read_run(database, root).state_type is StateType.RUNNING


@pytest.mark.parametrize("root_end, children_end", [(StateType.CANCELLED, StateType.CANCELLED),
                                                    (StateType.CRASHED, StateType.CRASHED),
                                                    (StateType.FAILED, StateType.CRASHED)])
def test_when_the_root_ends_its_open_children_and_task_runs_end_with_it(database, root, root_end,
                                                                        children_end):
    running, done, nested = new_id(), new_id(), new_id()
    open_task, done_task = new_id(), new_id()
    report(database, root, flow_runs=[child(running, root, "RUNNING"),
                                      child(done, root, "RUNNING", "COMPLETED"),
                                      child(nested, running, "RUNNING")],
           task_runs=[task(open_task, nested, "RUNNING"), task(done_task, root, "COMPLETED")])
    if root_end is StateType.CANCELLED:
        with database.begin() as conn:
            flow_runs.cancel_flow_run(conn, root, utcnow())  # RUNNING -> CANCELLING
    end_root(database, root, root_end)

    for run_id in (running, nested):
        run = read_run(database, run_id)
        assert run.state_type is children_end and root in run.state_message
        assert run.history[-1].type is children_end
    assert read_run(database, done).state_type is StateType.COMPLETED
    assert read_tasks(database, nested)[0].state_type is children_end
    assert read_tasks(database, root)[0].state_type is StateType.COMPLETED

    # late reports of the ended tree: running states are ignored, nothing is revived
    unseen = new_id()
    late = report(database, root, flow_runs=[child(running, root, "RUNNING", "COMPLETED"),
                                             child(unseen, root, "RUNNING")],
                  task_runs=[task(open_task, nested, "RUNNING", "COMPLETED"),
                             task(new_id(), unseen, "COMPLETED")],
                  logs=[dict(flow_run_id=unseen, timestamp=utcnow().isoformat(), message="x")])
    assert late.ignored == 5 and late.logs_created == 0
    assert read_run(database, running).state_type is children_end
    assert len(read_runs_of(database, root)) == 2


def read_runs_of(db, parent):
    with db.connect() as conn:
        return flow_runs.page_flow_runs(conn, None, None, None, None, 100,
                                        parent_flow_run_id=parent).items


def test_a_failed_attempt_that_is_retried_still_ends_its_children(database):
    setup_pool(database)
    from orchestrator.models import DeploymentCreate
    from orchestrator.store import deployments

    with database.begin() as conn:
        retried = deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name="r", entrypoint="f.py:f", work_pool_name="p", retries=1), utcnow())
    run_id, = trigger(database, retried)
    dispatch(database)
    with database.begin() as conn:
        token = flow_runs.read_flow_run(conn, run_id).dispatch_token
        flow_runs.set_state(conn, run_id, StateProposal(type=StateType.RUNNING, token=token),
                            Origin.TOKEN_HOLDER, utcnow())
    orphan = new_id()
    report(database, run_id, flow_runs=[child(orphan, run_id, "RUNNING")])
    end_root(database, run_id, StateType.FAILED)

    assert read_run(database, run_id).state_name == "AwaitingRetry"
    assert read_run(database, orphan).state_type is StateType.CRASHED


def test_dispatch_limits_waiting_reasons_and_the_reaper_leave_child_runs_out(database, root):
    running, awaiting_retry = new_id(), new_id()
    report(database, root, flow_runs=[child(running, root, "RUNNING"),
                                      child(awaiting_retry, root, "RUNNING", "FAILED", "SCHEDULED")])
    now = utcnow()
    with database.connect() as conn:
        usage = dispatch_queries.load_usage(conn)
        assert usage.pools["p"] == 1  # the root's slot only
        limits = dispatch_queries.load_limits(conn)
        due = dispatch_queries.due_candidates(conn, now + timedelta(hours=1), limits, usage, 100)
        assert awaiting_retry not in [c.run_id for c in due]
        assert dispatch_queries.next_due_time(conn, now - timedelta(hours=1), 30) is None
        assert [h.id for h in work_pools.slot_holders(conn, "p")] == [root]
        assert work_pools.runs_by_worker(conn, "p") == {"w1": [root]}

    class NoLeases:
        def mget(self, names):
            return [None] * len(names)

    reaper = Reaper(database, NoLeases(), crash_after_s=0)
    reaper.redis_ok_since -= 1
    assert reaper._leased_runs(now + timedelta(seconds=1)) == [(root, "RUNNING")]


def test_a_child_run_is_cancelled_through_its_root(database, root):
    run_id = new_id()
    report(database, root, flow_runs=[child(run_id, root, "RUNNING")])
    with pytest.raises(InvalidInput) as refused, database.begin() as conn:
        flow_runs.cancel_flow_run(conn, run_id, utcnow())
    assert root in str(refused.value)


def test_each_run_s_log_lines_count_against_its_own_budget(database, root):
    run_id = new_id()
    line = lambda run, text: dict(flow_run_id=run, timestamp=utcnow().isoformat(), message=text)  # noqa: E731
    with database.begin() as conn:
        result = reports.apply_report(conn, root, ReportBatchIn.model_validate(dict(
            flow_runs=[child(run_id, root, "RUNNING")],
            logs=[line(root, "a" * 60), line(run_id, "b" * 60), line(run_id, "c" * 60)])),
            100, utcnow())
    assert (result.logs_created, result.logs_dropped, result.logs_spent) == (2, 1, [run_id])
    assert read_run(database, root).log_bytes == 60
    assert read_run(database, run_id).log_lines_dropped == 1


def test_artifacts_are_upserted_and_listed_newest_first(database, root):
    first, second, progress = new_id(), new_id(), new_id()
    made = utcnow()
    artifact = lambda i, key, kind, data, at: dict(id=i, key=key, type=kind, data=data,  # noqa: E731
                                                   created_at=at.isoformat())
    report(database, root, artifacts=[
        artifact(first, "report", "markdown", "# one", made),
        artifact(second, "report", "markdown", "# two", made + timedelta(seconds=1)),
        artifact(progress, None, "progress", 10.0, made)])
    report(database, root, artifacts=[artifact(progress, None, "progress", 75.0, made)])
    with database.connect() as conn:
        versions = artifacts.page_artifacts(conn, None, "report", None, 10).items
        of_run = artifacts.page_artifacts(conn, root, None, None, 10).items
    assert [a.data for a in versions] == ["# two", "# one"]
    assert {a.id: a.data for a in of_run}[progress] == 75.0 and len(of_run) == 3


def test_the_task_cache_keeps_json_until_it_expires(database):
    now = utcnow()
    with database.begin() as conn:
        task_cache.write_cache_entry(conn, "k1", TaskCacheWrite(value={"a": [1, 2.0]}), now)
        task_cache.write_cache_entry(conn, "k2", TaskCacheWrite(
            value=1, expires_at=now + timedelta(seconds=5)), now)
    with database.connect() as conn:
        assert task_cache.read_cache_entry(conn, "k1", now).value == {"a": [1, 2.0]}
        assert task_cache.read_cache_entry(conn, "k2", now).value == 1
        with pytest.raises(NotFound):
            task_cache.read_cache_entry(conn, "k2", now + timedelta(seconds=6))
    with database.begin() as conn:  # a write replaces
        task_cache.write_cache_entry(conn, "k1", TaskCacheWrite(value="new"), now)
        assert task_cache.read_cache_entry(conn, "k1", now).value == "new"


def test_concurrency_limits_are_created_read_updated_and_deleted(database):
    now = utcnow()
    with database.begin() as conn:
        concurrency_limits.create_concurrency_limit(conn, ConcurrencyLimitCreate(
            name="gpu:default", limit=2), now)
        with pytest.raises(AlreadyExists):
            concurrency_limits.create_concurrency_limit(conn, ConcurrencyLimitCreate(
                name="gpu:default", limit=3), now)
    with database.begin() as conn:
        updated = concurrency_limits.update_concurrency_limit(
            conn, "gpu:default", ConcurrencyLimitUpdate(slot_decay_per_second=0.5), now)
        assert (updated.limit, updated.slot_decay_per_second, updated.active) == (2, 0.5, True)
        assert set(concurrency_limits.read_concurrency_limits(conn, ["gpu:default", "x"])) == \
            {"gpu:default"}
        concurrency_limits.delete_concurrency_limit(conn, "gpu:default")
        with pytest.raises(NotFound):
            concurrency_limits.read_concurrency_limit(conn, "gpu:default")


def test_creating_a_variable_that_exists_is_refused(database):
    with database.begin() as conn:
        variables.create_variable(conn, "threshold", 3, utcnow())
    with pytest.raises(AlreadyExists), database.begin() as conn:
        variables.create_variable(conn, "threshold", 4, utcnow())
    with database.connect() as conn:
        assert variables.read_variable(conn, "threshold").value == 3
