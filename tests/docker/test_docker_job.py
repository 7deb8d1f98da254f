"""From a docker pool's job variables to the container's settings: pure, no engine needed."""
from __future__ import annotations

import pytest

from orchestrator.errors import FlowpoolError, InvalidInput
from orchestrator.jobs import check_base_job_template, default_base_job_template, validate_job_variables
from workers.docker import container_api_url, container_name, container_settings

FLOWPOOL_VARS = {"FLOWPOOL_API_URL": "http://127.0.0.1:4300/api", "FLOWPOOL_RUN_ID": "run-id",
                 "FLOWPOOL_RUN_TOKEN": "token", "PYTHONUNBUFFERED": "1"}


def test_by_default_the_container_runs_the_flowpool_engine_for_the_run(docker_job, claimed_run):
    claimed = claimed_run()

    settings = container_settings(docker_job(), claimed, "token", FLOWPOOL_VARS)

    assert settings["image"] == "flowpool:latest"
    assert settings["command"] == ["python", "-m", "orchestrator.engine", claimed.flow_run.id]
    assert settings["environment"] == FLOWPOOL_VARS
    assert settings["init"] is True and settings["detach"] is True


def test_unset_variables_are_left_to_the_engine_s_defaults(docker_job, claimed_run):
    settings = container_settings(docker_job(), claimed_run(), "token", FLOWPOOL_VARS)

    for unset in ("mem_limit", "nano_cpus", "network", "network_mode", "working_dir", "volumes"):
        assert unset not in settings


def test_job_variables_become_container_settings(docker_job, claimed_run):
    job = docker_job(command="python -m app --fast", env={"A": "1"}, volumes=["data:/data:ro"],
                     networks=["backend"], mem_limit="512m", cpus=1.5, working_dir="/app")

    settings = container_settings(job, claimed_run(), "token", FLOWPOOL_VARS)

    assert settings["command"] == ["python", "-m", "app", "--fast"]
    assert settings["environment"] == {"A": "1", **FLOWPOOL_VARS}
    assert settings["volumes"] == ["data:/data:ro"]
    assert settings["network"] == "backend"
    assert settings["mem_limit"] == "512m"
    assert settings["nano_cpus"] == 1_500_000_000
    assert settings["working_dir"] == "/app"


def test_networks_and_network_mode_together_are_refused(docker_job, claimed_run):
    job = docker_job(networks=["backend"], network_mode="host")

    with pytest.raises(FlowpoolError, match="not both"):
        container_settings(job, claimed_run(), "token", FLOWPOOL_VARS)


def test_flowpool_s_labels_win_over_the_job_s(docker_job, claimed_run):
    claimed = claimed_run()
    job = docker_job(labels={"team": "data", "flowpool.io/flow-run-id": "spoofed"})

    labels = container_settings(job, claimed, "token", FLOWPOOL_VARS)["labels"]

    assert labels["team"] == "data"
    assert labels["flowpool.io/flow-run-id"] == claimed.flow_run.id
    assert labels["flowpool.io/work-pool"] == "docker-pool"


def test_container_names_are_valid_and_unique_per_attempt():
    first, second = container_name("my flow/run", "aaaaaaaa11"), container_name("my flow/run", "bbbbbbbb22")

    assert first == "flowpool-my-flow-run-aaaaaaaa" and first != second


@pytest.mark.parametrize("api_url, network_mode, podman, expected", [
    ("http://127.0.0.1:4300/api", None, True, "http://host.containers.internal:4300/api"),
    ("http://localhost:4300/api", "bridge", False, "http://host.docker.internal:4300/api"),
    ("http://127.0.0.1:4300/api", "host", True, "http://127.0.0.1:4300/api"),
    ("http://server:4300/api", None, False, "http://server:4300/api"),
    ("https://flowpool.example.com/api", None, True, "https://flowpool.example.com/api"),
])
def test_a_loopback_api_url_points_containers_at_the_host(api_url, network_mode, podman, expected):
    assert container_api_url(api_url, network_mode, podman) == expected


def test_the_default_template_declares_every_variable_it_uses():
    check_base_job_template(default_base_job_template("docker"))


@pytest.mark.parametrize("variables, field", [
    ({"privileged": True}, "job_variables.privileged"),
    ({"image_pull_policy": "sometimes"}, "job_variables.image_pull_policy"),
    ({"mem_limit": "lots"}, "job_variables.mem_limit"),
    ({"cpus": 0}, "job_variables.cpus"),
    ({"volumes": ["no-container-path"]}, "job_variables.volumes.0"),
    ({"env": {"N": 1}}, "job_variables.env.N"),
    ({"image": ""}, "job_variables.image"),
])
def test_wrong_job_variables_are_refused_naming_the_variable(variables, field):
    with pytest.raises(InvalidInput) as raised:
        validate_job_variables(default_base_job_template("docker"), variables)

    assert field in [error.field for error in raised.value.errors]


def test_the_documented_variables_are_accepted():
    validate_job_variables(default_base_job_template("docker"), {
        "image": "registry.example.com/etl:1", "image_pull_policy": "always",
        "command": ["python", "-m", "etl"], "env": {"A": "1"}, "working_dir": "/app",
        "volumes": ["/srv/data:/data:ro", "cache:/cache"], "networks": ["backend"],
        "mem_limit": "1g", "cpus": 0.5, "labels": {"team": "data"}, "auto_remove": True,
        "stream_output": False})
    validate_job_variables(default_base_job_template("docker"), {"mem_limit": 268435456,
                                                                 "network_mode": "host"})
