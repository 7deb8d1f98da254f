"""Schedules in the store and the materializer, on a real SQLite file and a real PostgreSQL
server: runs created ahead exactly once, with what a triggered run would copy; redeploys,
pauses and schedule changes replace the future runs and nothing else."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from orchestrator.errors import AlreadyExists, InvalidInput, NotFound
from orchestrator.models import DeploymentCreate, StateProposal, WorkPoolCreate
from orchestrator.scheduler.materializer import Materializer, materialize
from orchestrator.schedules import CronSchedule, DeploymentSchedule, IntervalSchedule
from orchestrator.schedules.lookahead import idempotency_key
from orchestrator.states import Origin, StateType
from orchestrator.store import deployment_schedules as schedules
from orchestrator.store import deployments, flow_runs, work_pools
from orchestrator.store.database import Database
from orchestrator.store.tables import flow_runs as runs_table

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}, "label": {"type": "string"}},
          "required": ["n"], "additionalProperties": False}


def hourly(**entry) -> DeploymentSchedule:
    return DeploymentSchedule(schedule=CronSchedule(cron="0 * * * *"), **entry)


def daily_at_nine(**entry) -> DeploymentSchedule:
    return DeploymentSchedule(schedule=CronSchedule(cron="0 9 * * *"), **entry)


@pytest.fixture
def pool(database):
    with database.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name="p", type="process"), NOW)
    return "p"


def deploy(db, schedule_list=None, name="d", now=NOW, **fields):
    request = DeploymentCreate(**{
        "flow_name": "f", "name": name, "entrypoint": "flows.py:f", "work_pool_name": "p",
        "parameter_schema": SCHEMA, "parameters": {"n": 1}, "schedules": schedule_list,
        **fields})
    with db.begin() as conn:
        return deployments.upsert_deployment(conn, request, now)


def scheduled(db, deployment_id=None):
    """The SCHEDULED runs (of one deployment), soonest first."""
    query = sa.select(runs_table).where(runs_table.c.state_type == "SCHEDULED")
    if deployment_id:
        query = query.where(runs_table.c.deployment_id == deployment_id)
    with db.connect() as conn:
        rows = conn.execute(query.order_by(runs_table.c.scheduled_time)).mappings()
        return [dict(row) for row in rows]


def at_hours(*hours: int) -> list[datetime]:
    return [NOW.replace(minute=0) + timedelta(hours=h) for h in hours]


# --- creating runs -------------------------------------------------------------------------------

def test_a_deployment_keeps_its_schedules_with_stable_ids(database, pool):
    deployment = deploy(database, [hourly(slug="hourly"), daily_at_nine(active=False)])
    assert [s.slug for s in deployment.schedules] == ["hourly", None]
    assert [s.active for s in deployment.schedules] == [True, False]
    again = deploy(database, [hourly(slug="hourly"), daily_at_nine(active=False)])
    assert [s.id for s in again.schedules] == [s.id for s in deployment.schedules]


def test_the_materializer_creates_the_lookahead_as_scheduled_runs(database, pool):
    deployment = deploy(database, [hourly()])
    result = materialize(database, NOW)
    runs = scheduled(database)
    assert result.created == 3
    assert [r["scheduled_time"] for r in runs] == at_hours(1, 2, 3)
    schedule_id = deployment.schedules[0].id
    assert all(r["schedule_id"] == schedule_id and r["auto_scheduled"] for r in runs)
    assert runs[0]["idempotency_key"] == idempotency_key(deployment.id, schedule_id,
                                                         at_hours(1)[0])


def test_scheduled_runs_copy_the_deployment_like_triggered_runs_with_the_schedule_parameters(
        database, pool):
    deploy(database, [hourly(parameters={"label": "from schedule"})], retries=2,
           retry_delay_seconds=[5, 10], timeout_seconds=60, tags=["nightly"])
    materialize(database, NOW)
    run = scheduled(database)[0]
    assert run["parameters"] == {"n": 1, "label": "from schedule"}
    assert (run["retries"], run["retry_delay_seconds"], run["timeout_seconds"]) == (2, [5, 10], 60)
    assert run["tags"] == ["nightly"] and run["work_queue_name"] == "default"
    with database.connect() as conn:
        history = flow_runs.read_state_history(conn, run["id"])
    assert [(h.type, h.name) for h in history] == [(StateType.SCHEDULED, "Scheduled")]


def test_a_second_tick_a_restart_or_a_second_scheduler_creates_nothing_twice(database, pool):
    deploy(database, [hourly()])
    assert materialize(database, NOW).created == 3
    assert materialize(database, NOW).created == 0
    assert materialize(database, NOW + timedelta(minutes=5)).created == 0
    assert materialize(Database(database.url), NOW).created == 0  # another process's view
    assert len(scheduled(database)) == 3


def test_two_schedulers_materializing_at_once_never_duplicate_a_run(database, pool):
    for i in range(20):
        deploy(database, [DeploymentSchedule(schedule=CronSchedule(cron="*/5 * * * *"))],
               name=f"d{i}")
    others = [Database(database.url) for _ in range(4)]
    threads = [threading.Thread(target=materialize, args=(db, NOW), kwargs={"batch_size": 3})
               for db in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = scheduled(database)
    assert len(runs) == 20 * 13
    assert len({(r["deployment_id"], r["scheduled_time"]) for r in runs}) == len(runs)
    for db in others:
        db.dispose()


def test_a_run_a_user_cancelled_is_not_created_again(database, pool):
    deploy(database, [hourly()])
    materialize(database, NOW)
    first = scheduled(database)[0]
    with database.begin() as conn:
        flow_runs.cancel_flow_run(conn, first["id"], NOW)
    materialize(database, NOW + timedelta(seconds=1))
    assert first["scheduled_time"] not in [r["scheduled_time"] for r in scheduled(database)]


def test_a_deleted_run_leaves_a_gap_the_next_pass_fills(database, pool):
    deploy(database, [hourly()])
    materialize(database, NOW)
    gone = scheduled(database)[1]
    with database.begin() as conn:
        conn.execute(runs_table.delete().where(runs_table.c.id == gone["id"]))
    materialize(database, NOW)
    assert [r["scheduled_time"] for r in scheduled(database)] == at_hours(1, 2, 3)


def test_inactive_schedules_and_paused_deployments_get_no_runs(database, pool):
    deploy(database, [hourly(active=False)], name="inactive")
    deploy(database, [hourly()], name="paused", paused=True)
    assert materialize(database, NOW).created == 0


# --- replacing future runs ----------------------------------------------------------------------

def test_an_identical_redeploy_keeps_the_future_runs(database, pool):
    deploy(database, [hourly()])
    materialize(database, NOW)
    before = [r["id"] for r in scheduled(database)]
    deploy(database, [hourly()], now=NOW + timedelta(minutes=1))
    assert [r["id"] for r in scheduled(database)] == before


def test_a_redeploy_without_schedules_keeps_them(database, pool):
    deployment = deploy(database, [hourly()])
    again = deploy(database, None)
    assert [s.id for s in again.schedules] == [s.id for s in deployment.schedules]


def test_changed_schedules_replace_the_future_runs(database, pool):
    deploy(database, [hourly()])
    materialize(database, NOW)
    deploy(database, [daily_at_nine()], now=NOW + timedelta(minutes=1))
    assert scheduled(database) == []
    materialize(database, NOW + timedelta(minutes=1))
    assert [r["scheduled_time"].hour for r in scheduled(database)] == [9, 9, 9]


def test_changed_parameters_replace_the_future_runs_too(database, pool):
    deploy(database, [hourly()])
    materialize(database, NOW)
    deploy(database, [hourly()], parameters={"n": 2}, now=NOW + timedelta(minutes=1))
    materialize(database, NOW + timedelta(minutes=1))
    assert {r["parameters"]["n"] for r in scheduled(database)} == {2}


def test_replacing_spares_due_started_and_retrying_runs(database, pool):
    deployment = deploy(database, [hourly()])
    materialize(database, NOW)
    first, second, _third = scheduled(database)
    later = first["scheduled_time"] + timedelta(minutes=1)  # the first is due, not started
    with database.begin() as conn:  # the second is waiting to be retried
        conn.execute(runs_table.update().where(runs_table.c.id == second["id"])
                     .values(attempt=1, state_name="AwaitingRetry"))
    deploy(database, [], now=later)
    assert {r["id"] for r in scheduled(database, deployment.id)} == {first["id"], second["id"]}


def test_pausing_deletes_the_future_runs_and_resuming_makes_them_again(database, pool):
    deployment = deploy(database, [hourly()])
    materialize(database, NOW)
    with database.begin() as conn:
        schedules.set_deployment_paused(conn, deployment, True, NOW)
    assert scheduled(database) == [] and materialize(database, NOW).created == 0
    with database.begin() as conn:
        schedules.set_deployment_paused(conn, deployment, False, NOW)
    assert materialize(database, NOW).created == 3


def test_pausing_or_deleting_one_schedule_removes_only_its_runs(database, pool):
    deployment = deploy(database, [hourly(slug="hourly"), daily_at_nine(slug="nine")])
    materialize(database, NOW)
    nine = deployment.schedules[1]
    with database.begin() as conn:
        schedules.set_schedule_active(conn, deployment, "hourly", False, NOW)
    assert {r["schedule_id"] for r in scheduled(database)} == {nine.id}
    assert materialize(database, NOW).created == 0
    with database.begin() as conn:
        schedules.delete_schedule(conn, deployment, nine.id[:6], NOW)
    assert scheduled(database) == []


def test_a_created_schedule_gets_runs_on_the_next_pass(database, pool):
    deployment = deploy(database, [])
    with database.begin() as conn:
        created = schedules.create_schedule(conn, deployment, hourly(slug="extra"), NOW)
    materialize(database, NOW)
    assert {r["schedule_id"] for r in scheduled(database)} == {created.id}


# --- refusals ------------------------------------------------------------------------------------

def test_a_schedule_whose_runs_lack_a_required_parameter_is_refused_and_nothing_is_written(
        database, pool):
    with pytest.raises(InvalidInput) as refused:
        deploy(database, [hourly()], parameters={})
    assert refused.value.errors[0].field == "schedules[0].parameters.n"
    with database.connect() as conn, pytest.raises(NotFound):
        deployments.read_deployment(conn, "f", "d")


def test_a_redeploy_that_makes_an_existing_schedule_unable_to_run_is_refused(database, pool):
    deploy(database, [hourly()])
    with pytest.raises(InvalidInput):
        deploy(database, None, parameters={})


def test_two_schedules_of_a_deployment_cannot_share_a_slug(database, pool):
    with pytest.raises(InvalidInput) as refused:
        deploy(database, [hourly(slug="same"), daily_at_nine(slug="same")])
    assert refused.value.errors[0].field == "schedules[1].slug"
    deployment = deploy(database, [hourly(slug="same")])
    with database.begin() as conn, pytest.raises(AlreadyExists):
        schedules.create_schedule(conn, deployment, daily_at_nine(slug="same"), NOW)


def test_a_schedule_is_found_by_id_prefix_or_slug_and_an_unknown_one_is_named(database, pool):
    deployment = deploy(database, [hourly(slug="hourly")])
    stored = deployment.schedules[0]
    assert schedules.find_schedule(deployment, "hourly") == stored
    assert schedules.find_schedule(deployment, stored.id[:4]) == stored
    with pytest.raises(NotFound) as missing:
        schedules.find_schedule(deployment, "nightly")
    assert "hourly" in str(missing.value)


# --- when the materializer runs ------------------------------------------------------------------

def test_the_materializer_runs_at_once_after_a_change_and_otherwise_every_interval(database, pool):
    materializer = Materializer(database, interval_s=10)
    assert materializer.run(NOW) is not None
    assert materializer.run(NOW + timedelta(seconds=1)) is None
    deploy(database, [hourly()])
    assert materializer.run(NOW + timedelta(seconds=2)).created == 3
    assert materializer.run(NOW + timedelta(seconds=3)) is None
    assert materializer.run(NOW + timedelta(seconds=12)) is not None


def test_an_interval_schedule_round_trips_through_the_store(database, pool):
    anchor = datetime(2026, 1, 1, 9, tzinfo=UTC)
    entry = DeploymentSchedule(schedule=IntervalSchedule(interval_s=5400, anchor_date=anchor,
                                                         timezone="Europe/Paris"))
    deployment = deploy(database, [entry])
    assert deployment.schedules[0].schedule == entry.schedule


def test_upcoming_runs_come_soonest_first(database, pool):
    deployment = deploy(database, [hourly()])
    materialize(database, NOW)
    with database.connect() as conn:
        upcoming = schedules.upcoming_runs(conn, deployment.id, limit=2)
    assert [r.scheduled_time for r in upcoming] == at_hours(1, 2)


def test_a_dispatched_run_is_no_longer_a_future_run(database, pool):
    deployment = deploy(database, [hourly()])
    materialize(database, NOW)
    first = scheduled(database)[0]
    with database.begin() as conn:
        flow_runs.set_state(conn, first["id"], StateProposal(type=StateType.PENDING),
                            Origin.SERVER, NOW)
        assert schedules.delete_future_runs(conn, NOW, deployment_id=deployment.id) == 2


def force_schedule(db, deployment_id, **interval):
    """A schedule stored as an older version would have, past today's bounds."""
    entry = DeploymentSchedule.model_construct(
        schedule=IntervalSchedule.model_construct(timezone="UTC", **interval), active=True,
        parameters={}, slug="forced")
    with db.begin() as conn:
        schedules.replace_schedules(conn, deployment_id, [entry], [], NOW)


def test_a_schedule_that_fails_is_skipped_and_marked_and_the_others_get_their_runs(
        database, pool, caplog):
    bad = deploy(database, name="bad")
    force_schedule(database, bad.id, interval_s=1.9e16,
                   anchor_date=datetime(2414, 1, 1, tzinfo=UTC))
    good = deploy(database, [hourly()], name="good")

    with caplog.at_level("INFO", logger="orchestrator.scheduler.materializer"):
        first = materialize(database, NOW)
        second = materialize(database, NOW + timedelta(minutes=1))
    with database.connect() as conn:
        marked = deployments.read_deployment(conn, "f", "bad").schedules[0]

    assert first.created == 3 and second.created == 0
    assert len(scheduled(database, good.id)) == 3 and scheduled(database, bad.id) == []
    assert "100 years" in marked.error and "1900..2200" in marked.error
    assert [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()] == [
        f"skipping schedule {marked.id} of deployment f/bad: {marked.error}"]


def test_a_marked_schedule_that_works_again_is_cleared(database, pool):
    bad = deploy(database, name="bad")
    force_schedule(database, bad.id, interval_s=1.9e16, anchor_date=NOW)
    materialize(database, NOW)
    with database.begin() as conn:
        conn.execute(sa.text("UPDATE deployment_schedules SET schedule = :s"),
                     {"s": '{"interval_s": 3600, "anchor_date": "2026-01-01T00:00:00Z"}'})

    materialize(database, NOW)

    with database.connect() as conn:
        assert deployments.read_deployment(conn, "f", "bad").schedules[0].error is None
    assert len(scheduled(database, bad.id)) == 3
