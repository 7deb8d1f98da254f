"""The docker infrastructure: each flow run in its own container, through the Docker Engine API.

Works with Docker and with Podman's Docker-compatible service (wherever DOCKER_HOST points).
The container runs detached and is watched with bounded calls only: Podman 4.3 can keep a
followed log stream open after its container exited, so nothing here waits for a stream to
end by itself. The engine inside the container reports the run's final state over HTTP; the
exit code and the last lines of output are what the worker reports when it could not.
"""
from __future__ import annotations

import collections
import logging
import math
import re
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from orchestrator.errors import FlowpoolError
from orchestrator.models import ClaimedRun

from .context import WorkerContext
from .infrastructure import (OUTPUT_TAIL_LINES, echo_output, engine_command, engine_environment,
                             run_labels)

log = logging.getLogger("flowpool.worker.docker")

ENGINE_TIMEOUT_S = 60.0  # any single call to the engine, pulls included (per read)
WAIT_SLICE_S = 5.0  # wait() asks again this often, so a dropped connection cannot block it
FOLLOW_DRAIN_S = 1.0  # after exit, how long the output follower may take to get the last lines
CONTAINER_GONE_EXIT_CODE = -1  # no exit code to report: the tail says why
SIGKILL_EXIT_CODE = 137
PULL_POLICIES = ("always", "if-not-present", "never")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


# -- launch --------------------------------------------------------------------------------
def launch(job: dict, claimed: ClaimedRun, token: str, ctx: WorkerContext) -> "DockerHandle":
    """Start the run's container; raise FlowpoolError (fast) when it cannot start."""
    run_id = claimed.flow_run.id
    client = connect()
    try:
        image = job.get("image") or _refuse("the job variable `image` is empty: name an image")
        ensure_image(client, image, job.get("image_pull_policy") or "if-not-present")
        # a job's own FLOWPOOL_API_URL says where containers reach the API (a compose network)
        api_url = (job.get("env") or {}).get("FLOWPOOL_API_URL") or \
            container_api_url(ctx.api_url, job.get("network_mode"), is_podman(client))
        env = engine_environment(claimed, token, api_url)
        container = start_container(client, container_settings(job, claimed, token, env),
                                    list(job.get("networks") or [])[1:])
    except BaseException:
        client.close()
        raise
    log.info("run %s: container %s started from %s", run_id, container.name, image)
    return DockerHandle(client, container, job)


def connect():
    """A client of the engine DOCKER_HOST names (or the default socket)."""
    import docker

    try:
        return docker.from_env(timeout=ENGINE_TIMEOUT_S)
    except docker.errors.DockerException as exc:
        raise FlowpoolError(f"cannot reach a container engine: {exc}. Start Docker, or point"
                            " DOCKER_HOST at a Docker-compatible engine") from None


def is_podman(client) -> bool:
    components = client.version().get("Components") or []
    return any("podman" in (c.get("Name") or "").lower() for c in components)


def start_container(client, settings: dict[str, Any], extra_networks: list[str]):
    """Create the container, attach its other networks, start it; remove it if any step fails."""
    import docker

    try:
        container = client.containers.create(**settings)
    except docker.errors.APIError as exc:
        raise FlowpoolError(f"the engine refused the container: {_explain(exc)}") from None
    try:
        for network in extra_networks:
            client.networks.get(network).connect(container)
        container.start()
    except docker.errors.APIError as exc:
        _remove_quietly(container)
        raise FlowpoolError(f"container {settings['name']} could not start: {_explain(exc)}") from None
    return container


# -- images --------------------------------------------------------------------------------
def ensure_image(client, image: str, policy: str) -> None:
    """Apply the pull policy; a missing image fails here, before any container exists."""
    if policy not in PULL_POLICIES:
        _refuse(f"image_pull_policy {policy!r} is not one of: {', '.join(PULL_POLICIES)}")
    if policy == "always" or not image_present(client, image):
        if policy == "never":
            _refuse(f"image {image!r} is not on the container engine and image_pull_policy is"
                    f" 'never': build it (`docker build -t {image} .`) or allow pulling with"
                    " image_pull_policy 'if-not-present'")
        pull_image(client, image)


def image_present(client, image: str) -> bool:
    import docker

    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False


def pull_image(client, image: str) -> None:
    """Pull, turning the errors the engine reports inside the progress stream into one raise."""
    import docker
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(image)
    log.info("pulling image %s", image)
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if event.get("error"):
                _refuse(_missing_image_message(image, event["error"]))
    except docker.errors.APIError as exc:
        _refuse(_missing_image_message(image, _explain(exc)))
    if not image_present(client, image):
        _refuse(_missing_image_message(image, "the engine reported no error, but has no such image"))


def _missing_image_message(image: str, reason: str) -> str:
    return (f"image {image!r} could not be pulled: {reason}. Build it (`docker build -t {image} .`),"
            " push it to a registry the engine can reach, or fix the job variable `image`")


# -- the container's settings (pure) -------------------------------------------------------
def container_settings(job: dict, claimed: ClaimedRun, token: str,
                       flowpool_vars: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments of `containers.create` for this run's rendered job."""
    run = claimed.flow_run
    network_mode, networks = job.get("network_mode"), list(job.get("networks") or [])
    if network_mode and networks:
        _refuse("set the job variable `networks` or `network_mode`, not both")
    settings = dict(
        image=job["image"], command=engine_command(job.get("command"), run.id),
        name=container_name(run.name, token), detach=True,
        environment={**(job.get("env") or {}), **flowpool_vars},
        labels=container_labels(job.get("labels"), claimed),
        volumes=list(job.get("volumes") or []), working_dir=job.get("working_dir"),
        mem_limit=job.get("mem_limit"), nano_cpus=_nano_cpus(job.get("cpus")),
        network_mode=network_mode, network=networks[0] if networks else None,
        # an init process as PID 1 passes the SIGTERM of a cancel on to the engine, which as
        # PID 1 itself would ignore it and only die at the SIGKILL after the grace period
        init=True,
    )
    return {key: value for key, value in settings.items() if value not in (None, [], "")}


def container_name(run_name: str, token: str) -> str:
    """Unique per attempt (the dispatch token), readable in `docker ps`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"flowpool-{run_name}-{token[:8]}")[:128]


def container_labels(job_labels: dict | None, claimed: ClaimedRun) -> dict[str, str]:
    """The job's labels, then flowpool's own, which a job cannot override."""
    return {**(job_labels or {}), **run_labels(claimed)}


def container_api_url(api_url: str, network_mode: str | None, podman: bool) -> str:
    """The API as seen from inside the container.

    On its own network a container's loopback is not the host's: a loopback API URL is
    pointed at the host through the alias the engine provides (Podman always defines
    host.containers.internal; Docker Desktop defines host.docker.internal). The server must
    then listen on an address the containers can reach (`flowpool server start --host 0.0.0.0`),
    or the pool must use network_mode "host".
    """
    parts = urlsplit(api_url)
    if network_mode == "host" or parts.hostname not in LOOPBACK_HOSTS:
        return api_url
    alias = "host.containers.internal" if podman else "host.docker.internal"
    netloc = f"{alias}:{parts.port}" if parts.port else alias
    return urlunsplit(parts._replace(netloc=netloc))


def _nano_cpus(cpus: float | None) -> int | None:
    return int(cpus * 1_000_000_000) if cpus else None


# -- watching a started container ----------------------------------------------------------
class DockerHandle:
    """A started container: poll or wait for its exit code, read its last lines, stop it.

    One thread waits for the exit (in bounded slices) and then reads the last lines and
    removes the container if asked, so `poll`, `wait` and `stop` only wait on an event.
    """

    def __init__(self, client, container, job: dict):
        self.client, self.container = client, container
        self.auto_remove = bool(job.get("auto_remove"))
        self.mem_limit = job.get("mem_limit")
        self._stopped_by_worker = False
        self._gone = False
        self._exit_code: int | None = None
        self._tail: list[str] = []
        self._ended = threading.Event()
        self._output = _follow_output(container, echo=bool(job.get("stream_output", True)))
        threading.Thread(target=self._watch, name="flowpool-docker-wait", daemon=True).start()

    def poll(self, timeout_s: float) -> int | None:
        """The exit code if the container ended within `timeout_s`, else None."""
        return self._exit_code if self._ended.wait(timeout_s) else None

    def wait(self) -> int:
        """Block until the container ended; its exit code (-1 if it vanished)."""
        self._ended.wait()
        return self._exit_code

    def output_tail(self) -> list[str]:
        return list(self._tail) if self._ended.is_set() else self._last_lines()

    def stop(self, grace_s: float) -> int:
        """SIGTERM, SIGKILL after `grace_s` (the engine's own stop); the exit code."""
        import docker
        import requests

        if not self._ended.is_set():
            self._stopped_by_worker = True
            try:
                self.container.stop(timeout=max(0, math.ceil(grace_s)))  # the API takes seconds
            except docker.errors.NotFound:
                pass
            except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
                log.warning("container %s: stop failed (%s); killing it", self.container.name, exc)
                self._kill()
        return self.wait()

    def _watch(self) -> None:
        try:
            self._exit_code = self._wait_for_exit()
            if self._output:
                self._output.close(drain_s=FOLLOW_DRAIN_S)
            self._tail = self._last_lines() + self._exit_notes(self._exit_code)
            if self.auto_remove:
                # removed here rather than by the engine's AutoRemove, which races the exit
                # code and the logs read just above
                _remove_quietly(self.container)
        except Exception as exc:  # noqa: BLE001 - wait() must never be left blocked
            log.exception("container %s: watching it failed", self.container.name)
            self._tail.append(f"[flowpool] watching container {self.container.name} failed: {exc}")
        finally:
            if self._exit_code is None:
                self._exit_code = CONTAINER_GONE_EXIT_CODE
            self._ended.set()

    def _wait_for_exit(self) -> int:
        import docker
        import requests

        while True:
            try:
                return self.container.wait(timeout=WAIT_SLICE_S)["StatusCode"]
            except docker.errors.NotFound:
                self._gone = True
                return CONTAINER_GONE_EXIT_CODE
            except (requests.exceptions.RequestException, docker.errors.APIError):
                # the slice ran out, a call was dropped, or the engine had a hiccup
                code = self._exit_code_if_exited()
                if code is not None:
                    return code

    def _exit_code_if_exited(self) -> int | None:
        import docker
        import requests

        try:
            self.container.reload()
        except docker.errors.NotFound:
            self._gone = True
            return CONTAINER_GONE_EXIT_CODE
        except (requests.exceptions.RequestException, docker.errors.APIError) as exc:
            log.warning("container %s: the engine does not answer (%s); still waiting",
                        self.container.name, exc)
            return None
        if self.container.status in ("exited", "dead"):
            return self.container.attrs["State"]["ExitCode"]
        return None

    def _last_lines(self) -> list[str]:
        followed = self._output.last_lines() if self._output else []
        return followed or self._read_tail()

    def _read_tail(self) -> list[str]:
        import docker
        import requests

        try:
            raw = self.container.logs(stdout=True, stderr=True, tail=OUTPUT_TAIL_LINES)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return []
        return raw.decode(errors="replace").splitlines()

    def _exit_notes(self, code: int) -> list[str]:
        """Why the container ended, when its own output cannot say it."""
        name = self.container.name
        if self._gone:
            return [f"[flowpool] container {name} was removed before it exited"]
        if code == SIGKILL_EXIT_CODE and not self._stopped_by_worker:
            if self._oom_killed():
                return [f"[flowpool] container {name} was OOMKilled: it exceeded its memory"
                        f" limit ({self.mem_limit})"]
            # Podman 4.3 never sets OOMKilled: an OOM kill looks like any other SIGKILL there
            limit = f" or for exceeding its memory limit ({self.mem_limit})" if self.mem_limit else ""
            return [f"[flowpool] container {name} was killed (SIGKILL, exit code 137):"
                    f" from outside the worker{limit}"]
        if code != 0 and self._stopped_by_worker:
            return [f"[flowpool] container {name} was stopped by the worker (exit code {code})"]
        return []

    def _oom_killed(self) -> bool:
        import docker
        import requests

        try:
            self.container.reload()
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return False
        return bool(self.container.attrs.get("State", {}).get("OOMKilled"))

    def _kill(self) -> None:
        import docker
        import requests

        try:
            self.container.kill()
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            log.error("container %s: kill failed: %s", self.container.name, exc)


class OutputFollower:
    """Follow a container's output: keep its last lines, and echo them if asked.

    The tail comes from here rather than from logs(tail=N), which Podman 4.3 answers wrongly
    when a line was written in pieces. It follows on a client of its own without a read
    timeout (a run may be silent for long), and is closed by the worker once the container
    exited: the stream is never trusted to end by itself.
    """

    def __init__(self, container_id: str, echo: bool):
        self.container_id, self.echo = container_id, echo
        self._lines: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL_LINES)
        self._lines_lock = threading.Lock()
        self._client = None
        self._stream = None
        self._thread = threading.Thread(target=self._follow, name="flowpool-docker-output",
                                        daemon=True)

    def start(self) -> "OutputFollower":
        import docker

        self._client = docker.from_env(timeout=None)
        self._stream = self._client.api.logs(self.container_id, stream=True, follow=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        partial = b""
        try:
            for chunk in self._stream:
                *complete, partial = (partial + chunk).split(b"\n")
                for line in complete:
                    self._keep(line)
        except Exception:  # noqa: BLE001 - closed under our feet: the normal end
            pass
        if partial:
            self._keep(partial)

    def last_lines(self) -> list[str]:
        with self._lines_lock:
            return list(self._lines)

    def _keep(self, raw: bytes) -> None:
        line = raw.decode(errors="replace")
        with self._lines_lock:
            self._lines.append(line)
        if self.echo:
            echo_output(f"container {self.container_id[:12]}", line)

    def close(self, drain_s: float) -> None:
        self._thread.join(timeout=drain_s)
        self._stream.close()
        self._thread.join(timeout=drain_s)
        self._client.close()


def _follow_output(container, echo: bool) -> OutputFollower | None:
    """Without a follower the tail is read from the engine at the end (see OutputFollower)."""
    try:
        return OutputFollower(container.id, echo).start()
    except Exception as exc:  # noqa: BLE001
        log.warning("container %s: cannot follow its output: %s", container.name, exc)
        return None


# -- small helpers -------------------------------------------------------------------------
def _refuse(message: str):
    raise FlowpoolError(message)


def _explain(exc) -> str:
    return getattr(exc, "explanation", None) or str(exc)


def _remove_quietly(container) -> None:
    import docker
    import requests

    try:
        container.remove(force=True)
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        log.warning("container %s: could not remove it: %s", container.name, exc)
