"""A run's log budget end to end: a real server on SQLite with FLOWPOOL_RUN_LOG_LIMIT of
1 MiB, a real worker, and a flow printing 30 MB. The database grows by about the budget, the
run completes, one marker line counts what was dropped, and the pages give back every stored
line once, in order. The API refuses oversized batches and pages."""
from __future__ import annotations

import json

import httpx
import pytest

from devstack import LocalStack
from orchestrator.engine.logs import LogShipper
from orchestrator.models.logs import MAX_REQUEST_BYTES

pytestmark = pytest.mark.integration

LIMIT = 1024 * 1024
PRINTED_LINES = 3000
CHATTY_FLOW = f'''
from orchestrator import flow

@flow
def chatty():
    filler = "x" * 10_000
    for i in range({PRINTED_LINES}):
        print(f"{{i:05d}} {{filler}}")  # 30 MB in all
    return "done"
'''


@pytest.fixture(scope="module")
def budget_stack(tmp_path_factory):
    """Its own server and Redis (one Redis serves one installation), with a 1 MiB budget."""
    stack = LocalStack(tmp_path_factory.mktemp("budget") / "home",
                       extra_env={"FLOWPOOL_RUN_LOG_LIMIT": str(LIMIT)})
    stack.start_redis()
    stack.start_server()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def chatty_run(budget_stack, tmp_path_factory):
    """The finished run of a flow that printed 30 MB, and how much the database grew."""
    stack = budget_stack
    project = tmp_path_factory.mktemp("chatty")
    (project / "flows.py").write_text(CHATTY_FLOW)
    stack.cli("work-pool", "create", "chatty", "--type", "process", check=True)
    stack.start_worker("chatty")
    stack.cli("deploy", "flows.py:chatty", "--name", "loud", "--pool", "chatty", cwd=project,
              check=True)
    before = database_bytes(stack), rss_bytes(stack.server.pid)
    result = stack.cli("deployment", "run", "chatty/loud", "--watch", "--timeout", "120",
                       "-o", "json")
    run = json.loads(result.stdout)
    growth = database_bytes(stack) - before[0], rss_bytes(stack.server.pid) - before[1]
    print(f"printed {PRINTED_LINES * 10_007} bytes; database grew {growth[0]} bytes, "
          f"server memory {growth[1]} bytes")
    return run, growth


def database_bytes(stack: LocalStack) -> int:
    """The SQLite file with its write-ahead log."""
    files = [stack.home / name for name in ("flowpool.db", "flowpool.db-wal")]
    return sum(f.stat().st_size for f in files if f.exists())


def rss_bytes(pid: int) -> int:
    """The resident memory of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def test_a_run_printing_30_mb_completes_and_stores_about_its_budget(chatty_run):
    run, (database_growth, memory_growth) = chatty_run

    assert run["state_type"] == "COMPLETED" and run["result"] == "done"
    assert LIMIT - 20_000 < run["log_bytes"] <= LIMIT
    assert database_growth < 3 * LIMIT
    assert memory_growth < 20 * 1024 * 1024


def test_one_marker_line_counts_every_dropped_line(budget_stack, chatty_run):
    run, _ = chatty_run
    with budget_stack.client() as api:
        stored = list(api.iter_logs(run["id"]))

    markers = [e for e in stored if e.source == "flowpool"]
    printed = [e for e in stored if e.message.endswith("x" * 10_000)]
    # everything the run wrote: the prints, the engine's "starting" and "completed" lines and
    # the flow's own "Finished in state Completed()"
    written = PRINTED_LINES + 3
    assert len(markers) == 1 and stored[-1] == markers[0]
    assert run["log_lines_dropped"] == written - (len(stored) - 1)
    assert (f"{run['log_lines_dropped']} later lines ({run['log_bytes_dropped']} bytes) were "
            "dropped") in markers[0].message
    assert [int(e.message[:5]) for e in printed] == list(range(len(printed)))


def test_pages_give_back_every_stored_line_once_in_order(budget_stack, chatty_run):
    run, _ = chatty_run
    with budget_stack.client() as api:
        whole = [e.id for e in api.iter_logs(run["id"])]
        paged = [e.id for e in api.iter_logs(run["id"], limit=7)]
    printed = budget_stack.cli("flow-run", "logs", run["id"], check=True).stdout.splitlines()
    followed = budget_stack.cli("flow-run", "logs", run["id"], "--follow",
                                check=True).stdout.splitlines()
    inspected = budget_stack.cli("flow-run", "inspect", run["id"], check=True).stdout

    assert paged == whole == sorted(set(whole))
    assert len(printed) == len(whole) and "log budget reached" in printed[-1]
    assert followed == printed
    assert f"log budget reached, {run['log_lines_dropped']} later lines" in inspected


def test_a_full_page_links_to_the_next(budget_stack, chatty_run):
    run, _ = chatty_run
    url = f"{budget_stack.api_url}/flow_runs/{run['id']}/logs"

    first = httpx.get(url, params={"limit": 5})
    following = httpx.get(first.links["next"]["url"])
    last_id = first.json()[-1]["id"]

    assert first.status_code == 200 and len(first.json()) == 5
    assert following.json()[0]["id"] > last_id
    assert f"after={last_id}" in first.links["next"]["url"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"after": -1}])
def test_out_of_bounds_pages_are_refused(budget_stack, chatty_run, params):
    run, _ = chatty_run
    answer = httpx.get(f"{budget_stack.api_url}/flow_runs/{run['id']}/logs", params=params)

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] in ("limit", "after")


def test_batches_out_of_bounds_are_refused_and_big_ones_before_they_are_read(budget_stack,
                                                                            chatty_run):
    run, _ = chatty_run
    url = f"{budget_stack.api_url}/flow_runs/{run['id']}/logs"
    entry = {"timestamp": "2024-01-01T00:00:00Z", "message": "m"}

    too_big = httpx.post(url, content=b"[" + b" " * MAX_REQUEST_BYTES + b"]",
                         headers={"Content-Type": "application/json"})
    refused = {name: httpx.post(url, **request) for name, request in {
        "too many": {"json": [entry] * 1001},
        "not json": {"content": b"[{", "headers": {"Content-Type": "application/json"}},
        "level": {"json": [{**entry, "level": 10**9}]},
        "source": {"json": [{**entry, "source": "s" * 21}]},
    }.items()}

    assert too_big.status_code == 413
    assert "at most 1048576 bytes" in too_big.json()["errors"][0]["message"]
    assert {name: answer.status_code for name, answer in refused.items()} == dict.fromkeys(
        refused, 422)
    assert refused["level"].json()["errors"][0]["field"] == "0.level"


def test_the_engine_stops_shipping_once_the_budget_is_spent(budget_stack, chatty_run):
    run, _ = chatty_run  # its budget is spent
    with budget_stack.client() as api:
        sent = []
        api._http.event_hooks["request"].append(lambda request: sent.append(len(request.content)))
        shipper = LogShipper(api, run["id"]).start()
        for i in range(3000):
            shipper.add(20, f"{i} " + "y" * 10_000)
        shipper.close()

    assert sum(sent) < 2 * MAX_REQUEST_BYTES, f"{sum(sent)} bytes sent for 30 MB of lines"
    with budget_stack.client() as api:
        assert api.read_flow_run(run["id"]).log_lines_dropped == run["log_lines_dropped"] + 3000
