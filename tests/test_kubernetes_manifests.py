"""Kubernetes Jobs rendered from a pool's base job template and the deployment's and the run's
job variables, compared with golden manifests in tests/golden/kubernetes/.

After an intended change, rewrite them with FLOWPOOL_UPDATE_GOLDEN=1 and review the diff.
"""
from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import pytest

from orchestrator.errors import FlowpoolError, InvalidInput
from orchestrator.jobs import (check_base_job_template, default_base_job_template,
                               render_job_configuration, validate_job_variables)
from orchestrator.models import ClaimedRun
from workers.infrastructure import engine_environment
from workers.kubernetes import build_job_manifest, job_name, label_value

GOLDEN = Path(__file__).parent / "golden" / "kubernetes"
UPDATE_GOLDEN = os.environ.get("FLOWPOOL_UPDATE_GOLDEN") == "1"
TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
API_URL = "http://flowpool-server.flowpool.svc:4300/api"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")

DEPLOYMENT_VARIABLES = {
    "namespace": "flows", "image": "registry.example.com/team/etl:1.4",
    "image_pull_policy": "Always", "service_account_name": "etl-runner",
    "env": {"LOG_LEVEL": "debug", "REGION": "eu-west-1"},
    "cpu_request": "500m", "cpu_limit": "2", "memory_request": "256Mi", "memory_limit": "1Gi",
    "ttl_seconds_after_finished": 600, "labels": {"team": "data", "cost-center": "42"},
}
RUN_VARIABLES = {"image": "registry.example.com/team/etl:1.5", "memory_limit": "2Gi",
                 "env": {"LOG_LEVEL": "info"}}

CUSTOM_TEMPLATE = {
    "job_configuration": {
        "namespace": "{{ namespace }}",
        "job_manifest": {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"labels": {"app": "flows"}, "annotations": {"owner": "data-team"}},
            "spec": {
                "backoffLimit": 0, "activeDeadlineSeconds": "{{ deadline_s }}",
                "template": {"spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"pool": "batch"},
                    "tolerations": [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}],
                    "volumes": [{"name": "scratch", "emptyDir": {}}],
                    "containers": [
                        {"name": "run", "image": "{{ image }}",
                         "env": [{"name": "FROM_TEMPLATE", "value": "yes"},
                                 {"name": "FLOWPOOL_RUN_ID", "value": "overridden by flowpool"}],
                         "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]},
                        {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "1"]},
                    ]}},
            },
        },
    },
    "variables": {"type": "object", "properties": {
        "namespace": {"type": "string", "default": "batch"},
        "image": {"type": "string", "default": "flowpool:latest"},
        "deadline_s": {"type": "integer", "default": 3600},
    }},
}


def claimed_run(job_variables: dict | None = None, deployment_variables: dict | None = None,
                template: dict | None = None) -> ClaimedRun:
    """A claimed run with fixed ids and times, so its manifest is the same on every run."""
    at = "2026-01-02T03:04:05+00:00"
    return ClaimedRun.model_validate({
        "flow_run": {"id": "6b0e1c2d-3f4a-4b5c-9d6e-7f8091a2b3c4", "name": "get-repo-info-6b0e1c2d",
                     "flow_name": "get-repo-info", "deployment_id": "d7c6b5a4-0000-4000-8000-000000000001",
                     "deployment_name": "my-deployment", "work_pool_name": "k8s-pool",
                     "work_queue_name": "default", "job_variables": job_variables or {},
                     "state_type": "RUNNING", "state_name": "Running", "state_changed": at,
                     "attempt": 2, "scheduled_time": at, "created": at, "updated": at},
        "deployment": {"id": "d7c6b5a4-0000-4000-8000-000000000001", "flow_name": "get-repo-info",
                       "name": "my-deployment", "entrypoint": "flows/repo_info.py:get_repo_info",
                       "work_pool_name": "k8s-pool", "work_queue_name": "default",
                       "job_variables": deployment_variables or {}, "created": at, "updated": at},
        "work_pool": {"id": "a1b2c3d4-0000-4000-8000-000000000002", "name": "k8s-pool",
                      "type": "kubernetes", "created": at, "updated": at,
                      "base_job_template": template or default_base_job_template("kubernetes")},
    })


def manifest_for(claimed: ClaimedRun) -> dict:
    """What the worker submits: the pool's template rendered with both sets of variables."""
    job = render_job_configuration(claimed.work_pool.base_job_template,
                                   claimed.deployment.job_variables, claimed.flow_run.job_variables)
    env = engine_environment(claimed, TOKEN, API_URL)
    return build_job_manifest(job, claimed, TOKEN, env)


def assert_matches_golden(manifest: dict, name: str) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with FLOWPOOL_UPDATE_GOLDEN=1"
    assert json.loads(text) == json.loads(path.read_text()), f"differs from {path}"


CASES = {
    "defaults": lambda: claimed_run(),
    "deployment_variables": lambda: claimed_run(deployment_variables=DEPLOYMENT_VARIABLES),
    "run_overrides_deployment": lambda: claimed_run(RUN_VARIABLES, DEPLOYMENT_VARIABLES),
    "custom_command": lambda: claimed_run({"command": "python -m etl.main --date 2026-01-01",
                                           "working_dir": "/opt/etl"}),
    "custom_template": lambda: claimed_run({"image": "etl:2"}, template=CUSTOM_TEMPLATE),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_job_manifest_matches_its_golden_file(case):
    assert_matches_golden(manifest_for(CASES[case]()), case)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_job_manifest_validates_against_the_kubernetes_openapi_schema(case):
    """Offline and strict: a wrong type or an unknown field anywhere in the Job fails."""
    from tests.test_deploy_manifests import validate_kubernetes

    validate_kubernetes(manifest_for(CASES[case]()))


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_field_of_the_manifest_is_a_field_of_a_kubernetes_job(case):
    """A misspelled field would vanish in a round trip through the client's V1Job model."""
    from kubernetes.client import ApiClient

    manifest = manifest_for(CASES[case]())
    api = ApiClient()

    class Response:  # what clients before 35.0 deserialize from
        data = json.dumps(manifest)

    try:
        model = api.deserialize(json.dumps(manifest), "V1Job", "application/json")
    except (TypeError, AttributeError):
        model = api.deserialize(Response(), "V1Job")
    assert api.sanitize_for_serialization(model) == manifest


def test_by_default_the_pod_runs_the_flowpool_engine_for_the_run_with_its_token():
    claimed = claimed_run()
    container = manifest_for(claimed)["spec"]["template"]["spec"]["containers"][0]

    assert container["command"] == ["python", "-m", "orchestrator.engine", claimed.flow_run.id]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["FLOWPOOL_RUN_ID"] == claimed.flow_run.id
    assert env["FLOWPOOL_RUN_TOKEN"] == TOKEN
    assert env["FLOWPOOL_API_URL"] == API_URL


def test_the_job_never_retries_a_pod_and_expires_after_the_ttl():
    spec = manifest_for(claimed_run())["spec"]

    assert spec["backoffLimit"] == 0
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["ttlSecondsAfterFinished"] == 3600


def test_unset_variables_leave_their_fields_out():
    manifest = manifest_for(claimed_run())
    pod_spec = manifest["spec"]["template"]["spec"]

    assert "serviceAccountName" not in pod_spec
    assert "resources" not in pod_spec["containers"][0]
    assert "workingDir" not in pod_spec["containers"][0]


def test_only_the_resources_that_are_set_are_written():
    manifest = manifest_for(claimed_run({"memory_limit": "512Mi"}))

    assert manifest["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "512Mi"}}


def test_the_run_s_variables_win_over_the_deployment_s():
    container = manifest_for(claimed_run(RUN_VARIABLES, DEPLOYMENT_VARIABLES))[
        "spec"]["template"]["spec"]["containers"][0]

    assert container["image"] == "registry.example.com/team/etl:1.5"
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    # a mapping variable is replaced as a whole, not merged key by key
    assert [e["name"] for e in container["env"]][0:1] == ["LOG_LEVEL"]
    assert "REGION" not in [e["name"] for e in container["env"]]


def test_job_and_pod_carry_flowpool_s_labels_and_the_job_s():
    manifest = manifest_for(claimed_run(deployment_variables=DEPLOYMENT_VARIABLES))

    for labels in (manifest["metadata"]["labels"],
                   manifest["spec"]["template"]["metadata"]["labels"]):
        assert labels["flowpool.io/flow-run-id"] == "6b0e1c2d-3f4a-4b5c-9d6e-7f8091a2b3c4"
        assert labels["flowpool.io/deployment"] == "my-deployment"
        assert labels["flowpool.io/flow"] == "get-repo-info"
        assert labels["team"] == "data"
        assert all(LABEL_VALUE.match(value) for value in labels.values()), labels


def test_a_job_s_labels_cannot_override_flowpool_s():
    manifest = manifest_for(claimed_run({"labels": {"flowpool.io/flow-run-id": "spoofed"}}))

    assert manifest["metadata"]["labels"]["flowpool.io/flow-run-id"] != "spoofed"


def test_job_names_are_dns_labels_unique_per_attempt():
    long_name = "A_Very.Long Flow Name/with-every sort of character" * 3

    names = {job_name(long_name, "token-one-abc"), job_name(long_name, "token-two-abc")}

    assert len(names) == 2
    assert all(DNS_LABEL.match(name) for name in names), names
    assert job_name("---", "ABCDEF12") == "flowpool-abcdef12"


def test_label_values_are_cut_and_cleaned_to_what_kubernetes_accepts():
    assert label_value("get-repo-info/my-deployment") == "get-repo-info-my-deployment"
    assert LABEL_VALUE.match(label_value("-" + "x" * 100 + "-"))
    assert len(label_value("y" * 100)) == 63


def test_a_custom_template_keeps_its_own_fields_and_containers():
    manifest = manifest_for(claimed_run({"image": "etl:2"}, template=CUSTOM_TEMPLATE))
    pod_spec = manifest["spec"]["template"]["spec"]

    assert manifest["metadata"]["namespace"] == "batch"
    assert manifest["spec"]["activeDeadlineSeconds"] == 3600
    assert pod_spec["nodeSelector"] == {"pool": "batch"}
    assert pod_spec["containers"][1] == {"name": "sidecar", "image": "busybox:1.36",
                                         "command": ["sleep", "1"]}
    env = pod_spec["containers"][0]["env"]
    assert env[0] == {"name": "FROM_TEMPLATE", "value": "yes"}
    assert [e["value"] for e in env if e["name"] == "FLOWPOOL_RUN_ID"] == [
        "6b0e1c2d-3f4a-4b5c-9d6e-7f8091a2b3c4"]


def test_a_template_without_a_job_with_containers_is_refused():
    template = copy.deepcopy(CUSTOM_TEMPLATE)
    template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]["containers"] = []

    with pytest.raises(FlowpoolError, match="at least one container"):
        manifest_for(claimed_run(template=template))


def test_the_default_template_declares_every_variable_it_uses():
    check_base_job_template(default_base_job_template("kubernetes"))


@pytest.mark.parametrize("variables, field", [
    ({"gpu": 1}, "job_variables.gpu"),
    ({"memory_limit": "lots"}, "job_variables.memory_limit"),
    ({"image_pull_policy": "sometimes"}, "job_variables.image_pull_policy"),
    ({"namespace": "Not_A_Namespace"}, "job_variables.namespace"),
    ({"ttl_seconds_after_finished": -1}, "job_variables.ttl_seconds_after_finished"),
    ({"env": {"N": 1}}, "job_variables.env.N"),
])
def test_wrong_job_variables_are_refused_naming_the_variable(variables, field):
    with pytest.raises(InvalidInput) as raised:
        validate_job_variables(default_base_job_template("kubernetes"), variables)

    assert field in [error.field for error in raised.value.errors]


def test_the_documented_variables_are_accepted():
    validate_job_variables(default_base_job_template("kubernetes"),
                           {**DEPLOYMENT_VARIABLES, "command": ["python", "-m", "x"]})
