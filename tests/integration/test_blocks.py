"""Blocks end to end: made and read with the real CLI against a real server, sealed in the
real database file, filled into project files (deployment fields at deploy time, pull steps
at run time where the run executes), loaded by flow code in a run on a real worker, and the
corpus files that use them deployed unchanged once their blocks exist."""
from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from tests.deploy.test_corpus import CORPUS
from tests.integration.test_corpus_cli import write_stub_flows

from .projects import run_deployment, write_files
from .secrets_check import stack_logs

pytestmark = pytest.mark.integration

SECRET_FLOW = '''
import os

from prefect import flow
from prefect.blocks.system import JSON, Secret
from prefect_aws import AwsCredentials


@flow(log_prints=True)
def uses_blocks(secret_name: str, creds_name: str, settings_name: str) -> dict:
    creds = AwsCredentials.load(creds_name)
    print("the secret is", Secret.load(secret_name).get())  # masked in the run's logs
    return {"secret_length": len(Secret.load(secret_name).get()),
            "key_length": len(creds.aws_secret_access_key.get_secret_value()),
            "key_id": creds.aws_access_key_id,
            "settings": JSON.load(settings_name).value,
            "env_from_block": os.environ.get("FROM_BLOCK") == Secret.load(secret_name).get(),
            "where": __file__.rsplit("/", 2)[-2]}
'''


def block(unique_name, prefix: str) -> str:
    return unique_name(prefix).lower()


@pytest.fixture(scope="module")
def pool(stack):
    name = f"blocks-{os.getpid()}"
    stack.cli("work-pool", "create", name, "--type", "process", check=True)
    stack.start_worker(name)
    return name


def database_bytes(stack) -> bytes:
    return b"".join(path.read_bytes() for path in stack.home.glob("flowpool.db*"))


def test_a_secret_made_with_the_cli_is_sealed_at_rest_and_masked_wherever_shown(
        stack, unique_name):
    name, secret = block(unique_name, "token"), f"tok-{os.getpid()}-Zq81"

    created = stack.cli("block", "create", "secret", name, "--value", secret, check=True)
    listed = stack.cli("block", "ls", check=True).stdout
    inspected = stack.cli("block", "inspect", f"secret/{name}", check=True).stdout
    as_json = json.loads(stack.cli("block", "inspect", f"secret/{name}", "-o", "json",
                                   check=True).stdout)

    assert f"Block 'secret/{name}' saved." in created.stdout
    assert name in listed and "********" in listed and "********" in inspected
    assert as_json["data"] == {"value": "********"} and as_json["secret_fields"] == ["value"]
    assert all(secret not in text for text in (created.stdout, listed, inspected))
    assert secret.encode() not in database_bytes(stack)
    assert stat.S_IMODE((stack.home / "secret.key").stat().st_mode) == 0o600
    with stack.client() as api:
        assert api.read_block("secret", name, include_secrets=True).data == {"value": secret}


def test_blocks_are_made_with_typed_fields_replaced_with_overwrite_and_deleted(stack,
                                                                              unique_name):
    name = block(unique_name, "registry")
    args = ("block", "create", "docker-registry-credentials", name, "--field", "username=ci",
            "--field", "registry_url=ghcr.io", "--field", "reauth=true")

    stack.cli(*args, "--field", "password=first", check=True)
    again = stack.cli(*args, "--field", "password=second")
    stack.cli(*args, "--field", "password=second", "--overwrite", check=True)
    with stack.client() as api:
        stored = api.read_block("docker-registry-credentials", name, include_secrets=True)
    types = stack.cli("block", "type", "ls", check=True).stdout
    deleted = stack.cli("block", "delete", f"docker-registry-credentials/{name}", check=True)
    gone = stack.cli("block", "inspect", f"docker-registry-credentials/{name}")

    assert again.returncode == 1 and "already exists" in again.stderr
    assert stored.data == {"username": "ci", "registry_url": "ghcr.io", "reauth": True,
                           "password": "second"}
    assert "password (secret)*" in types and "aws-credentials" in types
    assert "deleted" in deleted.stdout
    assert gone.returncode == 1 and "does not exist" in gone.stderr


@pytest.mark.parametrize("args, message", [
    (("secret", "Bad_Name", "--value", "x"), "NAME: use lowercase letters"),
    (("secrets", "x", "--value", "x"), "TYPE: use one of: secret, json"),
    (("secret", "x"), "data.value: required for secret"),
    (("aws-credentials", "x", "--field", "token=x"), "--field: give k=v with k one of: "),
    (("json", "x", "--value", "{not json"), "--value: give JSON"),
    (("s3-bucket", "x", "--value", "b"), "--value: give its fields with --field"),
])
def test_bad_block_input_exits_non_zero_naming_the_field_and_saves_nothing(stack, args,
                                                                           message):
    result = stack.cli("block", "create", *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    with stack.client() as api:
        assert "x" not in [b.name for b in api.list_blocks()]


def test_flow_code_loads_blocks_and_pull_steps_read_them_where_the_run_executes(
        stack, pool, tmp_path, unique_name):
    names = {kind: block(unique_name, kind) for kind in ("secret", "creds", "dir", "settings")}
    secret, access_key = f"pw-{os.getpid()}-Kx9", f"key-{os.getpid()}-Rr7"
    here = write_files(tmp_path / "here", {"flows.py": SECRET_FLOW})
    there = write_files(tmp_path / "there", {"flows.py": SECRET_FLOW})
    deployment = unique_name("blocks")
    write_files(here, {"flowpool.yaml": f"""
        pull:
        - flowpool.steps.set_working_directory:
            directory: "{{{{ flowpool.blocks.json.{names['dir']} }}}}"
        deployments:
        - name: {deployment}
          entrypoint: flows.py:uses_blocks
          parameters:
            secret_name: {names['secret']}
            creds_name: {names['creds']}
            settings_name: "{{{{ prefect.blocks.json.{names['settings']}.value.name }}}}"
          work_pool:
            name: {pool}
            job_variables:
              env: {{FROM_BLOCK: "{{{{ prefect.blocks.secret.{names['secret']} }}}}"}}
        """})
    stack.cli("block", "create", "secret", names["secret"], "--value", "-", check=True,
              input=secret)
    stack.cli("block", "create", "aws-credentials", names["creds"], "--field",
              "aws_access_key_id=minio", "--field", f"aws_secret_access_key={access_key}",
              check=True)
    stack.cli("block", "create", "json", names["settings"], "--value",
              json.dumps({"name": names["settings"], "retries": 3}), check=True)
    stack.cli("block", "create", "json", names["dir"], "--value", json.dumps(str(here)),
              check=True)

    stack.cli("deploy", "--all", "--no-prompt", cwd=here, check=True)
    first = run_deployment(stack, f"uses-blocks/{deployment}")
    stack.cli("block", "create", "json", names["dir"], "--value", json.dumps(str(there)),
              "--overwrite", check=True)
    second = run_deployment(stack, f"uses-blocks/{deployment}")
    with stack.client() as api:
        deployed = api.read_deployment(f"uses-blocks/{deployment}")
    stack.cli("block", "delete", f"secret/{names['secret']}", check=True)
    without_the_block = run_deployment(stack, f"uses-blocks/{deployment}")

    assert first["state_type"] == "COMPLETED", first
    assert first["result"] == {"secret_length": len(secret), "key_length": len(access_key),
                               "key_id": "minio", "where": "here", "env_from_block": True,
                               "settings": {"name": names["settings"], "retries": 3}}
    assert deployed.job_variables == {"env": {  # left for the worker, which fills it in
        "FROM_BLOCK": f"{{{{ prefect.blocks.secret.{names['secret']} }}}}"}}
    assert without_the_block["state_type"] == "CRASHED"
    assert f"block secret/{names['secret']} does not exist" in without_the_block["state_message"]
    assert second["result"]["where"] == "there"  # the pull step read the block again
    assert deployed.parameters["settings_name"] == names["settings"]  # filled in at deploy
    assert deployed.pull_steps == [{"flowpool.steps.set_working_directory": {
        "directory": f"{{{{ flowpool.blocks.json.{names['dir']} }}}}"}}]  # left for run time
    assert secret not in stack_logs(stack) and access_key not in stack_logs(stack)
    logs = stack.cli("flow-run", "logs", first["id"], check=True).stdout
    assert "the secret is ********" in logs and secret not in logs


# The blocks each file names, made through the API (the CLI is tested above).
CORPUS_BLOCKS = {
    "014": [("secret", name, {"value": f"{name}-value"}) for name in (
        "tpuf-token", "cloudflare-api-token", "anthropic-api-key", "turso-url", "turso-token")],
    "022": [("github-credentials", "prefect-modal", {"token": "ghp_corpus_token"})],
}
CORPUS_POOLS = {"014": ("kubernetes-pool", "kubernetes"), "022": ("pref-modal-pool", "process")}


@pytest.fixture
def corpus_project(tmp_path):
    def copy(number: str):
        project = tmp_path / number
        project.mkdir()
        shutil.copy(next(CORPUS.glob(f"{number}-*.yaml")), project / "prefect.yaml")
        write_stub_flows(project)
        return project
    return copy


@pytest.mark.parametrize("number", sorted(CORPUS_BLOCKS))
def test_a_corpus_file_using_blocks_names_the_missing_block_then_deploys_once_it_exists(
        stack, corpus_project, number):
    project = corpus_project(number)
    pool, kind = CORPUS_POOLS[number]
    if stack.cli("work-pool", "inspect", pool).returncode != 0:
        stack.cli("work-pool", "create", pool, "--type", kind, check=True)
    first_block = CORPUS_BLOCKS[number][0]

    missing = stack.cli("deploy", "--all", "--no-prompt", cwd=project)
    with stack.client() as api:
        for kind, name, data in CORPUS_BLOCKS[number]:
            api.set_block(kind, name, data)
    deployed = stack.cli("deploy", "--all", "--no-prompt", cwd=project)

    assert missing.returncode == 1
    assert f"block {first_block[0]}/{first_block[1]} does not exist: create it with " \
           f"`flowpool block create {first_block[0]} {first_block[1]}" in missing.stderr
    assert deployed.returncode == 0, deployed.stderr
    with stack.client() as api:
        if number == "014":
            atlas = api.read_deployment("rebuild-atlas/rebuild-atlas")
            assert atlas.job_variables["env"]["TURSO_URL"] == \
                "{{ prefect.blocks.secret.turso-url }}"  # the worker fills it in
        else:
            modal = api.read_deployment("main/prefect-modal-example")
            assert modal.pull_steps[0]["prefect.deployments.steps.git_clone"]["credentials"] \
                == "{{ prefect.blocks.github-credentials.prefect-modal }}"
