"""Base job templates from the CLI: the defaults of each type, a pool's own template, and
job variables checked against it at deploy and at run time."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

FLOW = "from orchestrator import flow\n\n@flow\ndef hello():\n    return 'hi'\n"


@pytest.mark.parametrize("worker_type", ["process", "docker", "kubernetes"])
def test_the_default_template_of_each_type_is_printed_as_json(stack, worker_type):
    template = json.loads(stack.cli("work-pool", "get-default-base-job-template", "--type",
                                    worker_type, check=True).stdout)

    assert template["variables"]["type"] == "object"
    assert all("default" in p or p.get("type") for p in template["variables"]["properties"].values())
    assert "{{ env }}" in json.dumps(template["job_configuration"])


def test_a_pools_own_template_is_used_and_can_be_replaced(stack, unique_name, tmp_path):
    pool = unique_name("tpl")
    template = json.loads(stack.cli("work-pool", "get-default-base-job-template", "--type",
                                    "process", check=True).stdout)
    template["variables"]["properties"]["env"]["default"] = {"STAGE": "test"}
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    stack.cli("work-pool", "create", pool, "--type", "process", "--base-job-template", str(path),
              check=True)
    assert stack.client().read_work_pool(pool).base_job_template == template

    template["variables"]["properties"]["env"]["default"] = {"STAGE": "prod"}
    path.write_text(json.dumps(template))
    stack.cli("work-pool", "update", pool, "--base-job-template", str(path), check=True)

    props = stack.client().read_work_pool(pool).base_job_template["variables"]["properties"]
    assert props["env"]["default"] == {"STAGE": "prod"}


def test_unknown_job_variables_and_wrong_types_are_refused_with_the_variable_named(
        stack, process_pool, flow_file):
    pool = process_pool(workers=0)
    project, entrypoint = flow_file(FLOW, "hello")

    unknown = stack.cli("deploy", entrypoint, "--name", "jv", "--pool", pool,
                        "--job-variable", "imagee=x", cwd=project)
    stack.cli("deploy", entrypoint, "--name", "jv", "--pool", pool, cwd=project, check=True)
    wrong_type = stack.cli("deployment", "run", "hello/jv", "--job-variable", "stream_output=7")

    assert unknown.returncode == 1 and "job_variables.imagee: unknown job variable" in unknown.stderr
    assert wrong_type.returncode == 1 and "stream_output" in wrong_type.stderr
    assert stack.client().list_flow_runs(deployment_id=stack.client().read_deployment(
        "hello/jv").id) == []


def test_a_broken_template_file_is_refused(stack, unique_name, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"job_configuration": {"command": "{{ nope }}"}, "variables": {}}')

    result = stack.cli("work-pool", "create", unique_name("bad"), "--type", "process",
                       "--base-job-template", str(path))

    assert result.returncode == 1 and "undeclared variables: nope" in result.stderr
