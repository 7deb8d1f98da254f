"""What a new user ran into, through the real CLI against a real server, Redis and worker:
`-p` in deploy, names refused with their value, entrypoints without a function, functions
without @flow, deleting deployments and pools with runs in progress, `flow ls`, `sys.exit()`
in a flow, the run's output in the worker's log, `flow-run ls`, time zones in `deployment
inspect`, and waiting reasons under `--watch`."""
from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from devstack import flowpool_command, wait_for

pytestmark = pytest.mark.integration

ECHO_FLOW = '''
from orchestrator import flow

@flow
def echo(message: str = "hi", times: int = 1) -> str:
    return message * times
'''

PLAIN_FUNCTION = '''
def hello(name: str = "world") -> str:
    return f"hello {name}"
'''

HOLD_FLOW = '''
import os
import time
from orchestrator import flow

@flow
def hold(path: str) -> None:
    while not os.path.exists(path):  # runs until the test says, or until it is cancelled
        time.sleep(0.05)
'''

EXIT_FLOW = '''
import sys
from orchestrator import flow

@flow
def leave(code: int) -> None:
    print(f"leaving with code {code}")
    sys.exit(code)
'''


def make_pool(stack, unique_name) -> str:
    pool = unique_name("pool")
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)
    return pool


def deploy(stack, project, entrypoint, pool, name, *extra):
    return stack.cli("deploy", entrypoint, "--name", name, "--pool", pool, *extra, cwd=project)


def read_run(stack, run_id):
    with stack.client() as api:
        return api.read_flow_run(run_id)


def test_p_gives_a_default_parameter_in_deploy_as_in_deployment_run(stack, unique_name,
                                                                     flow_file):
    pool = make_pool(stack, unique_name)
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    name = unique_name("p")

    result = deploy(stack, project, entrypoint, pool, name, "-p", "times=2", "-p", "message=ab",
                    "--output", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["parameters"] == {"times": 2, "message": "ab"}
    as_pool = stack.cli("deploy", entrypoint, "--name", name, "-p", pool, cwd=project)
    assert as_pool.returncode == 1 and f"--pool {pool}" in as_pool.stderr


def test_a_refused_name_is_shown_with_the_error(stack, unique_name, flow_file):
    pool = make_pool(stack, unique_name)
    project, entrypoint = flow_file(ECHO_FLOW, "echo")

    bad_deployment = deploy(stack, project, entrypoint, pool, "my deployment/daily")
    bad_pool = stack.cli("work-pool", "create", "my pool!", "--type", "process")
    over_http = httpx.post(f"{stack.api_url}/work_pools",
                           json={"name": "my pool?", "type": "process"})

    assert bad_deployment.returncode == 1
    assert "'my deployment/daily' is not a valid name" in bad_deployment.stderr
    assert bad_pool.returncode == 1 and "'my pool!'" in bad_pool.stderr
    assert over_http.status_code == 422
    assert "'my pool?'" in over_http.json()["errors"][0]["message"]


def test_an_entrypoint_without_its_function_is_asked_for_as_path_and_function(
        stack, unique_name, flow_file):
    pool = make_pool(stack, unique_name)
    project, _ = flow_file(ECHO_FLOW, "echo")
    name = unique_name("nofn")

    result = deploy(stack, project, "flows.py", pool, name)

    assert result.returncode == 1
    assert "flows.py:function" in result.stderr and "Traceback" not in result.stderr
    assert stack.cli("deployment", "inspect", f"echo/{name}").returncode == 1


def test_deploying_a_function_without_flow_warns_and_deploys(stack, unique_name, flow_file):
    pool = make_pool(stack, unique_name)
    project, entrypoint = flow_file(PLAIN_FUNCTION, "hello", "plain.py")
    decorated_project, decorated = flow_file(ECHO_FLOW, "echo")

    plain = deploy(stack, project, entrypoint, pool, unique_name("plain"))
    flow = deploy(stack, decorated_project, decorated, pool, unique_name("flow"))

    assert plain.returncode == 0, plain.stderr
    assert "not decorated with @flow" in plain.stderr
    assert "@flow" not in flow.stderr


def test_deleting_a_deployment_or_its_pool_refuses_while_a_run_is_in_progress(
        stack, process_pool, unique_name, flow_file, tmp_path):
    pool = process_pool()
    project, entrypoint = flow_file(HOLD_FLOW, "hold")
    name = unique_name("held")
    assert deploy(stack, project, entrypoint, pool, name).returncode == 0
    full_name = f"hold/{name}"
    run = json.loads(stack.cli("deployment", "run", full_name, "-p",
                               f"path={tmp_path / 'never'}", "--output", "json",
                               check=True).stdout)
    wait_for(lambda: read_run(stack, run["id"]).state_type.value == "RUNNING", 60,
             "the held run to be RUNNING")

    refused = stack.cli("deployment", "delete", full_name)
    pool_refused = stack.cli("work-pool", "delete", pool)
    listed = stack.cli("flow", "ls", check=True).stdout

    assert refused.returncode == 1 and run["id"] in refused.stderr
    assert "--force" in refused.stderr
    assert pool_refused.returncode == 1 and full_name in pool_refused.stderr
    hold_row = next(line for line in listed.splitlines() if line.startswith("hold "))
    assert name in hold_row and run["name"] in hold_row and "Running" in hold_row

    forced = stack.cli("deployment", "delete", full_name, "--force")

    assert forced.returncode == 0, forced.stderr
    assert f"Cancelled 1 run(s) in progress: {run['id']}" in forced.stdout
    wait_for(lambda: read_run(stack, run["id"]).state_type.value == "CANCELLED", 60,
             "the held run to be cancelled by its worker")
    assert stack.cli("deployment", "inspect", full_name).returncode == 1
    pool_deleted = stack.cli("work-pool", "delete", pool)
    assert pool_deleted.returncode == 0, pool_deleted.stderr
    assert stack.cli("work-pool", "inspect", pool).returncode == 1


def test_sys_exit_ends_a_run_by_its_code_and_output_is_logged_at_info(stack, process_pool,
                                                                      unique_name, flow_file):
    pool = process_pool()
    project, entrypoint = flow_file(EXIT_FLOW, "leave")
    name = unique_name("exit")
    assert deploy(stack, project, entrypoint, pool, name).returncode == 0

    ok = stack.cli("deployment", "run", f"leave/{name}", "-p", "code=0", "--watch",
                   "--timeout", "60", "--output", "json")
    failed = stack.cli("deployment", "run", f"leave/{name}", "-p", "code=3", "--watch",
                       "--timeout", "60", "--output", "json")
    listed = stack.cli("flow-run", "ls", "--deployment", f"leave/{name}", check=True).stdout

    assert ok.returncode == 0 and json.loads(ok.stdout)["state_type"] == "COMPLETED"
    assert failed.returncode == 1 and json.loads(failed.stdout)["state_type"] == "FAILED"
    assert "sys.exit(3)" in json.loads(failed.stdout)["state_message"]
    assert listed.count(f"leave/{name}") == 2
    run_name = json.loads(ok.stdout)["name"]
    worker_log = stack.workers[-1].log_path
    line = wait_for(lambda: next((l for l in worker_log.read_text().splitlines()
                                  if "leaving with code 0" in l), None), 30,
                    "the run's output in the worker's log")
    assert "INFO/flowpool.flow_runs" in line and run_name in line
    assert "WARNING/ForkPoolWorker" not in worker_log.read_text()


def test_deployment_inspect_gives_upcoming_times_in_the_schedules_time_zone(
        stack, unique_name, flow_file):
    pool = make_pool(stack, unique_name)
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    name = unique_name("tz")
    assert deploy(stack, project, entrypoint, pool, name, "--cron", "30 9 * * *",
                  "--timezone", "Asia/Kolkata").returncode == 0
    with stack.client() as api:
        wait_for(lambda: api.upcoming_runs(f"echo/{name}", 3), 30, "the scheduled runs")

    shown = stack.cli("deployment", "inspect", f"echo/{name}", check=True).stdout

    upcoming = shown.split("upcoming runs")[1].split("parameter schema")[0]
    assert "09:30:00 Asia/Kolkata" in upcoming  # 04:00 UTC


def test_watch_prints_why_a_run_waits_each_time_the_reason_changes(stack, unique_name,
                                                                   flow_file, tmp_path):
    pool = make_pool(stack, unique_name)
    project, entrypoint = flow_file(ECHO_FLOW, "echo")
    name = unique_name("wait")
    assert deploy(stack, project, entrypoint, pool, name).returncode == 0
    stack.cli("work-pool", "pause", pool, check=True)
    output = tmp_path / "watch.out"
    with open(output, "w") as sink:
        watch = subprocess.Popen([*flowpool_command(), "deployment", "run", f"echo/{name}",
                                  "--watch", "--timeout", "20"], env=stack.env(),
                                 stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "is paused" in output.read_text(), 20, "the paused-pool reason")
        stack.cli("work-pool", "resume", pool, check=True)
        wait_for(lambda: "no worker" in output.read_text().lower(), 20, "the no-worker reason")
    finally:
        watch.kill()
        watch.wait()

    text = output.read_text()
    assert text.index("is paused") < text.lower().index("no worker")
