"""Fixtures of the compose stack test: a container engine at DOCKER_HOST (Docker, or Podman's
Docker-compatible service: `eval "$(.ci/container-engine.sh)"`), the Docker Compose CLI, and
the stack's images built locally.

The test is skipped, with the reason, when no engine answers or no compose CLI is installed.
"""
from __future__ import annotations

import subprocess

import pytest

from composestack import FLOWPOOL_IMAGE, REPO, compose_command, is_podman

IMAGE_BUILD_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def compose_engine(docker_client):
    """The engine at DOCKER_HOST, once the compose CLI and the stack's images are there."""
    if compose_command() is None:
        pytest.skip("no Docker Compose CLI (`docker compose` or `docker-compose`):"
                    " .ci/container-engine.sh installs docker-compose")
    _build(".ci/build-image.sh", FLOWPOOL_IMAGE)
    if is_podman(docker_client):  # no registry images: Redis and PostgreSQL from Debian's packages
        _build(".ci/build-service-images.sh")
    return docker_client


def _build(script: str, *args: str) -> None:
    result = subprocess.run([str(REPO / script), *args], capture_output=True, text=True,
                            timeout=IMAGE_BUILD_TIMEOUT_S)
    if result.returncode != 0:
        pytest.fail(f"{script} failed ({result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
