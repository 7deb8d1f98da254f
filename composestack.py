"""The stack of docker-compose.yml, run for real with the Docker Compose CLI on the container
engine at DOCKER_HOST (Docker, or Podman's Docker-compatible service), for the compose test
and bench/compose_scaling.py; not installed.

Each stack is a compose project of its own (its own network, volumes and host ports), with
fresh random secrets, so several can run on one machine and none touches a user's `.env`.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path

from devstack import wait_for
from orchestrator.client import FlowpoolClient

REPO = Path(__file__).resolve().parent
COMPOSE_FILE = REPO / "docker-compose.yml"
# a tag of its own: the docker tests rebuild flowpool:latest, and `up` would then recreate the
# stack's containers from whichever build got the tag last
FLOWPOOL_IMAGE = "flowpool-compose:latest"
# built from Debian's packages by .ci/build-service-images.sh when no registry can be pulled
LOCAL_SERVICE_IMAGES = {"REDIS_IMAGE": "localhost/flowpool-ci-redis:latest",
                        "POSTGRES_IMAGE": "localhost/flowpool-ci-postgres:latest"}
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
UP_TIMEOUT_S = 600
CLI_HTTP_TIMEOUT_S = 120  # seconds a request of the test's clients may take on a loaded machine


def compose_command() -> list[str] | None:
    """The Docker Compose CLI: the `docker compose` plugin, else the `docker-compose` program."""
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


class ComposeStack:
    """One compose project of docker-compose.yml: up, scale, the containers of a service, a
    client of its API replicas, down."""

    def __init__(self, docker_client, name: str, pool_limit: int = 6,
                 extra_env: dict[str, str] | None = None):
        self.docker, self.name = docker_client, name
        self.command = compose_command()
        if self.command is None:
            raise RuntimeError("no Docker Compose CLI: install `docker compose` or"
                               " `docker-compose` (.ci/container-engine.sh does)")
        self.api_key = secrets.token_hex(16)
        self.env = {**os.environ, **self._service_images(),
                    "COMPOSE_PROJECT_NAME": name, "FLOWPOOL_IMAGE": FLOWPOOL_IMAGE,
                    "FLOWPOOL_API_KEY": self.api_key,
                    "REDIS_PASSWORD": secrets.token_hex(16),
                    "POSTGRES_PASSWORD": secrets.token_hex(16),
                    # a host port per API replica, picked by the engine: Podman's Docker
                    # API cannot publish a range such as the default 4300-4301
                    "FLOWPOOL_API_PORTS": "127.0.0.1:",
                    "POOL_LIMIT": str(pool_limit), **(extra_env or {})}
        self._health_driver: HealthcheckDriver | None = None

    def _service_images(self) -> dict[str, str]:
        import docker

        images = {}
        for variable, local in LOCAL_SERVICE_IMAGES.items():
            if variable in os.environ:
                continue
            try:
                self.docker.images.get(local)
                images[variable] = local
            except docker.errors.ImageNotFound:
                pass  # the registry's image, as docker-compose.yml names it
        return images

    # -- the CLI -----------------------------------------------------------------------
    def compose(self, *args: str, timeout_s: float = UP_TIMEOUT_S,
                check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.command, "-f", str(COMPOSE_FILE), *args], env=self.env,
                                cwd=REPO, capture_output=True, text=True, timeout=timeout_s,
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise RuntimeError(f"`{' '.join(self.command)} {' '.join(args)}` failed"
                               f" ({result.returncode}):\n{result.stdout[-3000:]}"
                               f"\n{result.stderr[-5000:]}")
        return result

    def up(self, workers: int) -> float:
        """Everything, with `workers` workers; returns the seconds it took."""
        started = time.monotonic()
        if self._health_driver is None and is_podman(self.docker):
            self._health_driver = HealthcheckDriver(self).start()
        self.compose("up", "-d", "--scale", f"worker={workers}")
        return time.monotonic() - started

    def down(self) -> float:
        started = time.monotonic()
        try:
            self.compose("down", "-v", "--remove-orphans", "--timeout", "10")
        finally:
            if self._health_driver is not None:
                self._health_driver.stop()
                self._health_driver = None
        return time.monotonic() - started

    def run(self, *args: str) -> str:
        """A one-off command in a container of the `setup` service (the CLI, the key, /app)."""
        # a generous HTTP timeout: in CI the stack shares two cores with the rest of the suite,
        # and a deploy's requests can then wait longer than the client's default 30 s
        return self.compose("run", "--rm", "--no-deps", "-T",
                            "-e", f"FLOWPOOL_HTTP_TIMEOUT_S={CLI_HTTP_TIMEOUT_S}",
                            "setup", *args).stdout

    # -- containers --------------------------------------------------------------------
    def containers(self, service: str | None = None, all: bool = False) -> list:
        labels = [f"{PROJECT_LABEL}={self.name}"]
        if service:
            labels.append(f"{SERVICE_LABEL}={service}")
        return self.docker.containers.list(all=all, filters={"label": labels})

    def redis_get(self, key: str) -> str | None:
        redis = self.containers("redis")[0]
        result = redis.exec_run(["redis-cli", "--raw", "GET", key])
        value = result.output.decode().strip()
        return value or None

    # -- the API -----------------------------------------------------------------------
    def api_replicas(self) -> list:
        """The API's containers, in the order of their replica number."""
        return sorted(self.containers("api", all=True),
                      key=lambda c: int(c.labels.get("com.docker.compose.container-number", 0)))

    def api_url(self, replica: int = 0) -> str:
        container = self.api_replicas()[replica]
        binding = container.attrs["NetworkSettings"]["Ports"]["4300/tcp"][0]
        return f"http://127.0.0.1:{binding['HostPort']}/api"

    def client(self, replica: int = 0, retry_for_s: float = 30.0) -> FlowpoolClient:
        return FlowpoolClient(self.api_url(replica), CLI_HTTP_TIMEOUT_S, retry_for_s=retry_for_s,
                              api_key=self.api_key)

    def wait_healthy(self, replica: int, timeout_s: float = 120) -> None:
        with self.client(replica, retry_for_s=0) as client:
            wait_for(lambda: _answers(client), timeout_s,
                     f"the API replica at {client.api_url}", interval_s=0.5)


def _answers(client: FlowpoolClient) -> bool:
    try:
        return client.health()["status"] == "ok"
    except Exception:
        return False


def is_podman(docker_client) -> bool:
    components = docker_client.version().get("Components") or []
    return any(c.get("Name") == "Podman Engine" for c in components)


class HealthcheckDriver:
    """Runs the healthchecks of the project's containers every couple of seconds.

    Podman runs a container's healthcheck from a systemd timer; where there is no systemd (a
    CI container) nothing runs it, the container stays `starting` for ever, and every
    `depends_on: service_healthy` waits in vain. Podman's own API runs a healthcheck on
    request (GET /libpod/containers/ID/healthcheck), which is what this does."""

    INTERVAL_S = 2.0

    def __init__(self, stack: ComposeStack):
        self.stack = stack
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="healthchecks", daemon=True)

    def start(self) -> "HealthcheckDriver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        api = self.stack.docker.api
        libpod = f"{api.base_url}/v{self.stack.docker.version()['Version']}/libpod"
        while not self._stop.wait(self.INTERVAL_S):
            try:
                for container in self.stack.containers():
                    if container.attrs.get("Config", {}).get("Healthcheck"):
                        api.get(f"{libpod}/containers/{container.id}/healthcheck", timeout=30)
            except Exception:  # a container that went away meanwhile: next round
                continue
