"""One bad schedule does not stop scheduling: an absurd schedule is refused at the edge (API
and CLI), and one that an older version stored anyway (forced into the database through the
store here) is skipped and marked while every other deployment keeps its runs; `deployment
inspect` shows it and `deployment schedule delete` removes it. On SQLite, then PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from devstack import LocalStack, wait_for
from orchestrator.errors import InvalidInput
from orchestrator.models import DeploymentCreate
from orchestrator.schedules import DeploymentSchedule, IntervalSchedule
from orchestrator.states import StateType
from orchestrator.store import deployment_schedules as schedules_store
from orchestrator.store.database import Database
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.integration

POOL = "sched-pool"
FLOW = "from orchestrator import flow\n\n@flow\ndef tick():\n    return 1\n"
ABSURD = {"interval_s": 1.9e16, "anchor_date": "2414-01-01T00:00:00Z"}


@pytest.fixture(params=["sqlite", "postgresql"])
def sched_stack(request, tmp_path):
    """A server with its scheduler, on a fresh SQLite file or PostgreSQL database."""
    database_url = None
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("FLOWPOOL_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
        Database(POSTGRES_URL).drop_schema()
        database_url = POSTGRES_URL
    stack = LocalStack(tmp_path / "home", database_url=database_url)
    stack.database = Database(database_url or f"sqlite:///{stack.home / 'flowpool.db'}")
    stack.project = tmp_path / "project"
    stack.project.mkdir()
    (stack.project / "flows.py").write_text(FLOW)
    stack.start_redis()
    stack.start_server()
    stack.cli("work-pool", "create", POOL, "--type", "process", check=True)
    yield stack
    stack.stop()
    stack.database.dispose()


def force_absurd_schedule(db: Database, deployment_id: str) -> None:
    """Store the schedule an older version accepted, past today's validation."""
    schedule = IntervalSchedule.model_construct(
        interval_s=ABSURD["interval_s"], anchor_date=datetime(2414, 1, 1, tzinfo=timezone.utc),
        timezone="UTC")
    entry = DeploymentSchedule.model_construct(schedule=schedule, active=True, parameters={},
                                               slug="absurd")
    with db.begin() as conn:
        schedules_store.replace_schedules(conn, deployment_id, [entry], [],
                                          datetime.now(timezone.utc))


def test_an_absurd_schedule_is_refused_by_the_api_and_the_cli(sched_stack):
    stack = sched_stack
    api = stack.client()
    api.upsert_deployment(DeploymentCreate(flow_name="tick", name="plain", entrypoint="flows.py:tick",
                                           work_pool_name=POOL))
    with pytest.raises(InvalidInput) as refused:
        api._request("POST", "/deployments/name/tick/plain/schedules", json={"schedule": ABSURD})

    deployed = stack.cli("deploy", "flows.py:tick", "--name", "absurd", "--pool", POOL,
                         "--interval", "19000000000000000", "--anchor-date", "2414-01-01", cwd=stack.project)
    added = stack.cli("deployment", "schedule", "create", "tick/plain", "--interval", "60",
                      "--anchor-date", "2414-01-01")

    assert {e.field for e in refused.value.errors} == {"schedule.interval.interval_s",
                                                       "schedule.interval.anchor_date"}
    assert deployed.returncode == 1
    assert "--interval" in deployed.stderr and "--anchor-date" in deployed.stderr
    assert "100 years" in deployed.stderr and "1900..2200" in deployed.stderr
    assert added.returncode == 1 and "--anchor-date" in added.stderr
    assert [d.name for d in api.list_deployments(POOL)] == ["plain"]  # nothing half-written
    assert api.read_deployment("tick/plain").schedules == []


def test_a_stored_absurd_schedule_is_skipped_and_marked_while_others_get_their_runs(sched_stack):
    stack = sched_stack
    api = stack.client()
    bad = api.upsert_deployment(DeploymentCreate(flow_name="tick", name="bad",
                                                 entrypoint="flows.py:tick", work_pool_name=POOL))
    force_absurd_schedule(stack.database, bad.id)
    stack.cli("deploy", "flows.py:tick", "--name", "good", "--pool", POOL, "--interval", "3600",
              cwd=stack.project, check=True)
    good = api.read_deployment("tick/good")

    runs = wait_for(lambda: api.list_flow_runs(StateType.SCHEDULED.value, good.id, limit=10),
                    20, "the good schedule's runs")
    marked = wait_for(lambda: api.read_deployment("tick/bad").schedules[0].error, 20,
                      "the bad schedule to be marked")
    bad_schedule_id = api.read_deployment("tick/bad").schedules[0].id
    inspect_bad = stack.cli("deployment", "inspect", "tick/bad")
    inspect_good = stack.cli("deployment", "inspect", "tick/good")
    # More passes of the scheduler (a change rings it) must not log the same finding again.
    for _ in range(2):
        before = api.read_deployment("tick/good").updated
        stack.cli("deployment", "pause", "tick/good", check=True)
        stack.cli("deployment", "resume", "tick/good", check=True)
        assert api.read_deployment("tick/good").updated > before
    wait_for(lambda: len(api.list_flow_runs(StateType.SCHEDULED.value, good.id, limit=10)) >= 3,
             20, "the good schedule's runs after the resume")
    deleted = stack.cli("deployment", "schedule", "delete", "tick/bad", "absurd")

    assert len(runs) >= 1 and api.list_flow_runs(deployment_id=bad.id) == []
    assert "interval" in marked and "100 years" in marked
    assert inspect_bad.returncode == 0, inspect_bad.stderr
    assert "ERROR" in inspect_bad.stdout and "100 years" in inspect_bad.stdout
    assert inspect_good.returncode == 0, inspect_good.stderr
    assert "ERROR" not in inspect_good.stdout
    assert (stack.home / "server.log").read_text().count(
        f"skipping schedule {bad_schedule_id} of deployment tick/bad") == 1
    assert deleted.returncode == 0, deleted.stderr
    assert api.read_deployment("tick/bad").schedules == []
