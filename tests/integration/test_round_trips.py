"""What one short process run costs the API, counted by the server itself (/metrics): the
engine sends its last log lines (its output and its run logger's) with its final state in
one request, and the worker frees
the slot without reading the run back. Both start paths, with a real worker each."""
from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack import LocalStack, wait_for
from orchestrator.models import FlowRunCreate
from orchestrator.states import StateType

pytestmark = pytest.mark.integration

FLOWS = '''
from orchestrator import flow, get_run_logger


@flow
def short(n: int = 0):
    print("printed by the flow")
    get_run_logger().info("logged by the flow")
    return n
'''
STARTS = ("fork", "spawn")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("round-trips")
    stack = LocalStack(home / "home", extra_env={"FLOWPOOL_DISPATCH_INTERVAL_S": "0.5"})
    stack.start_redis()
    stack.start_server()
    project = home / "project"
    project.mkdir()
    (project / "flows.py").write_text(FLOWS)
    for start in STARTS:
        stack.cli("work-pool", "create", start, "--type", "process", check=True)
        stack.cli("deploy", "flows.py:short", "--name", start, "--pool", start, cwd=project,
                  check=True)
        stack.start_worker(start, "--limit", "1", env={"FLOWPOOL_PROCESS_START": start})
    yield stack
    stack.stop()


def requests_by_route(stack: LocalStack) -> dict[tuple[str, str], float]:
    text = httpx.get(stack.api_url.removesuffix("/api") + "/metrics", timeout=10).text
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "flowpool_http_requests_total":  # summed over the answers' statuses
                key = (s.labels["method"], s.labels["route"])
                counts[key] = counts.get(key, 0) + s.value
    return counts


def worker_done(stack: LocalStack, start: str, run_id: str) -> bool:
    worker = next(w for w in stack.workers if f"worker-{start}-" in str(w.log_path))
    return f"run {run_id}: infrastructure exited" in worker.log_path.read_text(errors="replace")


@pytest.mark.parametrize("start", STARTS)
def test_a_short_run_reports_its_logs_with_its_state_and_is_not_read_back(stack, start):
    api = stack.client(retry_for_s=10)
    warm_up = api.create_flow_run(f"short/{start}", FlowRunCreate()).id
    wait_for(lambda: worker_done(stack, start, warm_up), 60, "the warm-up run to end")
    before = requests_by_route(stack)

    run_id = api.create_flow_run(f"short/{start}", FlowRunCreate(parameters={"n": 7})).id
    wait_for(lambda: worker_done(stack, start, run_id), 60, "the worker to be done with the run")

    after = requests_by_route(stack)
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in after}
    run = api.read_flow_run(run_id)
    assert run.state_type is StateType.COMPLETED and run.result == 7
    lines = api.read_logs(run_id)
    messages = [line.message for line in lines]
    assert messages.index("printed by the flow") < messages.index("logged by the flow")
    assert lines[messages.index("logged by the flow")].source == "flow"  # its run logger's
    assert delta.get(("POST", "/flow_runs/{run_id}/logs"), 0) == 0
    assert delta.get(("POST", "/flow_runs/{run_id}/reports"), 0) == 0  # no task, no child
    assert delta.get(("POST", "/flow_runs/{run_id}/state"), 0) == 1
    assert delta.get(("GET", "/flow_runs/{run_id}"), 0) == 0  # the worker read nothing back
