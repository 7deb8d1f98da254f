"""The docker infrastructure against a real container engine: what a worker launches, waits
for, reads and stops. No flowpool server is involved: the containers run plain commands."""
from __future__ import annotations

import time
import uuid

import pytest

from devstack import wait_for
from orchestrator.errors import FlowpoolError

pytestmark = pytest.mark.integration

IGNORES_SIGTERM = "trap '' TERM; echo ready; while :; do sleep 1; done"
MEMORY_LIMIT_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def logs_contain(docker_client, handle, text: str) -> bool:
    return text in docker_client.containers.get(handle.container.id).logs().decode()


def test_a_container_runs_to_completion_and_returns_its_output(
        launched, docker_job, busybox_image, claimed_run, worker_context, docker_client):
    claimed = claimed_run()
    job = docker_job(image=busybox_image,
                     command=["sh", "-c", "echo hello from the container; echo oops >&2"])

    handle = launched(job, claimed, worker_context)

    assert handle.wait() == 0
    assert handle.output_tail() == ["hello from the container", "oops"]
    labels = docker_client.containers.get(handle.container.id).labels
    assert labels["flowpool.io/flow-run-id"] == claimed.flow_run.id
    assert labels["flowpool.io/deployment"] == "echo/test"
    assert labels["flowpool.io/flow"] == "echo"


def test_env_volume_mem_limit_and_cpus_reach_the_container(
        launched, docker_job, busybox_image, claimed_run, worker_context, docker_client, tmp_path):
    (tmp_path / "input.txt").write_text("from the host volume\n")
    script = ('echo "greeting=$GREETING"; cat /data/input.txt; pwd;'
              f' cat {" ".join(MEMORY_LIMIT_FILES)} 2>/dev/null; echo "run=$FLOWPOOL_RUN_ID"')
    claimed = claimed_run()
    job = docker_job(image=busybox_image, command=["sh", "-c", script],
                     env={"GREETING": "hello"}, volumes=[f"{tmp_path}:/data:ro"],
                     working_dir="/data", mem_limit="64m", cpus=0.5)

    handle = launched(job, claimed, worker_context)

    assert handle.wait() == 0
    output = handle.output_tail()
    assert output[:3] == ["greeting=hello", "from the host volume", "/data"]
    assert str(64 * 1024 * 1024) in output  # the cgroup's limit, as the container sees it
    assert f"run={claimed.flow_run.id}" in output
    host_config = docker_client.containers.get(handle.container.id).attrs["HostConfig"]
    assert host_config["Memory"] == 64 * 1024 * 1024
    assert host_config["NanoCpus"] == 500_000_000


def test_the_container_gets_the_run_id_token_and_api_url_for_the_engine(
        launched, docker_job, busybox_image, claimed_run, worker_context):
    claimed = claimed_run()
    job = docker_job(image=busybox_image, network_mode="host",
                     command=["sh", "-c", "env | grep ^FLOWPOOL_ | sort"])

    handle = launched(job, claimed, worker_context, token="the-token")

    assert handle.wait() == 0
    assert handle.output_tail() == [f"FLOWPOOL_API_URL={worker_context.api_url}",
                                    f"FLOWPOOL_RUN_ATTEMPT={claimed.flow_run.attempt}",
                                    f"FLOWPOOL_RUN_ID={claimed.flow_run.id}",
                                    "FLOWPOOL_RUN_TOKEN=the-token"]


def test_stop_kills_a_container_that_ignores_sigterm_within_the_grace_period(
        launched, docker_job, busybox_image, claimed_run, worker_context, docker_client):
    handle = launched(docker_job(image=busybox_image, command=["sh", "-c", IGNORES_SIGTERM]),
                      claimed_run(), worker_context)
    wait_for(lambda: logs_contain(docker_client, handle, "ready"), 30, "the container to start")
    assert handle.poll(0.5) is None  # still running

    started = time.monotonic()
    exit_code = handle.stop(grace_s=2)

    assert exit_code == 137
    assert 2 <= time.monotonic() - started < 2 + 5
    assert handle.poll(0) == handle.wait() == 137
    assert "stopped by the worker" in handle.output_tail()[-1]


def test_stop_ends_a_container_that_obeys_sigterm_before_the_grace_period(
        launched, docker_job, busybox_image, claimed_run, worker_context, docker_client):
    # `sleep` as a child of sh dies of the SIGTERM the init process forwards
    handle = launched(docker_job(image=busybox_image, command=["sh", "-c", "echo ready; sleep 300"]),
                      claimed_run(), worker_context)
    wait_for(lambda: logs_contain(docker_client, handle, "ready"), 30, "the container to start")

    started = time.monotonic()
    exit_code = handle.stop(grace_s=20)

    assert exit_code == 143  # 128 + SIGTERM
    assert time.monotonic() - started < 10


def test_a_container_killed_from_outside_gives_a_nonzero_code_and_its_last_lines(
        launched, docker_job, busybox_image, claimed_run, worker_context, docker_client):
    script = "for i in 1 2 3; do echo step $i; done; echo ready; sleep 300"
    handle = launched(docker_job(image=busybox_image, command=["sh", "-c", script],
                                 mem_limit="64m"),
                      claimed_run(), worker_context)
    wait_for(lambda: logs_contain(docker_client, handle, "ready"), 30, "the container to start")

    docker_client.containers.get(handle.container.id).kill()

    assert handle.wait() == 137
    tail = handle.output_tail()
    assert tail[:4] == ["step 1", "step 2", "step 3", "ready"]
    assert "killed (SIGKILL, exit code 137)" in tail[-1] and "64m" in tail[-1]


def test_a_container_that_fails_gives_its_exit_code_and_last_lines(
        launched, docker_job, busybox_image, claimed_run, worker_context):
    handle = launched(docker_job(image=busybox_image,
                                 command="sh -c 'echo something went wrong; exit 3'"),
                      claimed_run(), worker_context)

    assert handle.wait() == 3
    assert handle.output_tail() == ["something went wrong"]


def test_a_missing_image_fails_fast_with_a_clear_message_and_no_container(
        launched, docker_job, claimed_run, worker_context, docker_client):
    image = f"localhost/flowpool-missing-{uuid.uuid4().hex[:8]}:latest"
    for policy in ("never", "if-not-present", "always"):
        claimed = claimed_run()
        started = time.monotonic()

        with pytest.raises(FlowpoolError) as raised:
            launched(docker_job(image=image, image_pull_policy=policy), claimed, worker_context)

        assert time.monotonic() - started < 30, policy
        assert image in str(raised.value)
        assert ("'never'" if policy == "never" else "could not be pulled") in str(raised.value)
        assert not docker_client.containers.list(
            all=True, filters={"label": f"flowpool.io/flow-run-id={claimed.flow_run.id}"})


def test_auto_remove_removes_the_container_once_its_output_was_read(
        launched, docker_job, busybox_image, claimed_run, worker_context, docker_client):
    import docker

    handle = launched(docker_job(image=busybox_image, auto_remove=True,
                                 command=["sh", "-c", "echo bye; exit 4"]),
                      claimed_run(), worker_context)

    assert handle.wait() == 4
    assert handle.output_tail() == ["bye"]
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(handle.container.id)


def test_a_run_that_exceeds_its_memory_limit_is_killed_and_says_so(
        launched, docker_job, flowpool_image, claimed_run, worker_context):
    allocate = "print('allocating', flush=True); block = bytearray(512 * 1024 * 1024); print('survived')"
    handle = launched(docker_job(image=flowpool_image, mem_limit="32m",
                                 command=["python", "-c", allocate]),
                      claimed_run(), worker_context)

    code = handle.wait()

    tail = handle.output_tail()
    assert code == 137, tail
    assert tail[0] == "allocating" and "survived" not in tail
    assert "memory limit (32m)" in tail[-1]  # OOMKilled on Docker; a SIGKILL on Podman 4.3
