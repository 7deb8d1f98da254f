"""Fixtures of the docker infrastructure tests: a real container engine (Docker, or Podman's
Docker-compatible service: `eval "$(.ci/container-engine.sh)"`), its images, and runs.

Every test here is skipped, with the reason, when no engine answers at DOCKER_HOST.
"""
from __future__ import annotations

import subprocess
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from orchestrator.jobs import (default_base_job_template, render_job_configuration,
                               validate_job_variables)
from orchestrator.models import ClaimedRun
from workers.context import WorkerContext

REPO = Path(__file__).resolve().parents[2]
BUSYBOX_IMAGES = ("localhost/flowpool-ci-busybox:latest", "busybox:latest")
FLOWPOOL_IMAGE = "flowpool:latest"
IMAGE_BUILD_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def busybox_image(docker_client) -> str:
    """A tiny image with a shell: the local CI one, else busybox from a registry."""
    import docker

    for image in BUSYBOX_IMAGES:
        try:
            docker_client.images.get(image)
            return image
        except docker.errors.ImageNotFound:
            continue
    try:
        docker_client.images.pull("busybox", tag="latest")
        return "busybox:latest"
    except docker.errors.APIError as exc:
        pytest.skip(f"no busybox image on the engine and none can be pulled ({exc});"
                    " .ci/container-engine.sh builds one locally")


@pytest.fixture(scope="session")
def flowpool_image(docker_client) -> str:
    """flowpool's own image, (re)built from this checkout when it is missing or stale."""
    result = subprocess.run([str(REPO / ".ci" / "build-image.sh"), FLOWPOOL_IMAGE],
                            capture_output=True, text=True, timeout=IMAGE_BUILD_TIMEOUT_S)
    if result.returncode != 0:
        pytest.fail(f".ci/build-image.sh failed ({result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return FLOWPOOL_IMAGE


@pytest.fixture
def claimed_run():
    """A claimed run of a docker pool, as the API hands it to a worker (no server needed)."""
    def make(run_id: str | None = None, flow_name: str = "echo") -> ClaimedRun:
        now = datetime.now(timezone.utc)
        run_id = run_id or str(uuid.uuid4())
        deployment_id = str(uuid.uuid4())
        return ClaimedRun.model_validate({
            "flow_run": {"id": run_id, "name": f"{flow_name}-{run_id[:8]}", "flow_name": flow_name,
                         "deployment_id": deployment_id, "deployment_name": "test",
                         "work_pool_name": "docker-pool", "work_queue_name": "default",
                         "state_type": "RUNNING", "state_name": "Running", "state_changed": now,
                         "attempt": 1, "scheduled_time": now, "created": now, "updated": now},
            "deployment": {"id": deployment_id, "flow_name": flow_name, "name": "test",
                           "entrypoint": "flows.py:echo", "work_pool_name": "docker-pool",
                           "work_queue_name": "default", "created": now, "updated": now},
            "work_pool": {"id": str(uuid.uuid4()), "name": "docker-pool", "type": "docker",
                          "base_job_template": {}, "created": now, "updated": now},
        })
    return make


@pytest.fixture
def docker_job():
    """`docker_job(**job_variables)`: the default docker base job template, rendered."""
    def render(**job_variables) -> dict:
        template = default_base_job_template("docker")
        validate_job_variables(template, job_variables)
        return render_job_configuration(template, job_variables)
    return render


@pytest.fixture
def worker_context() -> WorkerContext:
    """A worker's context whose API these tests never call (its URL only reaches the env)."""
    return WorkerContext(name="docker-test-worker", pool_name="docker-pool",
                         api_url="http://127.0.0.1:9/api")


@pytest.fixture
def launched(docker_client):
    """`launched(job, claimed, ctx)` launches through workers.docker; removes what it started."""
    from workers import docker as docker_infrastructure

    handles, run_ids = [], []

    def launch(job: dict, claimed: ClaimedRun, ctx: WorkerContext, token: str | None = None):
        run_ids.append(claimed.flow_run.id)
        handle = docker_infrastructure.launch(job, claimed, token or uuid.uuid4().hex, ctx)
        handles.append(handle)
        return handle

    yield launch
    for handle in handles:
        handle.stop(grace_s=0)
        handle.wait()
    for run_id in run_ids:
        for container in docker_client.containers.list(
                all=True, filters={"label": f"flowpool.io/flow-run-id={run_id}"}):
            container.remove(force=True)
