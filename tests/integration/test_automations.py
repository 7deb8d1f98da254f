"""Events and automations end to end: a real Redis, server, scheduler(s) and worker, runs in
real processes. B runs when A completes with A's result as its parameter (from a
`triggers:` entry of prefect.yaml); three failures within 60 s fire once; a proactive
trigger fires within 10 s of its quiet window's end; flow code emits events through the
Prefect-compat layer; a leader killed mid-stream neither drops nor doubles an action."""
from __future__ import annotations

import json
import subprocess
import textwrap
import threading
from datetime import datetime, timedelta

import httpx
import pytest
import redis as redis_lib

from devstack import LocalStack, flowpool_command, wait_for
from orchestrator.models import FlowRunCreate
from orchestrator.models.automations import AutomationCreate
from orchestrator.states import FINAL_STATES, StateType
from tests.integration.test_scheduler import leader_pid, log_text, start_scheduler

pytestmark = pytest.mark.integration

LEASE_S = 2
FLOWS = '''
from orchestrator import flow


@flow
def upstream(n: int = 1):
    return n * 10


@flow
def downstream(x: int = 0):
    return x


@flow
def fails():
    raise ValueError("boom")


@flow
def emits(rows: int = 3):
    from prefect.events import emit_event

    emit_event("orders.loaded", resource={"prefect.resource.id": "db.orders"},
               payload={"rows": rows})
'''
PROJECT = '''
deployments:
  - name: up
    entrypoint: flows.py:upstream
    work_pool: {name: auto}
  - name: down
    entrypoint: flows.py:downstream
    work_pool: {name: auto}
    triggers:
      - enabled: true
        match: {prefect.resource.id: prefect.flow-run.*}
        match_related: {prefect.resource.role: deployment, prefect.resource.name: up}
        expect: [prefect.flow-run.Completed]
        parameters: {x: "{{ event.payload.result }}"}
  - name: fails
    entrypoint: flows.py:fails
    work_pool: {name: auto}
  - name: emits
    entrypoint: flows.py:emits
    work_pool: {name: auto}
'''


def write_project(directory, project: str = PROJECT) -> None:
    (directory / "flows.py").write_text(FLOWS)
    (directory / "prefect.yaml").write_text(project)


@pytest.fixture(scope="module")
def astack(tmp_path_factory):
    """A server with its scheduler on a Redis of its own, a worker, and the project deployed."""
    home = tmp_path_factory.mktemp("automations")
    stack = LocalStack(home / "home")
    stack.start_redis()
    stack.start_server()
    stack.project = home / "project"
    stack.project.mkdir()
    write_project(stack.project)
    stack.cli("work-pool", "create", "auto", "--type", "process", check=True)
    stack.start_worker("auto", "--limit", "4")
    stack.cli("deploy", "--all", cwd=stack.project, check=True)
    yield stack
    stack.stop()


def automation_file(stack, name: str, body: str):
    path = stack.home / f"{name}.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def runs_of(api, full_name: str, state: StateType | None = None):
    deployment = api.read_deployment(full_name)
    runs = api.list_flow_runs(deployment_id=deployment.id, limit=None)
    return [r for r in runs if state is None or r.state_type is state]


def finished(api, run_id: str):
    run = api.read_flow_run(run_id)
    return run if run.state_type in FINAL_STATES else None


def test_a_deployment_trigger_runs_b_when_a_completes_with_a_parameter_from_its_event(astack):
    api = astack.client()
    assert deployment_automations(api) == ["downstream/down__automation_1"]

    before = {r.id for r in runs_of(api, "downstream/down")}
    upstream = api.create_flow_run("upstream/up", FlowRunCreate(parameters={"n": 7}))
    wait_for(lambda: finished(api, upstream.id), 60, "the upstream run to finish")
    triggered = wait_for(lambda: [r for r in runs_of(api, "downstream/down", StateType.COMPLETED)
                                  if r.id not in before], 60, "the downstream run to complete")
    assert len(triggered) == 1
    assert triggered[0].parameters == {"x": 70} and triggered[0].result == 70
    assert "automation" in triggered[0].tags

    astack.cli("deploy", "--all", cwd=astack.project, check=True)  # replaced, not added
    assert deployment_automations(api) == ["downstream/down__automation_1"]


def deployment_automations(api) -> list[str]:
    return [a.name for a in api.list_automations() if a.deployment_id]


def test_three_failures_within_60_seconds_fire_once(astack):
    api = astack.client()
    path = automation_file(astack, "failures", """
        automations:
          - name: every-failure
            trigger:
              expect: [flowpool.flow-run.Failed]
              match_related: {flowpool.resource.role: deployment, flowpool.resource.name: fails}
            actions: [{type: run-deployment, deployment: downstream/down, parameters: {x: 1}}]
          - name: three-failures
            trigger:
              expect: [flowpool.flow-run.Failed]
              match_related: {flowpool.resource.role: deployment, flowpool.resource.name: fails}
              threshold: 3
              within: 60
            actions: [{type: run-deployment, deployment: downstream/down, parameters: {x: 3}}]
    """)
    astack.cli("automation", "create", "--file", str(path), check=True)

    def downstream_with(x):
        return [r for r in runs_of(api, "downstream/down") if r.parameters == {"x": x}]

    two = [api.create_flow_run("fails/fails", FlowRunCreate()) for _ in range(2)]
    for run in two:
        assert wait_for(lambda: finished(api, run.id), 60, "a failure").state_type \
            is StateType.FAILED
    # every-failure has seen both, so three-failures has too
    wait_for(lambda: len(downstream_with(1)) == 2, 30, "every-failure to fire twice")
    assert downstream_with(3) == []
    run = api.create_flow_run("fails/fails", FlowRunCreate())
    wait_for(lambda: finished(api, run.id), 60, "the third failure")
    wait_for(lambda: downstream_with(3), 30, "three-failures to fire")
    wait_for(lambda: len(downstream_with(1)) == 3, 30, "every-failure to fire a third time")
    assert len(downstream_with(3)) == 1
    detail = json.loads(astack.cli("automation", "inspect", "three-failures", "-o", "json",
                                   check=True).stdout)
    assert [f["outcome"][0]["action"] for f in detail["firings"]] == ["run-deployment"]
    for name in ("every-failure", "three-failures"):
        api.delete_automation(name)


def test_a_proactive_trigger_fires_within_10_seconds_of_its_windows_end(astack):
    api = astack.client()
    path = automation_file(astack, "proactive", """
        name: emits-every-4s
        trigger:
          posture: Proactive
          expect: [flowpool.flow-run.Completed]
          match_related: {flowpool.resource.role: deployment, flowpool.resource.name: emits}
          within: 4
        actions: [{type: run-deployment, deployment: downstream/down, parameters: {x: 99}}]
    """)
    astack.cli("automation", "create", "--file", str(path), check=True)
    created = api.read_automation("emits-every-4s")
    window_end = datetime.fromisoformat(created["created"]) + timedelta(seconds=4)
    fired = wait_for(lambda: [r for r in runs_of(api, "downstream/down")
                              if r.parameters == {"x": 99}], 30, "the proactive trigger")
    assert not api.set_automation_enabled("emits-every-4s", False).enabled
    first = min(r.created for r in fired)
    assert timedelta(0) <= first - window_end < timedelta(seconds=10)
    api.delete_automation("emits-every-4s")


def test_a_compound_trigger_runs_b_once_both_its_parts_fired(astack):
    """`require: all` of "upstream completed" and "orders.loaded" (emitted by flow code)."""
    api = astack.client()
    path = automation_file(astack, "compound", """
        automations:
          - name: witness  # fires on the first part alone: its event has been evaluated
            trigger:
              expect: [prefect.flow-run.Completed]
              match_related: {prefect.resource.role: deployment, prefect.resource.name: up}
            actions: [{type: run-deployment, deployment: downstream/down, parameters: {x: 41}}]
          - name: both-done
            trigger:
              type: compound
              require: all
              within: 300
              triggers:
                - expect: [prefect.flow-run.Completed]
                  match_related: {prefect.resource.role: deployment, prefect.resource.name: up}
                - expect: [orders.loaded]
            actions: [{type: run-deployment, deployment: downstream/down, parameters: {x: 42}}]
    """)
    astack.cli("automation", "create", "--file", str(path), check=True)

    def downstream_with(x):
        return [r for r in runs_of(api, "downstream/down") if r.parameters == {"x": x}]

    def downstream_42():
        return downstream_with(42)

    api.create_flow_run("upstream/up", FlowRunCreate())
    wait_for(lambda: downstream_with(41), 60, "the upstream run's event to be evaluated")
    assert downstream_42() == []  # one part alone does not fire it
    listed = astack.cli("automation", "ls", check=True).stdout
    emitting = api.create_flow_run("emits/emits", FlowRunCreate())
    wait_for(lambda: finished(api, emitting.id), 60, "the emitting run")
    wait_for(downstream_42, 30, "the compound trigger to fire")

    assert "compound: 2 of 2 parts within 300s" in listed
    assert len(downstream_42()) == 1
    page = httpx.get(f"http://127.0.0.1:{astack.api_port}/ui/automations", timeout=10)
    assert page.status_code == 200 and "compound: 2 of 2 parts" in page.text
    for name in ("witness", "both-done"):
        api.delete_automation(name)


def test_flow_code_emits_events_and_event_ls_shows_them(astack):
    api = astack.client()
    run = api.create_flow_run("emits/emits", FlowRunCreate(parameters={"rows": 42}))
    assert wait_for(lambda: finished(api, run.id), 60, "the run").state_type \
        is StateType.COMPLETED
    emitted = json.loads(astack.cli("event", "ls", "--name", "orders.*", "-o", "json",
                                    check=True).stdout)
    assert emitted[-1]["payload"] == {"rows": 42}
    assert emitted[-1]["resource"] == {"flowpool.resource.id": "db.orders"}
    assert {"flowpool.resource.id": f"flowpool.flow-run.{run.id}",
            "flowpool.resource.name": run.name,
            "flowpool.resource.role": "flow-run"} in emitted[-1]["related"]

    states = api.list_events(resource=f"flowpool.flow-run.{run.id}")
    assert [e.event for e in states] == [f"flowpool.flow-run.{s}" for s in
                                         ("Scheduled", "Pending", "Running", "Completed")]
    workers = api.list_events(name="flowpool.worker.*")
    assert ("flowpool.worker.online", "auto-w1") in [
        (e.event, e.resource["flowpool.resource.name"]) for e in workers]


def test_bad_automations_and_events_are_refused_naming_the_field(astack):
    api = astack.client()
    before = api.list_automations()
    path = automation_file(astack, "bad", """
        automations:
          - name: fine
            trigger: {expect: [x.y]}
            actions: [{type: cancel-flow-run}]
          - name: broken
            trigger: {posture: Proactive, expect: [x.y], within: soon}
            actions: [{type: run-deployment, parameters: {x: "{{ flow_run.id }}"}}]
    """)
    result = astack.cli("automation", "create", "--file", str(path))
    assert result.returncode == 1
    assert "nothing created" in result.stderr
    assert "automations[1].trigger.within: give `within` in seconds" in result.stderr
    assert "actions can use only the event" in result.stderr
    assert api.list_automations() == before

    with httpx.Client(base_url=astack.api_url) as http:
        answer = http.post("/automations", json={"name": "x", "trigger": {"threshold": 2},
                                                 "actions": [{"type": "cancel-flow-run"}]})
        assert answer.status_code == 422 and "within" in answer.text
        answer = http.post("/events", json={"event": "has space", "resource": {}})
        assert answer.status_code == 422
        assert "flowpool.resource.id" in answer.text
        assert http.get("/events", params={"limit": 0}).status_code == 422
        assert http.get("/automations/nope").status_code == 404


@pytest.fixture
def split_stack(tmp_path):
    """A server without its scheduler, for scheduler processes of their own to lead."""
    stack = LocalStack(tmp_path / "home", extra_env={"FLOWPOOL_LEADER_LEASE_S": str(LEASE_S)})
    stack.start_redis()
    stack.start_server("--no-scheduler")
    stack.project = tmp_path / "project"
    stack.project.mkdir()
    write_project(stack.project)
    stack.schedulers = []
    yield stack
    for process in stack.schedulers:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)
    stack.stop()


def test_a_leader_killed_mid_stream_neither_drops_nor_doubles_an_action(split_stack):
    stack, runs = split_stack, 6
    redis = redis_lib.Redis.from_url(stack.redis_url)
    stack.cli("work-pool", "create", "auto", "--type", "process", check=True)
    stack.start_worker("auto", "--limit", "4")
    first = start_scheduler(stack, "first")
    wait_for(lambda: leader_pid(redis) == first.pid, 10, "the first scheduler to lead")
    second = start_scheduler(stack, "second")
    wait_for(lambda: "is standby" in log_text(second), 10, "the second to wait as standby")
    stack.cli("deploy", "--all", cwd=stack.project, check=True)
    api = stack.client()

    for n in range(1, runs + 1):
        api.create_flow_run("upstream/up", FlowRunCreate(parameters={"n": n}))
    wait_for(lambda: runs_of(api, "downstream/down"), 60, "the first triggered run")
    first.kill()
    wait_for(lambda: leader_pid(redis) == second.pid, LEASE_S + 10, "the standby to take over")

    wait_for(lambda: len(runs_of(api, "upstream/up", StateType.COMPLETED)) == runs, 90,
             "every upstream run to complete")
    wait_for(lambda: len(runs_of(api, "downstream/down", StateType.COMPLETED)) >= runs, 90,
             "a downstream run per upstream run")
    # A marker emitted now is evaluated after every event before it (events go in order):
    # once its automation acted, every completion has been through the triggers.
    api.create_automation(AutomationCreate.model_validate({
        "name": "marker", "trigger": {"expect": ["test.marker"]},
        "actions": [{"type": "pause-deployment", "deployment": "fails/fails"}]}))
    with httpx.Client(base_url=stack.api_url) as http:
        http.post("/events", json={"event": "test.marker",
                                   "resource": {"flowpool.resource.id": "test"}}).raise_for_status()
    wait_for(lambda: api.read_deployment("fails/fails").paused, 30, "the marker to be evaluated")
    xs = sorted(r.parameters["x"] for r in runs_of(api, "downstream/down"))
    assert xs == [10 * n for n in range(1, runs + 1)]


def test_event_ls_follow_prints_new_events_as_they_come(astack):
    command = [*flowpool_command(), "event", "ls", "--follow", "--name", "follow.*", "-o", "json"]
    follower = subprocess.Popen(command, env=astack.env(), stdout=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        for line in follower.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_for(lambda: lines, 30, "the first page (none yet)")
        with httpx.Client(base_url=astack.api_url) as http:
            http.post("/events", json={"event": "follow.me", "payload": {"n": 1},
                                       "resource": {"flowpool.resource.id": "t"}}
                      ).raise_for_status()
        line = wait_for(lambda: next((x for x in list(lines) if "follow.me" in x), None), 30,
                        "the followed event")
        assert json.loads(line)["payload"] == {"n": 1}
    finally:
        follower.terminate()
        follower.wait(timeout=15)
