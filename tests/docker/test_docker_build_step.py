"""The project file's docker build step makes an image that the deployment's next run uses:
a real `flowpool deploy` builds it on the engine, a real docker worker runs it."""
from __future__ import annotations

import json
import uuid

import pytest

from devstack import LocalStack
from orchestrator.embedded_redis import free_port
from tests.integration.projects import write_files

pytestmark = pytest.mark.integration

PROJECT = {
    "flows.py": '''
        from pathlib import Path
        from orchestrator import flow

        @flow
        def baked():
            return Path("marker.txt").read_text().strip()
        ''',
    "marker.txt": "{marker}\n",
    "Dockerfile": '''
        FROM flowpool:latest
        COPY flows.py marker.txt /baked/
        WORKDIR /baked
        ''',
    "flowpool.yaml": '''
        name: baked
        build:
          - flowpool.steps.build_docker_image:
              id: build-image
              image_name: localhost/{image}
              tag: "{tag}"
              dockerfile: Dockerfile
        push: []
        pull: []
        deployments:
          - name: in-image
            entrypoint: flows.py:baked
            work_pool:
              name: {pool}
              job_variables:
                image: "{{{{ build-image.image }}}}"
                image_pull_policy: never
        ''',
}


@pytest.fixture
def docker_pool_stack(tmp_path, flowpool_image, docker_client):
    pool = f"build-{uuid.uuid4().hex[:8]}"
    stack = LocalStack(tmp_path / "home", extra_env={"FLOWPOOL_EMBEDDED_REDIS_PORT": str(free_port())})
    stack.start_server("--host", "0.0.0.0")
    stack.cli("work-pool", "create", pool, "--type", "docker", check=True)
    stack.start_worker(pool)
    yield stack, pool
    stack.stop()


def test_a_build_step_makes_the_image_the_next_docker_run_uses(docker_pool_stack, tmp_path,
                                                                docker_client):
    stack, pool = docker_pool_stack
    image, marker = f"flowpool-baked-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    files = {name: text.format(marker=marker, image=image, tag="v1", pool=pool)
             for name, text in PROJECT.items()}
    project = write_files(tmp_path / "project", files)
    try:
        stack.cli("deploy", "--all", "--no-prompt", cwd=project, check=True, timeout_s=600)
        deployment = stack.client().read_deployment("baked/in-image")
        assert deployment.job_variables["image"] == f"localhost/{image}:v1"

        result = stack.cli("deployment", "run", "baked/in-image", "--watch", "--timeout", "120",
                           "-o", "json", timeout_s=180)

        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["result"] == marker
    finally:
        for found in docker_client.images.list(name=f"localhost/{image}"):
            docker_client.images.remove(found.id, force=True)
