"""The live API against its own OpenAPI document: schemathesis generates valid and invalid
requests for every operation (with the API key, as a real client sends it) and runs all of
its checks on the answers: no server error, every status and body as documented, invalid
input refused, a wrong method answered 405 with Allow, created objects reachable.

One deliberate setting: a 422 is accepted for schema-valid input. It is the documented
answer for what a JSON schema cannot say (a cursor the server did not issue, cron syntax, a
base job template's sections, timestamps outside 1900..2200, NUL characters), and
tests/test_api_inputs.py checks that each such 422 names its field."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devstack import LocalStack
from orchestrator.client import FlowpoolClient
from orchestrator.models import DeploymentCreate, FlowRunCreate, WorkPoolCreate
from orchestrator.models.automations import AutomationCreate
from orchestrator.models.concurrency_limits import ConcurrencyLimitCreate
from orchestrator.models.task_cache import TaskCacheWrite

pytestmark = pytest.mark.integration

API_KEY = "conformance-key"
EXAMPLES_PER_OPERATION = 25  # about half a minute on two cores
SEED = 20_260_101  # the same cases on every run; change it to explore others
POOL, FLOW, DEPLOYMENT = "fuzz-pool", "fuzz-flow", "fuzz-deployment"
LIMIT, CACHE_KEY, AUTOMATION = "fuzz-limit", "fuzz-key", "fuzz-automation"


@pytest.fixture(scope="module")
def keyed_stack(tmp_path_factory):
    # The fuzzer's automations match every event and act on it (runs made, webhooks called):
    # their firing limit keeps that to a few actions each, not a load test.
    stack = LocalStack(tmp_path_factory.mktemp("conformance"),
                       extra_env={"FLOWPOOL_API_KEY": API_KEY,
                                  "FLOWPOOL_AUTOMATION_MAX_FIRINGS_PER_MINUTE": "3"})
    stack.start_redis()
    stack.start_server()
    yield stack
    stack.stop()


def seed_objects(stack: LocalStack) -> dict[str, str]:
    """A pool, a deployment, a run, a concurrency limit and a cached value, so operations on
    existing objects get past their 404."""
    with FlowpoolClient(stack.api_url, api_key=API_KEY) as api:
        api.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        deployment = api.upsert_deployment(DeploymentCreate(
            flow_name=FLOW, name=DEPLOYMENT, entrypoint="flows.py:f", work_pool_name=POOL))
        run = api.create_flow_run(f"{FLOW}/{DEPLOYMENT}", FlowRunCreate())
        api.create_concurrency_limit(ConcurrencyLimitCreate(name=LIMIT, limit=5))
        api.write_task_cache(CACHE_KEY, TaskCacheWrite(value=1))
        api.create_automation(AutomationCreate.model_validate({
            "name": AUTOMATION, "trigger": {"expect": ["fuzz.event"]},
            "actions": [{"type": "pause-deployment", "deployment": f"{FLOW}/{DEPLOYMENT}"}]}))
    return {"deployment_id": deployment.id, "run_id": run.id}


def config(ids: dict[str, str]) -> str:
    """schemathesis.toml: the 422 setting above, and the seeded objects' names and ids as the
    path parameters of the operations on existing objects. Deleting the seeded pool,
    deployment or concurrency limit is left out: every later operation on them would answer
    404."""
    operations = [
        (r"^/api/work_pools/\{name\}", {"name": POOL, "queue": "default"},
         r"^/api/work_pools/\{name\}$"),
        (r"^/api/deployments/name/", {"flow_name": FLOW, "name": DEPLOYMENT},
         r"^/api/deployments/name/\{flow_name\}/\{name\}$"),
        (r"^/api/deployments/\{deployment_id\}$", {"deployment_id": ids["deployment_id"]}),
        (r"^/api/flow_runs/\{run_id\}", {"run_id": ids["run_id"]}),
        (r"^/api/concurrency_limits/\{name\}", {"name": LIMIT},
         r"^/api/concurrency_limits/\{name\}$"),
        (r"^/api/task_cache/\{key\}", {"key": CACHE_KEY}),
        (r"^/api/automations/\{ref\}", {"ref": AUTOMATION}),
        (r"^/api/automations/deployment/", {"deployment_id": ids["deployment_id"]}),
    ]
    lines = ["[checks.positive_data_acceptance]",
             'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]',
             "", "[checks.negative_data_rejection]",  # the defaults, and 413 for a body too large
             'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415",'
             ' "422", "428", "429", "5xx"]']
    for pattern, parameters, *spared in operations:
        lines += ["", "[[operations]]", f"include-path-regex = {json.dumps(pattern)}",
                  *(['exclude-method-regex = "^delete$"',  # both regexes must match to exclude
                     f"exclude-path-regex = {json.dumps(spared[0])}"] if spared else []),
                  "parameters = { " + ", ".join(f'"path.{k}" = {json.dumps(v)}'
                                                for k, v in parameters.items()) + " }"]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(600)  # over 60 operations; the run itself is bounded below
def test_every_operation_answers_as_its_openapi_document_says(keyed_stack, tmp_path):
    (tmp_path / "schemathesis.toml").write_text(config(seed_objects(keyed_stack)))
    report = tmp_path / "report.json"
    origin = keyed_stack.api_url.removesuffix("/api")

    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file",
         str(tmp_path / "schemathesis.toml"), "run", f"{origin}/openapi.json",
         "--checks", "all", "--header", f"Authorization: Bearer {API_KEY}",
         "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", str(SEED), "--workers", "1",
         "--report", "json", "--report-json-path", str(report)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)

    summary = json.loads(report.read_text())
    figures = (f"{summary['operations']['tested']} operations,"
               f" {summary['test_cases']['generated']} cases,"
               f" {len(summary['failures'])} failures, {len(summary['errors'])} errors")
    print(f"schemathesis: {figures}")
    assert result.returncode == 0, f"{figures}\n{result.stdout[-20000:]}\n{result.stderr[-3000:]}"
    operations = summary["operations"]
    assert operations["tested"] == operations["selected"] > 30
    assert operations["total"] == operations["selected"]  # automation creation included
    assert summary["failures"] == [] and summary["errors"] == []
