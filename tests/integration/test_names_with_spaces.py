"""Flow and deployment names as people write them ("Call API", Prefect's tutorial flow):
deployed with the real CLI, run on a real worker, and addressed from the CLI, the API
(URL-encoded path segments) and the UI; names that would break are refused, naming the
field and the fix, and nothing is registered."""
from __future__ import annotations

import json

import httpx
import pytest

from .projects import run_deployment

pytestmark = pytest.mark.integration

CALL_API = '''
from orchestrator import flow


@flow(name="Call API")
def call_api(url: str = "https://example.com"):
    return len(url)
'''


def test_a_flow_and_deployment_named_with_spaces_deploy_run_and_are_addressable(
        stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(CALL_API, "call_api")

    deployed = stack.cli("deploy", entrypoint, "--name", "my deployment", "--pool", pool,
                         cwd=project)
    run = run_deployment(stack, "Call API/my deployment", "-p", "url=abc")

    assert deployed.returncode == 0, deployed.stderr
    assert "flowpool deployment run 'Call API/my deployment'" in deployed.stdout
    assert run["state_type"] == "COMPLETED"
    assert run["flow_name"] == "Call API" and run["deployment_name"] == "my deployment"
    inspected = stack.cli("deployment", "inspect", "Call API/my deployment", "--output", "json")
    assert json.loads(inspected.stdout)["name"] == "my deployment", inspected.stderr
    base = f"http://127.0.0.1:{stack.api_port}"
    with httpx.Client(base_url=base, timeout=10) as http:
        by_api = http.get("/api/deployments/name/Call%20API/my%20deployment")
        page = http.get("/ui/deployments/Call%20API/my%20deployment")
        listing = http.get("/ui/deployments")
    assert by_api.status_code == 200 and by_api.json()["flow_name"] == "Call API"
    assert page.status_code == 200 and "Call API/my deployment" in page.text
    assert 'href="/ui/deployments/Call%20API/my%20deployment"' in listing.text


@pytest.mark.parametrize("name, shown", [
    ("daily/eu", "'daily/eu' is not a valid name"),
    (" padded", "' padded' is not a valid name"),
    ("tab\there", "'tab\\there' is not a valid name"),
])
def test_names_that_would_break_are_refused_and_nothing_is_registered(
        stack, flow_file, name, shown):
    project, entrypoint = flow_file(CALL_API, "call_api")
    stack.cli("work-pool", "create", "names-pool", "--type", "process")

    refused = stack.cli("deploy", entrypoint, "--name", name, "--pool", "names-pool",
                        cwd=project)

    assert refused.returncode == 1
    assert shown in refused.stderr and "name:" in refused.stderr
    assert "without '/'" in refused.stderr and "Traceback" not in refused.stderr
    with stack.client() as api:
        assert not api.list_deployments(work_pool="names-pool")


def test_the_api_refuses_a_name_with_a_slash_with_422_naming_the_field(stack):
    body = {"flow_name": "Call API", "name": "a/b", "entrypoint": "flows.py:f",
            "work_pool_name": "names-pool"}
    with httpx.Client(base_url=stack.api_url, timeout=10) as http:
        answer = http.put("/deployments", json=body)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "name" and "'a/b' is not a valid name" in error["message"]
