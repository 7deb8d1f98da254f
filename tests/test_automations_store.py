"""Events and automations on a real SQLite file and a real PostgreSQL server: every state
change is an event of its own transaction; the automations count, fire on time and act once,
even when an evaluation dies half-way or two leaders evaluate at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.models import (DeploymentCreate, FlowRunCreate, StateProposal, WorkPoolCreate,
                                 utcnow)
from orchestrator.models.automations import AutomationCreate
from orchestrator.models.events import EventCreate
from orchestrator.scheduler import automations as automator_module
from orchestrator.scheduler.automations import Automator
from orchestrator.states import Origin, StateType
from orchestrator.store import automations, deployments, events, flow_runs, work_pools
from orchestrator.store.tables import automation_firings

SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}}
WEEK_S = 7 * 86400


def make_deployment(db, flow: str, pool: str = "pool-a"):
    now = utcnow()
    with db.begin() as conn:
        if pool not in work_pools.list_work_pool_names(conn):
            work_pools.create_work_pool(conn, WorkPoolCreate(name=pool, type="process"), now)
        return deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name=flow, name=flow, entrypoint=f"flows.py:{flow}", parameter_schema=SCHEMA,
            work_pool_name=pool), now)


def make_automation(db, **fields):
    with db.begin() as conn:
        return automations.create_automation(conn, AutomationCreate.model_validate(
            {"name": "auto", **fields}), utcnow())


def emit(db, name: str, deployment, at=None, **payload):
    with db.begin() as conn:
        return events.emit_event(conn, EventCreate(
            event=name, resource={"flowpool.resource.id": f"flowpool.flow-run.{name}-{at}"},
            related=[{"flowpool.resource.id": f"flowpool.deployment.{deployment.id}",
                      "flowpool.resource.name": deployment.name,
                      "flowpool.resource.role": "deployment"}],
            payload=payload, occurred=at), utcnow())


def runs_of(db, deployment):
    with db.connect() as conn:
        return flow_runs.list_flow_runs(conn, deployment_id=deployment.id)


def firings(db) -> int:
    with db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(automation_firings)).scalar()


def test_every_state_change_is_an_event_written_with_it(database):
    a = make_deployment(database, "a")
    with database.begin() as conn:
        run = flow_runs.create_flow_run(conn, a, work_pools.read_work_pool(conn, "pool-a"),
                                        FlowRunCreate(), utcnow())
    with database.begin() as conn:
        flow_runs.issue_tokens(conn, [run.id], StateType.SCHEDULED, utcnow())
    with pytest.raises(RuntimeError), database.begin() as conn:  # rolled back: no event
        flow_runs.set_state(conn, run.id, StateProposal(type=StateType.CANCELLED), Origin.USER,
                            utcnow())
        raise RuntimeError("the transaction fails after the change")
    with database.connect() as conn:
        found = events.list_events(conn, resource_id=f"flowpool.flow-run.{run.id}")
    assert [e.event for e in found] == ["flowpool.flow-run.Scheduled", "flowpool.flow-run.Pending"]
    roles = {r["flowpool.resource.role"]: r["flowpool.resource.name"] for r in found[0].related}
    assert roles == {"flow": "a", "deployment": "a", "work-pool": "pool-a"}


def test_three_failures_within_60_seconds_fire_once(database):
    a = make_deployment(database, "a")
    make_automation(database, trigger={
        "expect": ["prefect.flow-run.Failed"], "threshold": 3, "within": 60,
        "match_related": {"prefect.resource.role": "deployment", "prefect.resource.name": "a"}},
        actions=[{"type": "pause-deployment", "deployment": "a/a"}])
    automator, start = Automator(database, None, WEEK_S), utcnow()
    for at_s in (0, 20):
        emit(database, "flowpool.flow-run.Failed", a, start + timedelta(seconds=at_s))
    emit(database, "flowpool.flow-run.Failed", a, start + timedelta(seconds=90))  # too late
    automator.run(utcnow())
    with database.connect() as conn:
        assert not deployments.read_deployment(conn, "a", "a").paused
    for at_s in (95, 99):
        emit(database, "flowpool.flow-run.Failed", a, start + timedelta(seconds=at_s))
    automator.run(utcnow())
    with database.connect() as conn:
        assert deployments.read_deployment(conn, "a", "a").paused
    assert firings(database) == 1


def test_a_proactive_trigger_fires_at_the_end_of_a_quiet_window(database):
    a, b = make_deployment(database, "a"), make_deployment(database, "b")
    created = make_automation(database, trigger={
        "posture": "Proactive", "within": 30, "expect": ["flowpool.flow-run.Completed"],
        "match_related": {"flowpool.resource.name": "a"}},
        actions=[{"type": "run-deployment", "deployment": "b/b"}])
    automator = Automator(database, None, WEEK_S)
    automator.run(created.created + timedelta(seconds=29))
    assert runs_of(database, b) == []
    automator.run(created.created + timedelta(seconds=30))
    assert len(runs_of(database, b)) == 1
    emit(database, "flowpool.flow-run.Completed", a, created.created + timedelta(seconds=40))
    automator.run(created.created + timedelta(seconds=60))  # the second window saw its run
    assert len(runs_of(database, b)) == 1


def completions(database, a, count: int) -> None:
    for n in range(count):
        emit(database, "flowpool.flow-run.Completed", a, utcnow(), result=n)


def run_b_after_a(database):
    a, b = make_deployment(database, "a"), make_deployment(database, "b")
    make_automation(database, trigger={"expect": ["flowpool.flow-run.Completed"],
                                       "match_related": {"flowpool.resource.name": "a"}},
                    actions=[{"type": "run-deployment", "deployment": "b/b",
                              "parameters": {"x": "{{ event.payload.result }}"}}])
    return a, b


def test_an_evaluation_that_dies_half_way_is_done_once_by_the_next_leader(database,
                                                                           monkeypatch):
    a, b = run_b_after_a(database)
    completions(database, a, 3)
    original = automator_module.store.set_firing_outcome

    def die(*args):
        raise RuntimeError("the leader died after acting, before its commit")

    monkeypatch.setattr(automator_module.store, "set_firing_outcome", die)
    with pytest.raises(RuntimeError):
        Automator(database, None, WEEK_S).run(utcnow())
    assert runs_of(database, b) == [] and firings(database) == 0  # nothing of it stands
    monkeypatch.setattr(automator_module.store, "set_firing_outcome", original)
    Automator(database, None, WEEK_S).run(utcnow())  # the next leader
    Automator(database, None, WEEK_S).run(utcnow())  # and the one after finds nothing new
    assert sorted(r.parameters["x"] for r in runs_of(database, b)) == [0, 1, 2]


def test_two_leaders_evaluating_at_once_act_once_per_event(database):
    a, b = run_b_after_a(database)
    completions(database, a, 40)
    leaders = [Automator(database, None, WEEK_S) for _ in range(2)]
    errors = []

    def evaluate(leader):
        try:
            while leader.run(utcnow()):
                pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=evaluate, args=(leader,)) for leader in leaders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for leader in leaders:
        leader.run(utcnow())
    assert errors == []
    assert sorted(r.parameters["x"] for r in runs_of(database, b)) == list(range(40))
    assert firings(database) == 40


def test_an_automation_sees_only_the_events_from_its_creation_on(database):
    a, b = make_deployment(database, "a"), make_deployment(database, "b")
    emit(database, "flowpool.flow-run.Completed", a, utcnow(), result=1)
    Automator(database, None, WEEK_S).run(utcnow())  # no automation yet: passed by
    emit(database, "flowpool.flow-run.Completed", a, utcnow() - timedelta(seconds=1), result=2)
    make_automation(database, trigger={"expect": ["flowpool.flow-run.Completed"]},
                    actions=[{"type": "run-deployment", "deployment": "b/b",
                              "parameters": {"x": "{{ event.payload.result }}"}}])
    emit(database, "flowpool.flow-run.Completed", a, utcnow(), result=3)
    Automator(database, None, WEEK_S).run(utcnow())
    assert [r.parameters["x"] for r in runs_of(database, b)] == [3]


def test_old_evaluated_events_are_deleted_after_the_retention_period(database):
    a = make_deployment(database, "a")
    emit(database, "old.one", a, utcnow() - timedelta(days=8))
    emit(database, "new.one", a, utcnow())
    Automator(database, None, WEEK_S).run(utcnow())
    with database.connect() as conn:
        assert [e.event for e in events.list_events(conn, name="*.one")] == ["new.one"]


def test_an_automation_triggered_by_its_own_runs_stops_at_its_firing_limit(database, caplog):
    """A run-deployment action on every flow-run event of its own deployment: each run it
    makes is an event that fires it again, until the per-minute limit skips a firing."""
    a = make_deployment(database, "a")
    make_automation(database, trigger={
        "expect": ["flowpool.flow-run.*"],
        "match_related": {"flowpool.resource.role": "deployment", "flowpool.resource.name": "a"}},
        actions=[{"type": "run-deployment", "deployment": "a/a"}])
    automator = Automator(database, None, WEEK_S, max_firings_per_minute=5)
    emit(database, "flowpool.flow-run.Completed", a)

    passes = 0
    while automator.run(utcnow()):
        passes += 1
        assert passes < 50, "the loop did not stop"

    assert firings(database) == 5 and len(runs_of(database, a)) == 5
    warnings = [r for r in caplog.records if "fired 5 times within a minute" in r.getMessage()]
    assert len(warnings) == 1 and "FLOWPOOL_AUTOMATION_MAX_FIRINGS_PER_MINUTE" in \
        warnings[0].getMessage()
    emit(database, "flowpool.flow-run.Completed", a)  # within the minute: skipped too
    automator.run(utcnow())
    assert firings(database) == 5
    emit(database, "flowpool.flow-run.Completed", a, utcnow() + timedelta(minutes=2))
    automator.run(utcnow() + timedelta(minutes=2))  # a minute later it fires again
    assert firings(database) == 6


def test_a_sequence_trigger_acts_once_its_parts_came_in_order(database):
    a = make_deployment(database, "a")
    make_automation(database, trigger={
        "type": "sequence", "within": 300, "triggers": [
            {"expect": ["prefect.flow-run.Failed"], "threshold": 2, "within": 60},
            {"expect": ["flowpool.flow-run.Completed"]}]},
        actions=[{"type": "pause-deployment", "deployment": "a/a"}])
    automator, start = Automator(database, None, WEEK_S), utcnow()

    def paused_after(*names) -> bool:
        for offset, name in enumerate(names):
            emit(database, name, a, start + timedelta(seconds=offset))
        automator.run(utcnow())
        with database.connect() as conn:
            return deployments.read_deployment(conn, "a", "a").paused

    assert not paused_after("flowpool.flow-run.Completed", "flowpool.flow-run.Failed")
    assert not paused_after("flowpool.flow-run.Failed")  # the first part fired: 2 failures
    assert paused_after("flowpool.flow-run.Completed")
    assert firings(database) == 1


def test_two_run_deployment_actions_of_one_firing_each_make_their_run(database):
    """Each action's run is keyed by the firing and the action's place: the second is not
    taken for a repeat of the first (which once failed the whole evaluation, every time)."""
    a, b = make_deployment(database, "a"), make_deployment(database, "b")
    make_automation(database, trigger={"expect": ["go"]}, actions=[
        {"type": "run-deployment", "deployment": "b/b", "parameters": {"x": 1}},
        {"type": "run-deployment", "deployment": "b/b", "parameters": {"x": 2}}])
    emit(database, "go", a)

    Automator(database, None, WEEK_S).run(utcnow())

    assert sorted(r.parameters["x"] for r in runs_of(database, b)) == [1, 2]
    with database.connect() as conn:
        [automation] = automations.list_automations(conn)
        [firing] = automations.recent_firings(conn, automation.id)
    assert [o["action"] for o in firing["outcome"]] == ["run-deployment"] * 2
    assert all("flow_run" in o for o in firing["outcome"])
