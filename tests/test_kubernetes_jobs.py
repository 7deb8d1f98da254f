"""The kubernetes infrastructure's watching: what a pod's status means for the run (pure, from
the client's own models), the errors of a missing or unreachable cluster, and, against a
real cluster when KUBECONFIG points at one, Jobs run, stopped, failing and OOMKilled.

The live tests use FLOWPOOL_TEST_K8S_NAMESPACE (default "default") and public images
(busybox:1.36, python:3.11-slim) the cluster must be able to pull.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import datetime, timezone

import pytest

from orchestrator.errors import FlowpoolError
from orchestrator.jobs import default_base_job_template, render_job_configuration
from orchestrator.models import ClaimedRun
from workers import kubernetes as k8s
from workers.context import WorkerContext

client = pytest.importorskip("kubernetes.client")

CONTAINER = "flowpool-run"
NAMESPACE = os.environ.get("FLOWPOOL_TEST_K8S_NAMESPACE", "default")


def pod(phase="Running", reason=None, message=None, waiting=None, terminated=None,
        running=False, conditions=None):
    """A pod as the API returns it, built from the client's models."""
    state = client.V1ContainerState(
        waiting=client.V1ContainerStateWaiting(reason=waiting[0], message=waiting[1]) if waiting else None,
        terminated=client.V1ContainerStateTerminated(
            exit_code=terminated[0], reason=terminated[1]) if terminated else None,
        running=client.V1ContainerStateRunning() if running else None)
    status = client.V1ContainerStatus(name=CONTAINER, image="img", image_id="", ready=running,
                                      restart_count=0, state=state)
    return client.V1Pod(metadata=client.V1ObjectMeta(name="flowpool-echo-1234-abcd"),
                        status=client.V1PodStatus(phase=phase, reason=reason, message=message,
                                                  container_statuses=[status],
                                                  conditions=conditions))


# -- what a pod's status means (pure) ------------------------------------------------------
def test_a_running_or_pending_pod_has_no_outcome_yet():
    assert k8s.pod_outcome(pod(running=True), CONTAINER) is None
    assert k8s.pod_outcome(pod("Pending", waiting=("ContainerCreating", None)), CONTAINER) is None


def test_a_succeeded_container_gives_exit_code_zero_and_no_reason():
    assert k8s.pod_outcome(pod("Succeeded", terminated=(0, "Completed")), CONTAINER) == \
        k8s.PodOutcome(0)


def test_a_failed_container_gives_its_exit_code():
    outcome = k8s.pod_outcome(pod("Failed", terminated=(3, "Error")), CONTAINER)

    assert outcome.exit_code == 3 and not outcome.delete_job


def test_an_oomkilled_container_says_so():
    outcome = k8s.pod_outcome(pod("Failed", terminated=(137, "OOMKilled")), CONTAINER)

    assert outcome.exit_code == 137
    assert "OOMKilled" in outcome.reasons[0] and "memory limit" in outcome.reasons[0]


def test_an_evicted_pod_says_why():
    outcome = k8s.pod_outcome(pod("Failed", reason="Evicted",
                                  message="The node was low on resource: memory."), CONTAINER)

    assert outcome.exit_code == k8s.NO_EXIT_CODE
    assert "evicted: The node was low on resource: memory." in outcome.reasons[0]


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"])
def test_an_image_that_cannot_be_pulled_ends_the_run_and_deletes_its_job(reason):
    outcome = k8s.pod_outcome(pod("Pending", waiting=(reason, 'pull access denied for "nope"')),
                              CONTAINER)

    assert outcome.exit_code == k8s.NO_EXIT_CODE and outcome.delete_job
    assert f'{reason}: pull access denied for "nope"' in outcome.reasons[0]


def test_a_pod_that_cannot_be_scheduled_says_why_it_waits():
    unschedulable = client.V1PodCondition(
        type="PodScheduled", status="False", reason="Unschedulable",
        message="0/3 nodes are available: 3 Insufficient memory.")
    waiting = pod("Pending", conditions=[unschedulable])

    assert k8s.pod_outcome(waiting, CONTAINER) is None
    assert k8s.pending_reason(waiting) == \
        "Unschedulable: 0/3 nodes are available: 3 Insufficient memory."
    assert k8s.pending_reason(None) == "no pod was created for the Job"


def test_a_pod_counts_as_started_once_its_container_runs_or_ran():
    assert not k8s.pod_started(pod("Pending", waiting=("ContainerCreating", None)), CONTAINER)
    assert k8s.pod_started(pod(running=True), CONTAINER)
    assert k8s.pod_started(pod("Succeeded", terminated=(0, "Completed")), CONTAINER)


# -- without a cluster ---------------------------------------------------------------------
def claimed_run() -> ClaimedRun:
    now = datetime.now(timezone.utc)
    run_id, deployment_id = str(uuid.uuid4()), str(uuid.uuid4())
    return ClaimedRun.model_validate({
        "flow_run": {"id": run_id, "name": f"echo-{run_id[:8]}", "flow_name": "echo",
                     "deployment_id": deployment_id, "deployment_name": "test",
                     "work_pool_name": "k8s-pool", "work_queue_name": "default",
                     "state_type": "RUNNING", "state_name": "Running", "state_changed": now,
                     "attempt": 1, "scheduled_time": now, "created": now, "updated": now},
        "deployment": {"id": deployment_id, "flow_name": "echo", "name": "test",
                       "entrypoint": "flows.py:echo", "work_pool_name": "k8s-pool",
                       "work_queue_name": "default", "created": now, "updated": now},
        "work_pool": {"id": str(uuid.uuid4()), "name": "k8s-pool", "type": "kubernetes",
                      "base_job_template": {}, "created": now, "updated": now},
    })


def kubernetes_job(**variables) -> dict:
    return render_job_configuration(default_base_job_template("kubernetes"),
                                    {"namespace": NAMESPACE, **variables})


def worker_context() -> WorkerContext:
    return WorkerContext(name="k8s-test-worker", pool_name="k8s-pool",
                         api_url="http://flowpool.invalid:4300/api")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_a_configured_cluster_launch_fails_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(FlowpoolError, match="set KUBECONFIG"):
        k8s.launch(kubernetes_job(), claimed_run(), "token", worker_context())


def test_an_unreachable_cluster_fails_fast_naming_its_address(tmp_path, monkeypatch):
    server = f"https://127.0.0.1:{closed_port()}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(f"""
apiVersion: v1
kind: Config
clusters: [{{name: closed, cluster: {{server: "{server}", insecure-skip-tls-verify: true}}}}]
users: [{{name: someone, user: {{token: not-a-real-token}}}}]
contexts: [{{name: closed, context: {{cluster: closed, user: someone}}}}]
current-context: closed
""")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    started = time.monotonic()

    with pytest.raises(FlowpoolError, match=f"cannot reach the Kubernetes API at {server}"):
        k8s.launch(kubernetes_job(), claimed_run(), "token", worker_context())

    assert time.monotonic() - started < 30


# -- against a real cluster ----------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    if not os.environ.get("KUBECONFIG"):
        pytest.skip("KUBECONFIG is not set: no Kubernetes cluster to run Jobs on")
    try:
        connected = k8s.connect()
        connected.core.list_namespaced_pod(NAMESPACE, limit=1, _request_timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure means: no cluster to test against
        pytest.skip(f"KUBECONFIG={os.environ['KUBECONFIG']} names no cluster that answers: {exc}")
    return connected


@pytest.fixture
def launched(cluster):
    handles = []

    def launch(job: dict):
        handle = k8s.launch(job, claimed_run(), uuid.uuid4().hex, worker_context())
        handles.append(handle)
        return handle

    yield launch
    for handle in handles:
        handle.delete_job()


@pytest.mark.integration
def test_a_job_runs_to_completion_and_returns_its_output(launched):
    handle = launched(kubernetes_job(image="busybox:1.36", env={"GREETING": "hello"},
                                     command=["sh", "-c", 'echo "$GREETING from the pod"']))

    assert handle.wait() == 0
    assert handle.output_tail() == ["hello from the pod"]


@pytest.mark.integration
def test_stop_deletes_the_job_and_ends_the_run(launched, cluster):
    handle = launched(kubernetes_job(image="busybox:1.36",
                                     command=["sh", "-c", "echo ready; sleep 600"]))
    deadline = time.monotonic() + 120
    while handle.pod_name is None or "ready" not in handle.output_tail():
        assert time.monotonic() < deadline, "the pod did not start within 120 s"
        assert handle.poll(1.0) is None

    started = time.monotonic()
    exit_code = handle.stop(grace_s=2)

    assert exit_code != 0
    assert time.monotonic() - started < 2 + k8s.STOP_SETTLE_S
    assert "the worker stopped the run" in handle.output_tail()[-1]


@pytest.mark.integration
def test_a_failing_container_gives_its_exit_code_and_last_lines(launched):
    handle = launched(kubernetes_job(image="busybox:1.36",
                                     command=["sh", "-c", "echo going down; exit 3"]))

    assert handle.wait() == 3
    assert handle.output_tail()[0] == "going down"


@pytest.mark.integration
def test_an_image_that_cannot_be_pulled_ends_the_run_with_the_reason(launched, cluster):
    image = f"localhost:1/flowpool-missing-{uuid.uuid4().hex[:8]}:latest"
    handle = launched(kubernetes_job(image=image, image_pull_policy="Always"))

    assert handle.wait() == k8s.NO_EXIT_CODE
    assert any(reason in handle.output_tail()[-1] for reason in k8s.IMAGE_FAILURES)


@pytest.mark.integration
def test_an_oomkilled_pod_is_reported_with_the_reason(launched):
    allocate = "block = bytearray(512 * 1024 * 1024); print('survived')"
    handle = launched(kubernetes_job(image="python:3.11-slim", memory_limit="32Mi",
                                     command=["python", "-c", allocate]))

    assert handle.wait() == 137
    assert "OOMKilled" in handle.output_tail()[-1]
