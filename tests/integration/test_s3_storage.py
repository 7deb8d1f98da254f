"""Code shipped through S3 end to end: the corpus files 023 and 024, unchanged, deployed with
their blocks made by the real CLI (aws-credentials whose `aws_client_parameters.endpoint_url`
points at a real S3-compatible server on loopback, as MinIO users set it): the push step
uploads the project into the bucket, and a run on a real process worker pulls it back from
the bucket and completes. The secret key shows nowhere. Without s3fs, deploy stops at the
push step and names the extra to install."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.deploy.test_corpus import CORPUS

from .projects import is_registered, run_deployment, run_logs, write_files
from .s3_server import REGION, LocalS3
from .secrets_check import stack_logs

pytestmark = pytest.mark.integration

ACCESS_KEY = "minio-access"
SECRET_KEY = f"minio-secret-{os.getpid()}-Qw7"

FLOW = '''
from prefect import flow


@flow(log_prints=True)
def {function}():
    print("{function} ran from code pulled out of the bucket")
'''

# Each file's blocks, bucket, folder, the pool it names, and its flows by file.
CORPUS_023 = dict(number="023", bucket="3commaprefectflows", folder="deployments",
                  pool="default-agent-pool", credentials="s3-storage-credentials-prefect",
                  flows={"01_save_wallet_valuations.py": "get_wallet_valuaions",
                         "02_save_wallet_snapshots.py": "get_wallet_snapshots",
                         "05_send_fund_prices_bbg.py": "send_fund_prices_email",
                         "08_save_benchmark_values.py": "save_benchmark_values"},
                  deployment="get-wallet-valuaions/01 Deploy Wallet Valuations")
CORPUS_024 = dict(number="024", bucket="prefect-flows", folder="ntfy-flow",
                  pool="default-docker-pool", credentials="minio-credentials",
                  flows={"ntfy_flow.py": "ntfy_default"},
                  deployment="ntfy-default/ntfy-default-deployment")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = LocalS3(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bucket_client(s3):
    return s3.client(ACCESS_KEY, SECRET_KEY)


@pytest.fixture(scope="module")
def blocks(stack, s3):
    """The blocks both files name, made with the CLI; 024 reads its bucket from an s3-bucket
    block."""
    client_parameters = json.dumps({"endpoint_url": s3.url})
    for name in (CORPUS_023["credentials"], CORPUS_024["credentials"]):
        stack.cli("block", "create", "aws-credentials", name, "--overwrite",
                  "--field", f"aws_access_key_id={ACCESS_KEY}",
                  "--field", f"aws_secret_access_key={SECRET_KEY}",
                  "--field", f"region_name={REGION}",
                  "--field", f"aws_client_parameters={client_parameters}", check=True)
    stack.cli("block", "create", "s3-bucket", "minio-prefect-flows", "--overwrite",
              "--field", f"bucket_name={CORPUS_024['bucket']}",
              "--field", f"credentials={CORPUS_024['credentials']}", check=True)


@pytest.fixture(scope="module")
def pools(stack):
    """The pools the files name, as process pools with a worker each: the runs execute in
    this machine's environment, which has s3fs (024's pool would be a Docker one in its
    author's setup; the file names only the pool, not its type)."""
    workers = []
    for pool in (CORPUS_023["pool"], CORPUS_024["pool"]):
        stack.cli("work-pool", "create", pool, "--type", "process", check=True)
        workers.append(stack.start_worker(pool))
    yield
    for worker in workers:
        stack.stop_worker(worker)


def corpus_project(tmp_path, corpus: dict):
    """The corpus file, unchanged, beside flows at its entrypoints (its code is not in the
    corpus); 023's pull installs requirements.txt, so it gets one (already satisfied here)."""
    project = tmp_path / corpus["number"]
    project.mkdir()
    shutil.copy(next(CORPUS.glob(f"{corpus['number']}-*.yaml")), project / "prefect.yaml")
    write_files(project, {file: FLOW.format(function=function)
                          for file, function in corpus["flows"].items()})
    write_files(project, {"requirements.txt": "pyyaml\n"})
    return project


def objects(bucket_client, bucket: str, folder: str) -> set[str]:
    listed = bucket_client.list_objects_v2(Bucket=bucket, Prefix=f"{folder}/")
    return {item["Key"] for item in listed.get("Contents", [])}


def test_without_s3fs_deploy_stops_at_the_push_naming_the_extra_to_install(
        stack, blocks, pools, tmp_path):
    """s3fs shadowed by a module that fails to import, as when the extra is not installed."""
    hidden = write_files(tmp_path / "hide-s3fs", {
        "s3fs.py": "raise ImportError(\"No module named 's3fs'\")\n"})
    project = corpus_project(tmp_path, CORPUS_024)
    if is_registered(stack, CORPUS_024["deployment"]):  # from an earlier test of the session
        stack.cli("deployment", "delete", CORPUS_024["deployment"], check=True)

    pushed = stack.cli("deploy", "--all", "--no-prompt", cwd=project,
                       env={"PYTHONPATH": str(hidden)})

    assert pushed.returncode == 1
    assert "push_to_s3" in pushed.stderr and "pip install 'flowpool[s3]'" in pushed.stderr
    assert SECRET_KEY not in pushed.stderr + pushed.stdout
    assert not is_registered(stack, CORPUS_024["deployment"])


@pytest.mark.parametrize("corpus", [CORPUS_023, CORPUS_024], ids=["023", "024"])
def test_a_corpus_file_pushes_its_code_to_s3_and_a_run_pulls_it_back_and_completes(
        stack, s3, bucket_client, blocks, pools, tmp_path, corpus):
    project = corpus_project(tmp_path, corpus)
    bucket_client.create_bucket(Bucket=corpus["bucket"])

    deployed = stack.cli("deploy", "--all", "--no-prompt", cwd=project, check=True)
    uploaded = objects(bucket_client, corpus["bucket"], corpus["folder"])
    shutil.rmtree(project)  # the run can only get the code from the bucket
    run = run_deployment(stack, corpus["deployment"])
    logs = run_logs(stack, run["id"])
    inspected = stack.cli("deployment", "inspect", corpus["deployment"], check=True).stdout
    as_json = stack.cli("deployment", "inspect", corpus["deployment"], "--output", "json",
                        check=True).stdout
    block = stack.cli("block", "inspect", f"aws-credentials/{corpus['credentials']}",
                      check=True).stdout

    assert uploaded == {f"{corpus['folder']}/{name}"
                        for name in ("prefect.yaml", "requirements.txt", *corpus["flows"])}
    assert run["state_type"] == "COMPLETED", run
    function = corpus["deployment"].split("/")[0].replace("-", "_")
    assert f"{function} ran from code pulled out of the bucket" in logs
    assert f"prefect.blocks.aws-credentials.{corpus['credentials']}" in as_json  # read at run
    assert "********" in block and ACCESS_KEY in block
    for text in (deployed.stdout, deployed.stderr, logs, inspected, as_json, block,
                 stack_logs(stack)):
        assert SECRET_KEY not in text
