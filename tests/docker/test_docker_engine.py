"""The flowpool engine inside the flowpool image, launched by the docker infrastructure, talks
to a real flowpool server: it fetches its run, runs the flow, ships its logs and reports the
final state. Only what that needs runs: the server (API + scheduler) and Redis. The test does
a worker's part by hand (announce itself, claim, render the job, launch, wait), without
Celery; the full path through `flowpool worker start` is test_docker_e2e.py."""
from __future__ import annotations

import json
import uuid

import pytest
import redis

from devstack import wait_for
from orchestrator.jobs import render_job_configuration
from orchestrator.leases import WorkerBeat, record_worker_beat
from workers import docker as docker_infrastructure
from workers.context import WorkerContext

pytestmark = pytest.mark.integration

GREETING_FLOW = '''
import os
from orchestrator import flow

@flow
def greet(name: str) -> dict:
    print(f"hello {name} from the container")
    return {"greeting": os.environ["GREETING"] + " " + name,
            "cwd": os.getcwd(), "run_id": os.environ["FLOWPOOL_RUN_ID"]}
'''


@pytest.fixture
def docker_pool(stack, unique_name):
    name = unique_name("docker-pool")
    stack.cli("work-pool", "create", name, "--type", "docker", check=True)
    return name


def claim_as_a_worker(stack, pool: str, run_id: str, worker_name: str):
    """Announce a worker for the pool (so the scheduler dispatches), then claim the run."""
    broker = redis.Redis.from_url(stack.redis_url)
    record_worker_beat(broker, WorkerBeat(name=worker_name, pool=pool, limit=1))
    api = stack.client()
    pending = wait_for(lambda: _pending(api, run_id), 20, "the scheduler to dispatch the run")
    claimed = api.claim_flow_run(run_id, pending.dispatch_token, worker_name)
    assert claimed is not None
    return claimed, pending.dispatch_token


def launch_claimed(stack, claimed, token, launched_containers):
    job = render_job_configuration(claimed.work_pool.base_job_template,
                                   claimed.deployment.job_variables, claimed.flow_run.job_variables)
    ctx = WorkerContext(name="docker-engine-test", pool_name=claimed.work_pool.name,
                        api_url=stack.api_url)
    handle = docker_infrastructure.launch(job, claimed, token, ctx)
    launched_containers.append(handle)
    return handle


@pytest.fixture
def launched_containers():
    handles = []
    yield handles
    for handle in handles:
        handle.stop(grace_s=0)
        handle.container.remove(force=True)


def _pending(api, run_id):
    run = api.read_flow_run(run_id)
    return run if run.state_type.value == "PENDING" and run.dispatch_token else None


def test_the_engine_in_the_container_runs_the_flow_and_reports_its_result(
        stack, docker_pool, flow_file, flowpool_image, launched_containers):
    project, entrypoint = flow_file(GREETING_FLOW, "greet")
    # the server listens on the host's loopback: the container shares the host's network
    job_variables = {"image": flowpool_image, "network_mode": "host", "working_dir": "/flows",
                     "volumes": [f"{project}:/flows:ro"], "env": {"GREETING": "hi"}}
    stack.cli("deploy", entrypoint, "--name", "in-docker", "--pool", docker_pool,
              *[f"--job-variable={k}={json.dumps(v)}" for k, v in job_variables.items()],
              cwd=project, check=True)
    api = stack.client()
    run = api.create_flow_run_by_name("greet/in-docker", {"name": "docker"})
    claimed, token = claim_as_a_worker(stack, docker_pool, run.id, f"w-{uuid.uuid4().hex[:6]}")

    handle = launch_claimed(stack, claimed, token, launched_containers)

    assert handle.wait() == 0, handle.output_tail()
    final = api.read_flow_run(run.id)
    assert final.state_type.value == "COMPLETED", handle.output_tail()
    assert final.result == {"greeting": "hi docker", "cwd": "/flows", "run_id": run.id}
    messages = [entry.message for entry in api.read_logs(run.id)]
    assert "hello docker from the container" in messages


def test_a_container_that_exits_without_reporting_leaves_the_run_to_the_worker(
        stack, docker_pool, flow_file, flowpool_image, launched_containers):
    project, entrypoint = flow_file(GREETING_FLOW, "greet")
    stack.cli("deploy", entrypoint, "--name", "dies", "--pool", docker_pool,
              f"--job-variable=image={flowpool_image}", cwd=project, check=True)
    api = stack.client()
    die = "print('about to die', flush=True); raise SystemExit(3)"
    run = api.create_flow_run(
        "greet/dies", _run_request({"name": "x"}, {"command": ["python", "-c", die]}))
    claimed, token = claim_as_a_worker(stack, docker_pool, run.id, f"w-{uuid.uuid4().hex[:6]}")

    handle = launch_claimed(stack, claimed, token, launched_containers)

    assert handle.wait() == 3
    assert handle.output_tail() == ["about to die"]
    # nothing reported a final state: the worker reports CRASHED with the code and these lines
    assert api.read_flow_run(run.id).state_type.value == "RUNNING"


def _run_request(parameters: dict, job_variables: dict):
    from orchestrator.models import FlowRunCreate

    return FlowRunCreate(parameters=parameters, job_variables=job_variables)
