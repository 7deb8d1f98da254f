"""The spine, end to end: the real CLI as subprocesses, a real server, real Redis, a real
Celery worker and a real subprocess per run."""
from __future__ import annotations

import json

import pytest

from devstack import wait_for

pytestmark = pytest.mark.integration

ECHO_FLOW = '''
import logging
import os
from pydantic import BaseModel
from orchestrator import flow

class Point(BaseModel):
    x: int
    y: int = 0

@flow
def echo(message: str, times: int = 1, point: Point | None = None) -> dict:
    """Echo a message."""
    print(f"printing {message}")
    logging.getLogger("echo").warning("logging %s", message)
    return {"message": message * times, "point": point.model_dump() if point else None,
            "greeting": os.environ.get("GREETING")}
'''

FAILING_FLOW = '''
from orchestrator import flow

@flow
def explode(depth: int = 1):
    raise ValueError(f"boom at depth {depth}")
'''


def deploy(stack, project, entrypoint, pool, name="test", *extra):
    return stack.cli("deploy", entrypoint, "--name", name, "--pool", pool, *extra,
                     cwd=project, check=True)


def run_json(stack, deployment, *args):
    result = stack.cli("deployment", "run", deployment, "--watch", "--timeout", "60",
                       "--output", "json", *args)
    return result, json.loads(result.stdout) if result.stdout.strip() else None


def test_a_deployed_flow_runs_to_completion_with_its_result(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    deploy(stack, project, entrypoint, pool, "test", "--param", "times=2")

    result, run = run_json(stack, "echo/test", "-p", "message=hi",
                           "--params", '{"point": {"x": 3}}')

    assert result.returncode == 0, result.stderr
    assert run["state_type"] == "COMPLETED"
    assert run["result"] == {"message": "hihi", "point": {"x": 3, "y": 0}, "greeting": None}
    assert run["parameters"] == {"times": 2, "message": "hi", "point": {"x": 3}}
    assert run["worker_name"].startswith(pool)
    assert [h["type"] for h in run["history"]] == ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]


def test_print_and_logging_inside_the_flow_reach_the_run_logs(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    deploy(stack, project, entrypoint, pool)
    _, run = run_json(stack, "echo/test", "-p", "message=hello")

    logs = stack.cli("flow-run", "logs", run["id"], check=True).stdout

    assert "printing hello" in logs
    assert "logging hello" in logs and "WARNING" in logs


def test_inspect_shows_history_parameters_worker_and_result(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    deploy(stack, project, entrypoint, pool)
    _, run = run_json(stack, "echo/test", "-p", "message=yo")

    text = stack.cli("flow-run", "inspect", run["id"], check=True).stdout

    assert "Completed (COMPLETED)" in text
    assert '"message": "yo"' in text
    assert run["worker_name"] in text
    for state in ("SCHEDULED", "PENDING", "RUNNING", "COMPLETED"):
        assert state in text


def test_a_failing_flow_ends_failed_with_its_traceback_in_the_logs(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(FAILING_FLOW, "explode")
    deploy(stack, project, entrypoint, pool)

    result, run = run_json(stack, "explode/test", "-p", "depth=7")

    assert result.returncode == 1
    assert run["state_type"] == "FAILED"
    assert run["state_message"] == "ValueError: boom at depth 7"
    logs = stack.cli("flow-run", "logs", run["id"], check=True).stdout
    assert "Traceback (most recent call last)" in logs
    assert 'raise ValueError(f"boom at depth {depth}")' in logs


def test_a_run_whose_process_dies_without_reporting_ends_crashed(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file("from orchestrator import flow\nimport os\n\n"
                                    "@flow\ndef vanish():\n    print('going away')\n"
                                    "    os._exit(3)\n", "vanish")
    deploy(stack, project, entrypoint, pool)

    result, run = run_json(stack, "vanish/test")

    assert result.returncode == 1
    assert run["state_type"] == "CRASHED"
    assert "exited with code 3" in run["state_message"]
    assert "going away" in run["state_message"]


def test_a_result_that_is_not_json_is_stored_as_its_repr(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file("from orchestrator import flow\n\n"
                                    "@flow\ndef make_set():\n    return {1, 2}\n", "make_set")
    deploy(stack, project, entrypoint, pool)

    _, run = run_json(stack, "make-set/test")

    assert run["result"] == "{1, 2}" and run["result_is_repr"] is True


def test_job_variables_reach_the_flow_process(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    deploy(stack, project, entrypoint, pool, "test", "--job-variable", 'env={"GREETING": "hey"}')

    _, run = run_json(stack, "echo/test", "-p", "message=x")

    assert run["result"]["greeting"] == "hey"


def test_invalid_parameters_are_refused_and_no_run_is_created(stack, process_pool, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    deploy(stack, project, entrypoint, pool, "strict")
    before = len(stack.client().list_flow_runs(limit=1000))

    wrong_type = stack.cli("deployment", "run", "echo/strict", "-p", "message=hi", "-p", "times=many")
    missing = stack.cli("deployment", "run", "echo/strict")
    unknown = stack.cli("deployment", "run", "echo/strict", "-p", "message=hi", "-p", "colour=red")
    nested = stack.cli("deployment", "run", "echo/strict", "-p", "message=hi",
                       "--params", '{"point": {"x": "three"}}')

    assert wrong_type.returncode != 0 and "times" in wrong_type.stderr
    assert "is not of type 'integer'" in wrong_type.stderr
    assert missing.returncode != 0 and "message: required parameter is missing" in missing.stderr
    assert unknown.returncode != 0 and "colour: unknown parameter" in unknown.stderr
    assert nested.returncode != 0 and "point.x: 'three' is not of type 'integer'" in nested.stderr
    assert len(stack.client().list_flow_runs(limit=1000)) == before


def test_an_unknown_pool_or_deployment_is_refused_with_a_clear_message(stack, flow_file):
    project, entrypoint = flow_file(ECHO_FLOW, "echo")

    no_pool = stack.cli("deploy", entrypoint, "--name", "x", "--pool", "no-such-pool", cwd=project)
    no_deployment = stack.cli("deployment", "run", "echo/no-such-deployment")
    no_worker_pool = stack.cli("worker", "start", "--pool", "no-such-pool")

    assert no_pool.returncode == 1
    assert "work pool 'no-such-pool' does not exist" in no_pool.stderr
    assert "flowpool work-pool create no-such-pool" in no_pool.stderr
    assert no_deployment.returncode == 1
    assert "deployment echo/no-such-deployment does not exist" in no_deployment.stderr
    assert no_worker_pool.returncode == 1 and "no-such-pool" in no_worker_pool.stderr


def test_a_bad_entrypoint_is_refused_at_deploy(stack, process_pool, flow_file):
    pool = process_pool(workers=0)
    project, _ = flow_file(ECHO_FLOW, "echo")

    missing_file = stack.cli("deploy", "nope.py:echo", "--name", "x", "--pool", pool, cwd=project)
    missing_function = stack.cli("deploy", "flows.py:nope", "--name", "x", "--pool", pool, cwd=project)
    bad_default = stack.cli("deploy", "flows.py:echo", "--name", "x", "--pool", pool,
                            "--param", "times=lots", cwd=project)

    assert missing_file.returncode == 1 and "nope.py does not exist" in missing_file.stderr
    assert missing_function.returncode == 1 and "has no function 'nope'" in missing_function.stderr
    assert bad_default.returncode == 1 and "times" in bad_default.stderr
    assert stack.client().list_deployments(pool) == []


def test_a_worker_refuses_a_pool_of_another_type_or_an_unknown_queue(stack, process_pool):
    pool = process_pool(workers=0)

    wrong_type = stack.cli("worker", "start", "--pool", pool, "--type", "docker")
    wrong_queue = stack.cli("worker", "start", "--pool", pool, "--work-queue", "nope")

    assert wrong_type.returncode == 1
    assert "is of type process, not docker" in wrong_type.stderr
    assert wrong_queue.returncode == 1 and "no work queue nope" in wrong_queue.stderr
