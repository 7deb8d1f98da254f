"""Flow code of a deployed run reporting over HTTP: `run_flow` in this process with an
HttpReporter, against a real server (with an API key, so the run reports with its own run
credential), a real Redis and a real database, for a root run created through the API and
claimed as a worker claims it. This test plays the engine: it runs the flow, closes the
reporter, then proposes the root's final state with the attempt's token.

Checked: a flow of 1,000 tasks records every task run in a few requests; child flow runs are
runs of their own, visible through the API and the CLI, and end with their root; artifacts,
variables and the task cache land on the server; the Prefect corpus flows give the manifest's
child runs and artifact keys; global concurrency limits hold under contention, and a holder
SIGKILLed frees its slot within the lease TTL (FLOWPOOL_CRASH_AFTER_S)."""
from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from orchestrator import (compat, concurrency, create_link_artifact, create_markdown_artifact,
                          create_progress_artifact, create_table_artifact, flow, get_run_logger,
                          rate_limit, task, update_progress_artifact, Variable)
from orchestrator.client import FlowpoolClient
from devstack import LocalStack, wait_for
from orchestrator.engine.http_reporter import HttpReporter
from orchestrator.engine.run import storable_result
from orchestrator.entrypoints import load_flow
from orchestrator.errors import ConcurrencySlotTimeout, NotFound
from orchestrator.models import (DeploymentCreate, FlowRunCreate, StateProposal, WorkPoolCreate,
                                 utcnow)
from orchestrator.models.concurrency_limits import ConcurrencyLimitCreate
from orchestrator.sdk.flow_engine import run_flow
from orchestrator.sdk.run_session import RunSession
from orchestrator.states import StateType
from orchestrator.store import flow_runs as runs_store
from orchestrator.store.database import Database
from tests.conftest import POSTGRES_URL
from tests.sdk.test_prefect_corpus import ENTRIES, _quick_time

pytestmark = pytest.mark.integration

KEY = "reports-key"
LEASE_TTL_S = 3.0  # FLOWPOOL_CRASH_AFTER_S of the test server: the slot lease TTL
POOL = "reports"


class DeployedRun(NamedTuple):
    id: str
    token: str
    credential: str


def start_stack(home: Path, database_url: str | None = None) -> LocalStack:
    stack = LocalStack(home, database_url=database_url, extra_env={
        "FLOWPOOL_API_KEY": KEY, "FLOWPOOL_CRASH_AFTER_S": str(LEASE_TTL_S)})
    stack.start_redis()
    stack.start_server("--no-scheduler")  # runs are dispatched by the test itself
    with admin(stack) as api:
        api.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    local = start_stack(tmp_path_factory.mktemp("http-reporter") / "home")
    yield local
    local.stop()


def admin(stack: LocalStack) -> FlowpoolClient:
    return FlowpoolClient(stack.api_url, api_key=KEY)


def ui_page(stack: LocalStack, path: str) -> str:
    """A page of the web UI, as a signed-in user sees it."""
    response = httpx.get(stack.api_url.removesuffix("/api") + path, headers={"Authorization": f"Bearer {KEY}"},
                         timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response.text


def database(stack: LocalStack) -> Database:
    return Database(stack.database_url or f"sqlite:///{stack.home / 'flowpool.db'}")


def start_root_run(stack: LocalStack, flow_name: str) -> DeployedRun:
    """A run of a deployment, dispatched (as the scheduler does) and claimed (as a worker
    does): RUNNING, with its token and its run credential."""
    with admin(stack) as api:
        api.upsert_deployment(DeploymentCreate(flow_name=flow_name, name="d",
                                               entrypoint="flows.py:f", work_pool_name=POOL))
        run = api.create_flow_run(f"{flow_name}/d", FlowRunCreate())
        db = database(stack)
        try:
            with db.begin() as conn:
                token = runs_store.issue_tokens(conn, [run.id], StateType.SCHEDULED,
                                                utcnow())[0].dispatch_token
        finally:
            db.dispose()
        claimed = api.claim_flow_run(run.id, token, "test-worker")
    return DeployedRun(run.id, token, claimed.run_credential)


def run_client(stack: LocalStack, run: DeployedRun) -> FlowpoolClient:
    return FlowpoolClient(stack.api_url, api_key=run.credential, retry_for_s=10)


def run_deployed(stack: LocalStack, flow_object: Any, parameters: dict | None = None
                 ) -> tuple[Any, HttpReporter, DeployedRun]:
    """Run the flow as the engine will: its reports over HTTP, then its final state."""
    run = start_root_run(stack, flow_object.name)
    with run_client(stack, run) as client:
        reporter = HttpReporter(client, run.id)
        try:
            state = run_flow(flow_object, parameters or {}, session=RunSession(reporter),
                             flow_run_id=run.id)
        finally:
            reporter.close()
        client.set_state(run.id, final_proposal(state, run.token))
    return state, reporter, run


def final_proposal(state: Any, token: str) -> StateProposal:
    if state.is_completed():
        value, is_repr = storable_result(state.result())
        return StateProposal(type=StateType.COMPLETED, token=token, result=value,
                             result_is_repr=is_repr)
    return StateProposal(type=StateType.FAILED, token=token, message=state.message)


# Flows

@task
def increment(x: int) -> int:
    return x + 1


@flow
def thousand_tasks() -> int:
    get_run_logger().info("a thousand tasks")
    return sum(increment(i) for i in range(1000))


@task
def double(x: int) -> int:
    return 2 * x


@flow(name="child-double")
def child_double(x: int) -> int:
    get_run_logger().info("doubling %d", x)
    return double(x)


@flow(name="grandchild")
def grandchild() -> str:
    return "deep"


@task
def calls_a_flow() -> str:
    return grandchild()


@flow(name="parent-of-children")
def parent_of_children(values: list[int]) -> dict:
    doubled = [child_double(v) for v in values]
    return {"doubled": doubled, "nested": calls_a_flow()}


@flow
def shares_things(rows: int) -> dict:
    Variable.set("reported_counter", rows, overwrite=True)
    data = [{"row": i, "square": i * i} for i in range(rows)]
    create_table_artifact(data, key="squares", description="rows seen")
    create_markdown_artifact(f"# Report\n\n{rows} rows", key="summary")
    create_link_artifact("https://example.com/report", "the report", key="link")
    progress = create_progress_artifact(10.0, key="progress")
    update_progress_artifact(progress, 100.0)
    return {"counter": Variable.get("reported_counter"), "missing": Variable.get("nope", "fb")}


# Reports: task runs, child runs, artifacts, variables

def test_a_flow_of_1000_tasks_records_every_task_run_in_a_few_requests(stack):
    started = time.monotonic()
    state, reporter, run = run_deployed(stack, thousand_tasks)
    elapsed = time.monotonic() - started

    assert state.result() == sum(range(1, 1001))
    with admin(stack) as api:
        task_runs = api.list_task_runs(run.id)
        assert api.read_flow_run(run.id).state_type is StateType.COMPLETED
        lines = [entry.message for entry in api.iter_logs(run.id)]
    print(f"1,000 task runs recorded with {reporter.report_requests} request(s), flow and "
          f"reporting {elapsed:.2f} s")
    assert len(task_runs) == 1000 and reporter.report_requests <= 5
    assert {t.state_type for t in task_runs} == {StateType.COMPLETED}
    assert [t.result for t in task_runs[:3]] == ["1", "2", "3"]  # in the order they ran
    assert [h["type"] for h in task_runs[0].history] == ["RUNNING", "COMPLETED"]
    assert "a thousand tasks" in lines

    listed = stack.cli("task-run", "ls", "--flow-run", run.id, "-o", "json", check=True)
    assert len(json.loads(listed.stdout)) == 1000

    page = ui_page(stack, f"/ui/runs/{run.id}")
    assert "<h2>Task runs</h2>" in page and task_runs[0].name in page
    # bounded: 200 rows (names alone may repeat: a task run's is its task's and 3 id letters)
    shown = page.partition("<h2>Task runs</h2>")[2].partition("</section>")[0]
    assert shown.count("<tr><td>") == 200 and task_runs[199].name in shown
    assert f"flowpool task-run ls --flow-run {run.id}" in page


def test_child_flow_runs_are_runs_of_their_own_linked_to_their_parent(stack):
    state, _, run = run_deployed(stack, parent_of_children, {"values": [4, 5]})

    assert state.result() == {"doubled": [8, 10], "nested": "deep"}
    with admin(stack) as api:
        every_child = sorted(api.list_child_runs(run.id), key=lambda r: r.start_time)
        children = [c for c in every_child if c.flow_name == "child-double"]
        assert [(c.flow_name, c.parameters, c.state_type, c.result) for c in children] == [
            ("child-double", {"x": 4}, StateType.COMPLETED, "8"),
            ("child-double", {"x": 5}, StateType.COMPLETED, "10")]
        first = api.read_flow_run(children[0].id)
        assert [h.type for h in first.history] == [StateType.RUNNING, StateType.COMPLETED]
        assert "doubling 4" in [line.message for line in api.iter_logs(first.id)]
        assert [t.name.split("-")[0] for t in api.list_task_runs(first.id)] == ["double"]
        calling, = api.list_task_runs(run.id)
        nested, = [c for c in every_child if c.flow_name == "grandchild"]
        assert (nested.parent_task_run_id, nested.state_type) == (calling.id,
                                                                 StateType.COMPLETED)

    shown = stack.cli("flow-run", "inspect", run.id, check=True).stdout
    assert "child flow runs:" in shown and children[0].id in shown and "calls_a_flow" in shown
    inspected = json.loads(stack.cli("flow-run", "inspect", run.id, "-o", "json",
                                     check=True).stdout)
    assert len(inspected["child_runs"]) == 3 and len(inspected["task_runs"]) == 1
    listed = stack.cli("flow-run", "ls", "--limit", "20", check=True).stdout
    child_line = next(line for line in listed.splitlines() if children[0].id in line)
    assert run.id[:8] in child_line  # marked with its parent


def test_artifacts_and_variables_land_on_the_server(stack):
    state, _, run = run_deployed(stack, shares_things, {"rows": 3})

    assert state.result() == {"counter": 3, "missing": "fb"}
    with admin(stack) as api:
        assert api.read_variable("reported_counter").value == 3
        found = {a.key: a for a in api.list_artifacts(run.id)}
        assert found["squares"].data == [{"row": 0, "square": 0}, {"row": 1, "square": 1},
                                         {"row": 2, "square": 4}]
        assert found["progress"].data == 100.0
        assert api.artifact_versions("summary", limit=1)[0].data == "# Report\n\n3 rows"

    shown = stack.cli("flow-run", "artifacts", run.id, check=True).stdout
    assert "# Report" in shown and "[the report](https://example.com/report)" in shown
    assert "ROW  SQUARE" in shown and "100%" in shown
    as_json = json.loads(stack.cli("flow-run", "artifacts", run.id, "-o", "json").stdout)
    assert {a["key"] for a in as_json} == {"squares", "summary", "link", "progress"}

    page = ui_page(stack, f"/ui/runs/{run.id}")
    assert "<h1>Report</h1>" in page and "<th>square</th>" in page and "<td>4</td>" in page
    assert 'href="https://example.com/report"' in page and '<progress max="100"' in page


def test_a_variable_that_exists_is_not_replaced_without_overwrite(stack):
    @flow
    def sets_twice() -> Any:
        Variable.set("set_once", 1)
        try:
            Variable.set("set_once", 2)
        except ValueError as exc:
            return type(exc).__name__
        return "replaced"

    with admin(stack) as api, contextlib.suppress(NotFound):
        api.delete_variable("set_once")
    state, _, _ = run_deployed(stack, sets_twice)
    assert state.result() == "VariableExists"
    with admin(stack) as api:
        assert api.read_variable("set_once").value == 1


CACHE_CALLS: list[int] = []


@task(cache_key_fn=lambda context, arguments: f"reported-square-{arguments['x']}")
def cached_square(x: int) -> int:
    CACHE_CALLS.append(x)
    return x * x


@flow
def uses_the_cache(x: int) -> int:
    return cached_square(x)


def test_the_task_cache_serves_a_later_run_from_the_server(stack):
    CACHE_CALLS.clear()
    first, _, _ = run_deployed(stack, uses_the_cache, {"x": 7})
    second, _, run = run_deployed(stack, uses_the_cache, {"x": 7})
    assert first.result() == second.result() == 49 and CACHE_CALLS == [7]
    with admin(stack) as api:
        served, = api.list_task_runs(run.id)
    assert served.cache_hit and served.state_name == "Cached"


# Runs ended with their root

CHILD_GATE = threading.Event()


@flow(name="waiting-child")
def waiting_child() -> str:
    CHILD_GATE.wait(30)
    return "finished late"


@flow
def parent_of_a_waiting_child() -> str:
    return waiting_child()


def test_cancelling_the_root_ends_its_running_child_cancelled(stack):
    run = start_root_run(stack, parent_of_a_waiting_child.name)
    client = run_client(stack, run)
    reporter = HttpReporter(client, run.id)
    CHILD_GATE.clear()
    runner = threading.Thread(target=run_flow, args=(parent_of_a_waiting_child, {}), kwargs=dict(
        session=RunSession(reporter), flow_run_id=run.id))
    runner.start()
    try:
        with admin(stack) as api:
            child, = wait_for(lambda: api.list_child_runs(run.id), 10, "the child run reported")
            assert child.state_type is StateType.RUNNING
            api.cancel_flow_run(run.id)  # RUNNING -> CANCELLING; its worker stops the process
            client.set_state(run.id, StateProposal(type=StateType.CANCELLED, token=run.token))
            assert api.read_flow_run(child.id).state_type is StateType.CANCELLED
    finally:
        CHILD_GATE.set()
        runner.join(30)
        reporter.close()
        client.close()
    with admin(stack) as api:  # its late report of COMPLETED does not revive it
        ended = api.read_flow_run(child.id)
        assert ended.state_type is StateType.CANCELLED and run.id in ended.state_message


# Bad input

def test_reports_outside_the_run_s_tree_are_refused_naming_the_field(stack):
    run = start_root_run(stack, "refused")
    stranger = "0c6f9a2e-1111-4222-8333-444455556666"
    headers = {"Authorization": f"Bearer {run.credential}"}
    body = {"flow_runs": [{"id": "1c6f9a2e-1111-4222-8333-444455556666", "name": "c",
                           "flow_name": "c", "parent_flow_run_id": stranger,
                           "state_type": "RUNNING", "state_name": "Running"}],
            "task_runs": [{"id": "2c6f9a2e-1111-4222-8333-444455556666", "flow_run_id": run.id,
                           "name": "t", "task_key": "m.t", "state_type": "RUNNING",
                           "state_name": "Running", "attempt": True}]}
    url = f"{stack.api_url}/flow_runs/{run.id}/reports"
    answer = httpx.post(url, json=body, headers=headers)
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"task_runs.0.attempt"}
    body["task_runs"][0]["attempt"] = 1
    answer = httpx.post(url, json=body, headers=headers)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["flow_runs.0.parent_flow_run_id"]
    other = httpx.post(f"{stack.api_url}/flow_runs/{stranger}/reports", json={}, headers=headers)
    assert other.status_code == 401  # a run reports on itself only
    too_many = {"logs": [{"flow_run_id": run.id, "timestamp": "2026-01-01T00:00:00Z",
                          "message": "x"}] * 1001}
    answer = httpx.post(url, json=too_many, headers=headers)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "logs"


# The Prefect corpus, reported to a server

SERVER_ENTRIES = [e for e in ENTRIES if e.get("child_runs") or e.get("artifacts")
                  or "gpu:default" in e.get("needs", "")]


@pytest.mark.parametrize("entry", SERVER_ENTRIES, ids=[e["entrypoint"] for e in SERVER_ENTRIES])
def test_corpus_flows_give_the_manifest_s_child_runs_and_artifacts_on_the_server(stack, entry):
    from tests.sdk.test_prefect_corpus import CORPUS

    compat.install()
    try:
        flow_object = load_flow(entry["entrypoint"], CORPUS)
        if "gpu:default" in entry.get("needs", ""):
            ensure_limit(stack, "gpu:default", 1)
            flow_object.fn.__globals__["time"] = _quick_time()
        state, _, run = run_deployed(stack, flow_object, entry["parameters"])
    finally:
        compat.uninstall()
    assert state.result() == entry["result"]
    with admin(stack) as api:
        assert len(api.list_child_runs(run.id)) == entry.get("child_runs", 0)
        assert {a.key for a in api.list_artifacts(run.id)} == set(entry.get("artifacts", []))
        lines = [line.message for line in api.iter_logs(run.id)]
    assert not any("do not exist" in line for line in lines)  # the limit was found


def ensure_limit(stack: LocalStack, name: str, limit: int, decay: float = 0.0) -> None:
    with admin(stack) as api:
        if name not in [c.name for c in api.list_concurrency_limits()]:
            api.create_concurrency_limit(ConcurrencyLimitCreate(
                name=name, limit=limit, slot_decay_per_second=decay))


# Global concurrency limits

INSIDE = {"now": 0, "peak": 0}
INSIDE_LOCK = threading.Lock()


@task
def holds_a_slot(i: int) -> int:
    with concurrency("contended", occupy=1):
        with INSIDE_LOCK:
            INSIDE["now"] += 1
            INSIDE["peak"] = max(INSIDE["peak"], INSIDE["now"])
        time.sleep(0.02)
        with INSIDE_LOCK:
            INSIDE["now"] -= 1
    return i


@flow
def contends(n: int) -> int:
    return len([f.result() for f in holds_a_slot.map(range(n))])


def test_holders_never_exceed_the_limit_under_contention(stack):
    ensure_limit(stack, "contended", 3)
    INSIDE.update(now=0, peak=0)
    state, _, _ = run_deployed(stack, contends, {"n": 24})
    assert state.result() == 24
    assert 1 < INSIDE["peak"] <= 3
    with admin(stack) as api:
        assert api.read_concurrency_limit("contended").active_slots == 0


@flow
def rate_limited(calls: int) -> float:
    started = time.monotonic()
    for _ in range(calls):
        rate_limit("paced")
    return time.monotonic() - started


def test_rate_limits_pace_calls_by_the_limit_s_decay(stack):
    ensure_limit(stack, "paced", 2, decay=10.0)
    state, _, _ = run_deployed(stack, rate_limited, {"calls": 6})
    assert 0.3 <= state.result() < 5  # 2 at once, then one each 0.1 s


@flow
def nests_an_inactive_limit() -> str:
    with concurrency("dormant", occupy=1):
        with concurrency("dormant", occupy=1):
            return "both held"


def test_concurrency_limit_commands_and_an_inactive_limit_not_enforced(stack):
    stack.cli("gcl", "create", "dormant", "--limit", "1", "--disable", check=True)
    refused = stack.cli("concurrency-limit", "create", "negative", "--limit", "-1")
    assert refused.returncode != 0 and "limit" in refused.stderr
    listed = json.loads(stack.cli("concurrency-limit", "ls", "-o", "json", check=True).stdout)
    assert {"name": "dormant", "limit": 1, "active": False, "active_slots": 0.0}.items() <= \
        next(c for c in listed if c["name"] == "dormant").items()

    state, _, run = run_deployed(stack, nests_an_inactive_limit)
    assert state.result() == "both held"
    with admin(stack) as api:
        lines = [line.message for line in api.iter_logs(run.id)]
    assert not any("do not exist" in line for line in lines)

    stack.cli("concurrency-limit", "update", "dormant", "--limit", "3", "--enable", check=True)
    shown = stack.cli("concurrency-limit", "inspect", "dormant", check=True).stdout
    assert "0/3" in shown and "holders:" in shown
    stack.cli("concurrency-limit", "delete", "dormant", check=True)
    missing = stack.cli("concurrency-limit", "inspect", "dormant")
    assert missing.returncode != 0 and "does not exist" in missing.stderr


HOLDER = """
import sys, time
from orchestrator.client import FlowpoolClient
from orchestrator.engine.http_reporter import HttpReporter

api_url, credential, run_id, name = sys.argv[1:5]
reporter = HttpReporter(FlowpoolClient(api_url, api_key=credential), run_id)
reporter.acquire_slots([name], 1, 10, False, True)
print("HELD", flush=True)
time.sleep(600)
"""


def test_a_sigkilled_holder_frees_its_slot_within_the_lease_ttl(stack):
    ensure_limit(stack, "exclusive", 1)
    holder_run, waiter_run = start_root_run(stack, "holder"), start_root_run(stack, "waiter")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, stack.api_url,
                               holder_run.credential, holder_run.id, "exclusive"],
                              stdout=subprocess.PIPE, text=True)
    waiter_client = run_client(stack, waiter_run)
    waiter = HttpReporter(waiter_client, waiter_run.id)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        renewed_until = time.monotonic() + 2 * LEASE_TTL_S  # renewal outlives the TTL
        while time.monotonic() < renewed_until:
            with pytest.raises(ConcurrencySlotTimeout):
                waiter.acquire_slots(["exclusive"], 1, 0, False, True)
            time.sleep(0.5)
        with admin(stack) as api:
            holding, = api.read_concurrency_limit("exclusive").holders
        assert holding.flow_run_id == holder_run.id
        pools_page = ui_page(stack, "/ui/work-pools")
        row = next(r for r in pools_page.split("<tr>") if "<td>exclusive</td>" in r)
        assert "<td>1</td><td>1.0</td>" in row and holder_run.id in row

        holder.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        lease = waiter.acquire_slots(["exclusive"], 1, LEASE_TTL_S + 5, False, True)
        freed_after_s = time.monotonic() - killed_at
        print(f"slot of a SIGKILLed holder free again after {freed_after_s:.2f} s "
              f"(lease TTL {LEASE_TTL_S} s)")
        assert freed_after_s <= LEASE_TTL_S + 1.5
        waiter.release_slots(lease)
    finally:
        holder.kill()
        holder.wait()
        waiter.close()
        waiter_client.close()


# PostgreSQL

@pytest.fixture(scope="module")
def postgres_stack(tmp_path_factory):
    if not POSTGRES_URL:
        pytest.skip("FLOWPOOL_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    Database(POSTGRES_URL).drop_schema()
    local = start_stack(tmp_path_factory.mktemp("http-reporter-pg") / "home", POSTGRES_URL)
    yield local
    local.stop()
    Database(POSTGRES_URL).drop_schema()


def test_reports_land_the_same_on_postgresql(postgres_stack):
    state, reporter, run = run_deployed(postgres_stack, thousand_tasks)
    assert state.is_completed() and reporter.report_requests <= 5
    _, _, parent = run_deployed(postgres_stack, parent_of_children, {"values": [1, 2]})
    with admin(postgres_stack) as api:
        assert len(api.list_task_runs(run.id)) == 1000
        assert len(api.list_child_runs(parent.id)) == 3
