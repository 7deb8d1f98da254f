"""The built-in steps other than git_clone, run for real: commands, pip, fsspec, Docker."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.steps import (StepFailed, build_docker_image, pip_install_requirements,
                                pull_from_remote_storage, push_docker_image, push_to_remote_storage,
                                run_shell_script, set_working_directory)
from orchestrator.steps.cloud_storage import s3_options
from orchestrator.steps.docker_images import auto_dockerfile
from orchestrator.steps.names import BUILTINS, builtin_step, providing_package


def test_run_shell_script_runs_each_line_and_outputs_stdout_and_stderr(tmp_path):
    script = f"""
        {sys.executable} -c "print('one')"
        {sys.executable} -c "import sys; print('two'); print('oops', file=sys.stderr)"
    """
    outputs = run_shell_script(script, stream_output=False)
    assert outputs == {"stdout": "one\ntwo", "stderr": "oops"}


def test_run_shell_script_uses_directory_env_and_expands_variables(tmp_path):
    outputs = run_shell_script(
        f'{sys.executable} -c "import os; print(os.getcwd(), os.environ[\'GREETING\'])"\n'
        "echo $GREETING ${GREETING}!", directory=str(tmp_path), env={"GREETING": "hi"},
        stream_output=False, expand_env_vars=True)
    assert outputs["stdout"] == f"{tmp_path} hi\nhi hi!"


def test_run_shell_script_stops_at_the_first_failing_command(tmp_path):
    marker = tmp_path / "after"
    script = f"{sys.executable} -c \"import sys; sys.exit('bad input')\"\ntouch {marker}"
    with pytest.raises(StepFailed, match="exited with code 1: bad input"):
        run_shell_script(script, stream_output=False)
    assert not marker.exists()


def test_run_shell_script_streams_output_when_asked(capfd):
    run_shell_script("echo streamed", stream_output=True)
    assert "streamed" in capfd.readouterr().out


def test_set_working_directory_moves_the_process(tmp_path, in_directory):
    in_directory(tmp_path / "start")
    assert set_working_directory(str(tmp_path)) == {"directory": str(tmp_path)}
    assert Path.cwd() == tmp_path
    with pytest.raises(StepFailed, match="does not exist here"):
        set_working_directory(str(tmp_path / "nowhere"))


def test_pip_install_requirements_installs_from_the_directory(tmp_path):
    (tmp_path / "requirements.txt").write_text("# nothing to install yet\n")
    outputs = pip_install_requirements(str(tmp_path), stream_output=False)
    assert set(outputs) == {"stdout", "stderr"}
    with pytest.raises(StepFailed, match="requirements-dev.txt does not exist"):
        pip_install_requirements(str(tmp_path), "requirements-dev.txt")


def test_code_goes_through_file_storage_and_comes_back(tmp_path, in_directory):
    project = tmp_path / "project"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "hello.py").write_text("print('hi')")
    (project / "secret.env").write_text("KEY=1")
    (project / ".flowpoolignore").write_text("# local only\n*.env\n")
    storage = (tmp_path / "bucket" / "code").as_uri()

    assert push_to_remote_storage(storage, directory=str(project))["url"] == storage
    run = in_directory(tmp_path / "run")
    assert pull_from_remote_storage(storage) == {"url": storage, "directory": str(run)}

    assert (run / "flows" / "hello.py").read_text() == "print('hi')"
    assert not (run / "secret.env").exists()


def test_pulling_from_an_empty_location_is_an_error(tmp_path, in_directory):
    in_directory(tmp_path / "run")
    with pytest.raises(StepFailed, match="there are no files at"):
        pull_from_remote_storage((tmp_path / "empty").as_uri())


HIDE_S3FS = """
import sys
sys.modules["s3fs"] = None  # as if the s3 extra were not installed: importing it fails
from orchestrator.steps import StepFailed
from orchestrator.steps.cloud_storage import {step}
try:
    {step}("bucket", "folder")
except StepFailed as exc:
    print(exc)
"""


@pytest.mark.parametrize("step", ["push_to_s3", "pull_from_s3"])
def test_without_s3fs_the_s3_steps_name_the_extra_to_install(tmp_path, step):
    """A fresh interpreter, so no s3 filesystem class is cached from an earlier import."""
    result = subprocess.run([sys.executable, "-c", HIDE_S3FS.format(step=step)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "cannot reach s3://bucket/folder" in result.stdout
    assert "pip install 'flowpool[s3]'" in result.stdout


def test_other_protocols_without_their_package_say_to_install_it(tmp_path, in_directory):
    if _installed("gcsfs"):
        pytest.skip("gcsfs is installed here")
    in_directory(tmp_path / "run")
    with pytest.raises(StepFailed, match="gcsfs.*Install the fsspec package for this protocol"):
        pull_from_remote_storage("gs://bucket/folder")


def test_aws_credentials_become_s3fs_options():
    options = s3_options({"aws_access_key_id": "AK", "aws_secret_access_key": "SK",
                          "region_name": "eu-west-1"}, {"endpoint_url": "http://minio:9000"})
    assert options == {"key": "AK", "secret": "SK", "client_kwargs": {
        "endpoint_url": "http://minio:9000", "region_name": "eu-west-1"}}


def test_an_aws_credentials_block_s_client_parameters_reach_s3fs():
    block = {"aws_access_key_id": "minio", "aws_secret_access_key": "minio123",
             "aws_client_parameters": {"endpoint_url": "http://minio:9000", "verify": False}}
    assert s3_options(block, None) == {"key": "minio", "secret": "minio123", "client_kwargs": {
        "endpoint_url": "http://minio:9000", "verify": False}}


def test_docker_steps_say_when_no_docker_engine_answers(tmp_path, monkeypatch, in_directory):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-docker.sock'}")
    in_directory(tmp_path / "project")
    with pytest.raises(StepFailed, match="no Docker engine answers at unix://"):
        build_docker_image("example/flows", tag="1")
    with pytest.raises(StepFailed, match="no Docker engine answers"):
        push_docker_image("example/flows", tag="1")


def test_the_auto_dockerfile_copies_the_project_and_installs_its_requirements():
    text = auto_dockerfile("shop", "python:3.11-slim", has_requirements=True)
    assert text.splitlines() == ["FROM python:3.11-slim", "COPY . /opt/flowpool/shop/",
                                 "WORKDIR /opt/flowpool/shop",
                                 "RUN python -m pip install --no-cache-dir -r requirements.txt"]


@pytest.mark.parametrize("name, builtin", [
    ("prefect.deployments.steps.git_clone", "git_clone"),
    ("prefect.projects.steps.git_clone_project", "git_clone"),
    ("prefect.deployments.steps.utility.run_shell_script", "run_shell_script"),
    ("prefect.projects.steps.pip_install_requirements", "pip_install_requirements"),
    ("prefect_docker.deployments.steps.build_docker_image", "build_docker_image"),
    ("prefect_docker.deployments.steps.push_docker_image", "push_docker_image"),
    ("prefect_aws.deployments.steps.push_to_s3", "push_to_s3"),
    ("prefect_gcp.deployments.steps.pull_from_gcs", "pull_from_gcs"),
    ("prefect_azure.deployments.steps.pull_from_azure_blob_storage",
     "pull_from_azure_blob_storage"),
    ("flowpool.steps.set_working_directory", "set_working_directory"),
    ("orchestrator.steps.pull_from_remote_storage", "pull_from_remote_storage"),
])
def test_prefect_step_names_map_to_the_built_in_steps(name, builtin):
    assert builtin_step(name) is BUILTINS[builtin]


def test_other_names_are_not_built_in_and_name_their_package():
    assert builtin_step("prefect.deployments.steps.pull_with_block") is None
    assert builtin_step("my_company.steps.notify") is None
    assert providing_package("prefect_kubernetes.deployments.steps.x") == "prefect-kubernetes"
    assert providing_package("my_company.steps.notify") == "my-company"


def _installed(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None

