"""With FLOWPOOL_API_KEY set, the API serves only callers that carry the key; workers and
engines carry it too, so runs still complete."""
from __future__ import annotations

import json
import re
import subprocess

import httpx
import pytest

from devstack import LocalStack, flowpool_command

pytestmark = pytest.mark.integration

KEY_HEADER = {"Authorization": "Bearer s3cret"}
FLOW = "from orchestrator import flow\n\n@flow\ndef hello():\n    return 'hi'\n"


@pytest.fixture
def keyed_stack(tmp_path):
    stack = LocalStack(tmp_path / "home", extra_env={"FLOWPOOL_API_KEY": "s3cret"})
    stack.start_redis()
    stack.start_server()
    yield stack
    stack.stop()


def test_runs_complete_with_the_key_and_callers_without_it_are_refused(keyed_stack, tmp_path):
    stack = keyed_stack
    (tmp_path / "flows.py").write_text(FLOW)
    stack.cli("work-pool", "create", "keyed", "--type", "process", check=True)
    stack.start_worker("keyed")
    stack.cli("deploy", "flows.py:hello", "--name", "k", "--pool", "keyed", cwd=tmp_path, check=True)

    ran = stack.cli("deployment", "run", "hello/k", "--watch", "--output", "json")
    keyless = {k: v for k, v in stack.env().items() if k != "FLOWPOOL_API_KEY"}
    refused = subprocess.run([*flowpool_command(), "work-pool", "ls"], env=keyless,
                             capture_output=True, text=True)
    wrong = subprocess.run([*flowpool_command(), "work-pool", "ls"],
                           env={**keyless, "FLOWPOOL_API_KEY": "guess"}, capture_output=True,
                           text=True)

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"] == "hi"
    for result in (refused, wrong):
        assert result.returncode == 1
        assert "API key is missing or wrong" in result.stderr and "FLOWPOOL_API_KEY" in result.stderr


RESOURCE_NAMES = ("health", "docs", "openapi.json")


def test_every_route_wants_the_key_whatever_its_resources_are_named(keyed_stack):
    """A pool, queue, variable or deployment named `health` (or `docs`) is no way around the
    key: only the exact path /api/health is open."""
    base = f"http://127.0.0.1:{keyed_stack.api_port}"
    with httpx.Client(base_url=base, timeout=10) as http:
        document = http.get("/openapi.json", headers=KEY_HEADER).json()
        operations = [(method.upper(), path) for path, item in document["paths"].items()
                      for method in item]
        answers = {}
        for method, path in operations:
            for name in RESOURCE_NAMES:
                concrete = re.sub(r"\{[^}]+\}", name, path)
                answers[(method, concrete)] = http.request(method, concrete, json={}).status_code
        open_paths = {p: http.get(p).status_code for p in ("/docs", "/openapi.json", "/redoc",
                                                           "/api/health/", "/api/x/health")}
        health = http.get("/api/health")

    assert len(operations) >= 20
    assert {k: v for k, v in answers.items() if v != 401 and k[1] != "/api/health"} == {}
    assert set(open_paths.values()) == {401}, open_paths
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_a_pool_named_health_cannot_be_changed_without_the_key(keyed_stack):
    keyed_stack.cli("work-pool", "create", "health", "--type", "process", check=True)
    base = f"http://127.0.0.1:{keyed_stack.api_port}/api"
    template = {"job_configuration": {"command": "touch /tmp/owned"}, "variables": {}}
    with httpx.Client(base_url=base, timeout=10) as http:
        refused = http.patch("/work_pools/health", json={"base_job_template": template})
        pool = http.get("/work_pools/health", headers=KEY_HEADER).json()

    assert refused.status_code == 401
    assert refused.json()["errors"][0]["field"] == "FLOWPOOL_API_KEY"
    assert "touch" not in json.dumps(pool["base_job_template"])


SPY_FLOW = '''
import os, httpx
from orchestrator import flow
from prefect.blocks.system import Secret

@flow
def spy():
    """Report what a flow run's process holds and what its credential opens."""
    api, key = os.environ["FLOWPOOL_API_URL"], os.environ.get("FLOWPOOL_API_KEY", "")
    headers = {"Authorization": f"Bearer {key}"}
    run_id = os.environ["FLOWPOOL_RUN_ID"]
    return {
        "key_is_run_credential": key.startswith("run.") and "s3cret" not in key,
        "worker_secret": os.environ.get("WORKER_SECRET_TOKEN"),
        "worker_plain": os.environ.get("WORKER_PLAIN_SETTING"),
        "own_run": httpx.get(f"{api}/flow_runs/{run_id}", headers=headers).status_code,
        "pools": httpx.get(f"{api}/work_pools", headers=headers).status_code,
        "runs": httpx.get(f"{api}/flow_runs", headers=headers).status_code,
        "patch_pool": httpx.patch(f"{api}/work_pools/keyed", headers=headers,
                                  json={"paused": True}).status_code,
        "block_loads": Secret.load("spy-secret").get() == "block-value",
        "list_blocks": httpx.get(f"{api}/blocks", headers=headers).status_code,
        "delete_block": httpx.delete(f"{api}/blocks/secret/spy-secret",
                                     headers=headers).status_code,
    }
'''


def test_a_flow_run_gets_a_credential_for_its_own_run_and_none_of_the_worker_s_secrets(
        keyed_stack, tmp_path):
    stack = keyed_stack
    (tmp_path / "flows.py").write_text(SPY_FLOW)
    stack.cli("work-pool", "create", "keyed", "--type", "process", check=True)
    stack.extra_env.update(WORKER_SECRET_TOKEN="hunter2", WORKER_PLAIN_SETTING="plain")
    stack.start_worker("keyed")
    stack.cli("deploy", "flows.py:spy", "--name", "s", "--pool", "keyed", cwd=tmp_path, check=True)
    stack.cli("block", "create", "secret", "spy-secret", "--value", "block-value", check=True)

    ran = stack.cli("deployment", "run", "spy/s", "--watch", "--output", "json")

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads(ran.stdout)["result"] == {
        "key_is_run_credential": True, "worker_secret": None, "worker_plain": "plain",
        "own_run": 200, "pools": 401, "runs": 401, "patch_pool": 401,
        "block_loads": True, "list_blocks": 401, "delete_block": 401}
