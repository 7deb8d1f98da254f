"""Secrets are masked wherever a person sees them (API answers, `inspect`, logs, the deploy
plan), kept intact where a run uses them, and flowpool's files are its owner's only."""
from __future__ import annotations

import json
import stat
import textwrap

import httpx
import pytest

from .projects import run_deployment, run_logs, write_files

pytestmark = pytest.mark.integration

MASK = "********"
TOKEN = "tok-live-7f3a9c"
PROJECT = textwrap.dedent('''
    deployments:
      - name: private
        entrypoint: flows.py:clone_me
        work_pool: {name: POOL}
        pull:
          - prefect.deployments.steps.git_clone:
              repository: https://deploy:TOKEN@git.example.com/acme/flows.git
              access_token: TOKEN
''')
FLOWS = '''
import os
from orchestrator import flow

@flow
def clone_me():
    pass

@flow(log_prints=True)
def use_token() -> bool:
    print("calling the service with", os.environ["API_TOKEN"])
    return os.environ["API_TOKEN"] == "THE_TOKEN"

@flow
def leak_and_crash():
    os.write(1, ("raw output " + os.environ["API_TOKEN"] + "\\n").encode())
    os._exit(3)
'''


@pytest.fixture(scope="module")
def pool(stack):
    name = "secrets-pool"
    stack.cli("work-pool", "create", name, "--type", "process", check=True)
    stack.start_worker(name)
    return name


def test_literal_tokens_in_pull_steps_warn_at_deploy_and_are_masked_when_shown(stack, pool, tmp_path):
    write_files(tmp_path, {"flowpool.yaml": PROJECT.replace("POOL", pool).replace("TOKEN", TOKEN),
                           "flows.py": FLOWS.replace("THE_TOKEN", TOKEN)})

    plan = stack.cli("deploy", "--all", "--dry-run", "--output", "json", cwd=tmp_path, check=True)
    deployed = stack.cli("deploy", "--all", "--no-prompt", cwd=tmp_path, check=True)
    inspected = stack.cli("deployment", "inspect", "clone-me/private", "--output", "json",
                          check=True)
    with httpx.Client(base_url=stack.api_url) as http:
        listed = http.get("/deployments").text

    assert "access_token holds a literal secret" in deployed.stderr
    assert "{{ $ENV_VAR }}" in deployed.stderr
    for shown in (plan.stdout, deployed.stdout, deployed.stderr, inspected.stdout, listed):
        assert TOKEN not in shown
    step = json.loads(inspected.stdout)["pull_steps"][0]["prefect.deployments.steps.git_clone"]
    assert step == {"repository": f"https://deploy:{MASK}@git.example.com/acme/flows.git",
                    "access_token": MASK}


def test_a_secret_job_variable_reaches_the_run_but_is_masked_in_inspect_and_logs(stack, pool,
                                                                                  tmp_path):
    write_files(tmp_path, {"flows.py": FLOWS.replace("THE_TOKEN", TOKEN)})
    stack.cli("deploy", "flows.py:use_token", "--name", "svc", "--pool", pool,
              "--job-variable", f'env={json.dumps({"API_TOKEN": TOKEN})}', cwd=tmp_path,
              check=True)
    with httpx.Client(base_url=stack.api_url) as http:  # read, then sent back as shown
        shown = http.get("/deployments/name/use-token/svc").json()
        resent = {key: shown[key] for key in ("flow_name", "name", "entrypoint", "path",
                                              "work_pool_name", "job_variables")}
        assert http.put("/deployments", json=resent).status_code == 200

    run_env = {"API_TOKEN": TOKEN, "RUN_PASSWORD": "pw-run-4242"}
    run = run_deployment(stack, "use-token/svc", "--job-variable", f"env={json.dumps(run_env)}")
    inspected = stack.cli("flow-run", "inspect", run["id"], "--output", "json", check=True).stdout
    logs = run_logs(stack, run["id"])

    assert shown["job_variables"] == {"env": {"API_TOKEN": MASK}}
    assert run["state_type"] == "COMPLETED" and run["result"] is True  # the real value arrived
    assert json.loads(inspected)["job_variables"] == {"env": {"API_TOKEN": MASK, "RUN_PASSWORD": MASK}}
    assert TOKEN not in logs and "pw-run-4242" not in logs
    assert f"calling the service with {MASK}" in logs


def test_output_the_worker_reports_for_a_crashed_run_is_masked(stack, pool, tmp_path):
    write_files(tmp_path, {"flows.py": FLOWS.replace("THE_TOKEN", TOKEN)})
    stack.cli("deploy", "flows.py:leak_and_crash", "--name", "leak", "--pool", pool,
              "--job-variable", f'env={json.dumps({"API_TOKEN": TOKEN})}', cwd=tmp_path,
              check=True)

    run = run_deployment(stack, "leak-and-crash/leak")
    logs = run_logs(stack, run["id"])

    assert run["state_type"] == "CRASHED"
    assert f"raw output {MASK}" in logs and f"raw output {MASK}" in run["state_message"]
    assert TOKEN not in logs + run["state_message"]


def test_flowpool_s_home_and_database_are_private(stack):
    assert stat.S_IMODE(stack.home.stat().st_mode) == 0o700
    assert stat.S_IMODE((stack.home / "flowpool.db").stat().st_mode) == 0o600
