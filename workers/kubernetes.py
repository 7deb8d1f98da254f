"""The kubernetes infrastructure: each flow run as a Job, through the official client.

Three parts, top to bottom: rendering the Job manifest from the rendered job configuration
(pure, golden-file tested), reading what a pod's status means for the run (pure), and the
live part: create the Job, watch its pod, echo and keep its logs, delete the Job to stop it.
Retries are flowpool's business, so a Job never retries a pod (backoffLimit 0).
"""
from __future__ import annotations

import copy
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from orchestrator.errors import FlowpoolError
from orchestrator.models import ClaimedRun

from .context import WorkerContext
from .infrastructure import (LABEL_PREFIX, OUTPUT_TAIL_LINES, echo_output, engine_command, engine_environment,
                             run_labels)

log = logging.getLogger("flowpool.worker.kubernetes")

NO_EXIT_CODE = -1  # the container never ran, or its pod vanished: the tail says why
WATCH_SLICE_S = 10  # each watch call ends after this long, so deadlines are checked
API_TIMEOUT_S = 30  # any other single call to the cluster
API_RETRY_S = 2.0  # pause after a failed call to the cluster before the next one
STOP_SETTLE_S = 30.0  # after a stop's grace period, how long the pod may take to go
ECHO_DRAIN_S = 1.0
IMAGE_FAILURES = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                  "CreateContainerConfigError", "CreateContainerError"}


# -- the Job manifest (pure) ---------------------------------------------------------------
def build_job_manifest(job: dict, claimed: ClaimedRun, token: str,
                       flowpool_vars: dict[str, str]) -> dict[str, Any]:
    """The Job to submit for this run: the job configuration's `job_manifest`, completed."""
    manifest = _without_nulls(copy.deepcopy(job.get("job_manifest") or {}))
    if manifest.get("kind") != "Job" or not _containers(manifest):
        raise FlowpoolError("the base job template's job_manifest must be a batch/v1 Job with at"
                            " least one container in spec.template.spec.containers")
    metadata = manifest.setdefault("metadata", {})
    metadata.setdefault("name", job_name(claimed.flow_run.name, token))
    metadata["namespace"] = job.get("namespace") or metadata.get("namespace") or "default"
    labels = job_labels(claimed)
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    pod_metadata = manifest["spec"]["template"].setdefault("metadata", {})
    pod_metadata["labels"] = {**(pod_metadata.get("labels") or {}), **labels}
    _complete_container(_containers(manifest)[0], claimed.flow_run.id, flowpool_vars)
    return manifest


def _complete_container(container: dict, run_id: str, flowpool_vars: dict[str, str]) -> None:
    """The engine command by default, flowpool's variables in the env, no empty resources."""
    container["command"] = engine_command(container.get("command"), run_id)
    container["env"] = _env_list(container.get("env"), flowpool_vars)
    resources = {kind: values for kind, values in (container.get("resources") or {}).items()
                 if values}
    if resources:
        container["resources"] = resources
    else:
        container.pop("resources", None)


def _env_list(env: dict | list | None, flowpool_vars: dict[str, str]) -> list[dict]:
    """Kubernetes' list form; a mapping (the job variable) or a list (a custom template)."""
    entries = [{"name": k, "value": v} for k, v in env.items()] if isinstance(env, dict) \
        else list(env or [])
    entries = [e for e in entries if e.get("name") not in flowpool_vars]
    return entries + [{"name": k, "value": v} for k, v in flowpool_vars.items()]


def job_name(run_name: str, token: str) -> str:
    """Unique per attempt (the dispatch token); a DNS label, as Job names must be."""
    slug = re.sub(r"[^a-z0-9-]+", "-", run_name.lower()).strip("-")[:45].rstrip("-")
    return f"flowpool-{slug}-{token[:8].lower()}" if slug else f"flowpool-{token[:8].lower()}"


def job_labels(claimed: ClaimedRun) -> dict[str, str]:
    """flowpool's labels as label values; the deployment by its name alone, as a label value
    cannot hold the `/` of its full name."""
    labels = {**run_labels(claimed), LABEL_PREFIX + "deployment": claimed.deployment.name}
    return {key: label_value(value) for key, value in labels.items()}


def label_value(text: str) -> str:
    """At most 63 of [A-Za-z0-9-_.], beginning and ending with a letter or digit."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)


def _containers(manifest: dict) -> list[dict]:
    return (((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}) \
        .get("containers") or []


def _without_nulls(value: Any) -> Any:
    """Unset job variables render as null: leave those fields out, as if never written."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


# -- what a pod's status means (pure) ------------------------------------------------------
@dataclass(frozen=True)
class PodOutcome:
    """How the run's pod ended: the container's exit code (or NO_EXIT_CODE) and why."""

    exit_code: int
    reasons: list[str] = field(default_factory=list)
    delete_job: bool = False  # the pod would otherwise stay stuck (e.g. pulling for ever)


def pod_outcome(pod, container_name: str) -> PodOutcome | None:
    """The outcome the pod's status shows, or None while the run goes on (or has not begun)."""
    status = pod.status
    if status is None:
        return None
    if status.reason == "Evicted":
        return PodOutcome(NO_EXIT_CODE, [f"[flowpool] pod {pod.metadata.name} was evicted:"
                                         f" {status.message or 'no reason given'}"])
    state = _container_state(pod, container_name)
    if state is not None and state.terminated is not None:
        return _terminated(pod.metadata.name, state.terminated)
    if state is not None and state.waiting is not None and state.waiting.reason in IMAGE_FAILURES:
        waiting = state.waiting
        return PodOutcome(NO_EXIT_CODE, [f"[flowpool] the container of pod {pod.metadata.name}"
                                         f" cannot start: {waiting.reason}: {waiting.message or ''}"
                                         .rstrip(": ")], delete_job=True)
    if status.phase == "Failed":
        return PodOutcome(NO_EXIT_CODE, [f"[flowpool] pod {pod.metadata.name} failed:"
                                         f" {status.reason or ''} {status.message or ''}".rstrip()])
    return None


def _terminated(pod_name: str, terminated) -> PodOutcome:
    if terminated.reason == "OOMKilled":
        return PodOutcome(terminated.exit_code, [
            f"[flowpool] pod {pod_name} was OOMKilled: the container exceeded its memory limit"])
    if terminated.exit_code != 0:
        detail = f" ({terminated.reason}: {terminated.message})" if terminated.message else ""
        return PodOutcome(terminated.exit_code, [
            f"[flowpool] the container of pod {pod_name} exited with code"
            f" {terminated.exit_code}{detail}"])
    return PodOutcome(0)


def pod_started(pod, container_name: str) -> bool:
    """Whether the container runs or ran: past scheduling and image pulling."""
    state = _container_state(pod, container_name)
    return state is not None and (state.running is not None or state.terminated is not None)


def pending_reason(pod) -> str:
    """Why a pod is not running yet, from its conditions and its container's waiting state."""
    if pod is None:
        return "no pod was created for the Job"
    reasons = [f"{c.reason}: {c.message}" for c in (pod.status.conditions or [])
               if c.status == "False" and c.reason]
    reasons += [f"{s.state.waiting.reason}: {s.state.waiting.message or ''}".rstrip(": ")
                for s in (pod.status.container_statuses or [])
                if s.state is not None and s.state.waiting is not None]
    return "; ".join(reasons) or f"phase {pod.status.phase}"


def _container_state(pod, container_name: str):
    for status in pod.status.container_statuses or []:
        if status.name == container_name:
            return status.state
    return None


# -- launching and watching ----------------------------------------------------------------
def launch(job: dict, claimed: ClaimedRun, token: str, ctx: WorkerContext) -> "KubernetesHandle":
    """Create the run's Job; raise FlowpoolError when the cluster refuses it."""
    from kubernetes.client.exceptions import ApiException

    run_id = claimed.flow_run.id
    # a job's own FLOWPOOL_API_URL says where pods reach the API, when not where the worker does
    api_url = _job_env(job).get("FLOWPOOL_API_URL") or ctx.api_url
    manifest = build_job_manifest(job, claimed, token,
                                  engine_environment(claimed, token, api_url))
    cluster = connect()
    namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    try:
        cluster.batch.create_namespaced_job(namespace, manifest, _request_timeout=API_TIMEOUT_S)
    except ApiException as exc:
        raise FlowpoolError(f"the cluster refused Job {name} in namespace {namespace}:"
                            f" {exc.status} {exc.reason}: {_api_message(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - urllib3's connection and timeout errors
        raise FlowpoolError(f"cannot reach the Kubernetes API at {cluster.host}: {exc}") from None
    log.info("run %s: Job %s created in namespace %s", run_id, name, namespace)
    return KubernetesHandle(cluster, manifest, job)


@dataclass(frozen=True)
class Cluster:
    batch: Any
    core: Any

    @property
    def host(self) -> str:
        return self.batch.api_client.configuration.host


def connect() -> Cluster:
    """Clients from the in-cluster service account, else from KUBECONFIG (or ~/.kube/config)."""
    from kubernetes import client, config

    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()
        else:  # the client reads KUBECONFIG only when imported: read it now
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    except (config.ConfigException, OSError) as exc:
        raise FlowpoolError(f"no Kubernetes cluster is configured ({exc}): set KUBECONFIG, or"
                            " run the worker inside the cluster") from None
    api_client = client.ApiClient()
    return Cluster(client.BatchV1Api(api_client), client.CoreV1Api(api_client))


class KubernetesHandle:
    """A submitted Job: poll or wait for its pod's exit code, read its last lines, stop it.

    One thread watches the pod until it ends (or cannot start), then keeps its last lines,
    so `poll`, `wait` and `stop` only wait on an event.
    """

    def __init__(self, cluster: Cluster, manifest: dict, job: dict):
        self.cluster = cluster
        self.namespace = manifest["metadata"]["namespace"]
        self.name = manifest["metadata"]["name"]
        self.container_name = _containers(manifest)[0]["name"]
        self.pod_watch_timeout_s = float(job.get("pod_watch_timeout_s") or 300)
        self.stream_output = bool(job.get("stream_output", True))
        self.pod_name: str | None = None
        self._stopped_by_worker = False
        self._outcome: PodOutcome | None = None
        self._tail: list[str] = []
        self._ended = threading.Event()
        self._echo: PodLogEcho | None = None
        threading.Thread(target=self._watch, name="flowpool-kubernetes-watch", daemon=True).start()

    def poll(self, timeout_s: float) -> int | None:
        return self._outcome.exit_code if self._ended.wait(timeout_s) else None

    def wait(self) -> int:
        self._ended.wait()
        return self._outcome.exit_code

    def output_tail(self) -> list[str]:
        return list(self._tail) if self._ended.is_set() else self._read_tail()

    def stop(self, grace_s: float) -> int:
        """Delete the pod with `grace_s` (SIGTERM, then SIGKILL by the kubelet), then the Job."""
        if not self._ended.is_set():
            self._stopped_by_worker = True
            grace = max(0, math.ceil(grace_s))
            if self.pod_name:
                self._delete("pod", lambda: self.cluster.core.delete_namespaced_pod(
                    self.pod_name, self.namespace, grace_period_seconds=grace,
                    _preload_content=False, _request_timeout=API_TIMEOUT_S))
            self.delete_job(grace)
            if not self._ended.wait(grace + STOP_SETTLE_S):
                log.warning("Job %s: its pod still runs %.0fs after the stop", self.name,
                            grace + STOP_SETTLE_S)
        return self.wait()

    def delete_job(self, grace_s: int = 0) -> None:
        from kubernetes import client

        self._delete("Job", lambda: self.cluster.batch.delete_namespaced_job(
            self.name, self.namespace, grace_period_seconds=grace_s,
            body=client.V1DeleteOptions(propagation_policy="Background"),
            _preload_content=False, _request_timeout=API_TIMEOUT_S))

    # -- the watching thread -----------------------------------------------------------
    def _watch(self) -> None:
        outcome = PodOutcome(NO_EXIT_CODE)
        try:
            outcome = self._watch_pod()
            if outcome.delete_job:
                self.delete_job()
            if self._echo:
                self._echo.close(drain_s=ECHO_DRAIN_S)
            stopped = [f"[flowpool] the worker stopped the run: Job {self.name} deleted"] \
                if self._stopped_by_worker else []
            self._tail = self._read_tail() + outcome.reasons + stopped
        except Exception as exc:  # noqa: BLE001 - wait() must never be left blocked
            log.exception("Job %s: watching it failed", self.name)
            self._tail.append(f"[flowpool] watching Job {self.name} failed: {exc}")
        finally:
            self._outcome = outcome
            self._ended.set()

    def _watch_pod(self) -> PodOutcome:
        deadline = time.monotonic() + self.pod_watch_timeout_s
        last_pod = None
        for kind, pod in self._pod_events():
            if kind == "DELETED":
                return self._deleted_outcome()
            if kind in ("ADDED", "MODIFIED"):
                last_pod, self.pod_name = pod, pod.metadata.name
                outcome = pod_outcome(pod, self.container_name)
                if outcome is not None:
                    return outcome
                if pod_started(pod, self.container_name):
                    deadline = math.inf
                    self._start_echo()
            elif self._stopped_by_worker and self.pod_name is None:
                return PodOutcome(NO_EXIT_CODE)  # stopped before any pod existed
            if time.monotonic() > deadline:
                return PodOutcome(NO_EXIT_CODE, [
                    f"[flowpool] the pod of Job {self.name} did not start within"
                    f" {self.pod_watch_timeout_s:.0f}s: {pending_reason(last_pod)}"],
                    delete_job=True)
        raise AssertionError("the pod events never end")

    def _pod_events(self) -> Iterator[tuple[str, Any]]:
        """(event type, pod) for the Job's pod as it changes, and ("TICK", None) at the end of
        each bounded watch call; forever, riding over failed calls."""
        from kubernetes import watch

        while True:
            try:
                for event in watch.Watch().stream(
                        self.cluster.core.list_namespaced_pod, self.namespace,
                        label_selector=f"job-name={self.name}", timeout_seconds=WATCH_SLICE_S,
                        _request_timeout=WATCH_SLICE_S + 10):
                    yield event["type"], event["object"]
            except Exception as exc:  # noqa: BLE001 - the cluster may be briefly away
                log.warning("Job %s: watching its pod failed (%s); watching again", self.name, exc)
                self._ended.wait(API_RETRY_S)
            yield "TICK", None

    def _deleted_outcome(self) -> PodOutcome:
        if self._stopped_by_worker:
            return PodOutcome(NO_EXIT_CODE)
        return PodOutcome(NO_EXIT_CODE, [f"[flowpool] pod {self.pod_name} was deleted from"
                                         " outside the worker before it ended"])

    def _start_echo(self) -> None:
        if self.stream_output and self._echo is None:
            self._echo = PodLogEcho(self.cluster, self.namespace, self.pod_name,
                                    self.container_name).start()

    def _read_tail(self) -> list[str]:
        if not self.pod_name:
            return []
        try:
            text = self.cluster.core.read_namespaced_pod_log(
                self.pod_name, self.namespace, container=self.container_name,
                tail_lines=OUTPUT_TAIL_LINES, _request_timeout=API_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - no logs (never started, deleted): the reasons say why
            return []
        return text.splitlines()

    def _delete(self, what: str, call) -> None:
        """Delete, without reading the answer back into a model (a Pod, or a Status)."""
        from kubernetes.client.exceptions import ApiException

        try:
            call()
        except ApiException as exc:
            if exc.status != 404:
                log.warning("Job %s: could not delete its %s: %s %s", self.name, what,
                            exc.status, exc.reason)
        except Exception as exc:  # noqa: BLE001 - the cluster away: the TTL cleans up later
            log.warning("Job %s: could not delete its %s: %s", self.name, what, exc)


class PodLogEcho:
    """Echo the pod's output to the worker's console (`stream_output`); closed after the end."""

    def __init__(self, cluster: Cluster, namespace: str, pod_name: str, container_name: str):
        self.args = (cluster, namespace, pod_name, container_name)
        self._response = None
        self._thread = threading.Thread(target=self._echo, name="flowpool-kubernetes-echo",
                                        daemon=True)

    def start(self) -> "PodLogEcho":
        cluster, namespace, pod_name, container_name = self.args
        try:
            self._response = cluster.core.read_namespaced_pod_log(
                pod_name, namespace, container=container_name, follow=True,
                _preload_content=False)
        except Exception as exc:  # noqa: BLE001 - a convenience: the run goes on without it
            log.warning("pod %s: cannot echo its output: %s", pod_name, exc)
            return self
        self._thread.start()
        return self

    def _echo(self) -> None:
        try:
            for raw in self._response:
                for line in raw.decode(errors="replace").splitlines():
                    echo_output(f"pod {self.args[2]}", line)
        except Exception:  # noqa: BLE001 - closed under our feet: the normal end
            pass

    def close(self, drain_s: float) -> None:
        if self._response is None:
            return
        self._thread.join(timeout=drain_s)
        self._response.close()
        self._thread.join(timeout=drain_s)


def _job_env(job: dict) -> dict:
    """The env of the job's container as a mapping, whichever form the template used."""
    containers = _containers(job.get("job_manifest") or {})
    env = (containers[0].get("env") if containers else None) or {}
    return env if isinstance(env, dict) else {e.get("name"): e.get("value") for e in env}


def _api_message(exc) -> str:
    import json

    try:
        return json.loads(exc.body).get("message") or exc.body
    except (TypeError, ValueError, AttributeError):
        return str(exc.body)
