"""The step runner: file order, outputs as `{{ id.key }}`, environment and variables,
`requires`, and the errors a user gets for a step that cannot run."""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from orchestrator.deploy import run_pull_steps, run_steps, template_pull_steps
from orchestrator.errors import InvalidInput
from orchestrator.steps import StepFailed

PY = sys.executable


def shell(script: str, **more) -> dict:
    return {"flowpool.steps.run_shell_script": {"script": script, "stream_output": False, **more}}


def test_each_step_sees_the_outputs_of_the_steps_before_it():
    outputs = run_steps([
        {"prefect.deployments.steps.run_shell_script": {"id": "first", "script": "echo hello",
                                                        "stream_output": False}},
        shell("echo {{ first.stdout }} world", id="second"),
    ])
    assert outputs["second"]["stdout"] == "hello world"


def test_environment_variables_and_variables_fill_placeholders():
    variables = {"who": "ada", "greeting": "hi", "extra_env": {"LANGUAGE_OF_TEST": "fr"}}
    outputs = run_steps([shell(
        f"{PY} -c \"import os; print(os.environ['LANGUAGE_OF_TEST'])\"\n"
        "echo {{ prefect.variables.greeting }} {{ flowpool.variables.who }} {{ $SHELL_OF_TEST }}",
        id="s", env="{{ flowpool.variables.extra_env }}")],  # a whole placeholder keeps its type
        variables=variables.__getitem__, environ={"SHELL_OF_TEST": "zsh", "PATH": "/usr/bin:/bin"})
    assert outputs["s"]["stdout"] == "fr\nhi ada zsh"


@pytest.mark.parametrize("placeholder, message", [
    ("{{ flowpool.variables.nope }}", "pull[0].script: variable nope is not set"),
    ("{{ $NOT_SET_ANYWHERE }}", "pull[0].script: environment variable NOT_SET_ANYWHERE is not set"),
    ("{{ ghost.stdout }}", "no earlier step has id 'ghost'"),
    ("{{ prefect.blocks.secret.token }}", "pull[0].script: block secret/token does not exist: "
                                          "create it with `flowpool block create secret token"),
    ("{{ flowpool.blocks.json.settings.missing }}", "block json/settings has no field 'missing' "
                                                    "(its fields: value)"),
])
def test_a_placeholder_that_cannot_be_filled_in_names_the_field(placeholder, message):
    with pytest.raises(InvalidInput) as failure:
        run_steps([shell(f"echo {placeholder}")], variables={}.__getitem__,
                  blocks=blocks_from({"json/settings": {"value": {"a": 1}}}), environ={})
    assert message in str(failure.value)


def blocks_from(stored: dict[str, dict]):
    """A block resolver over `stored` ({"TYPE/NAME": data}), as ServerBlocks over the API."""
    from orchestrator.blocks import BlockReference, block_value
    from orchestrator.errors import NotFound

    def resolve(text: str):
        reference = BlockReference.parse(text)
        data = stored.get(f"{reference.type}/{reference.name}")
        if data is None:
            raise NotFound(f"block {reference.type}/{reference.name} does not exist")
        return block_value(data, reference)
    return resolve


def test_blocks_fill_placeholders_a_lone_value_field_standing_for_itself():
    blocks = blocks_from({"secret/token": {"value": "s3cr3t"},
                          "aws-credentials/minio": {"aws_access_key_id": "minio",
                                                    "aws_secret_access_key": "pw"}})
    outputs = run_steps([
        shell("echo {{ prefect.blocks.secret.token }} "
              "{{ flowpool.blocks.aws-credentials.minio.aws_access_key_id }}", id="s"),
        shell("echo 'creds={{ prefect.blocks.aws-credentials.minio }}'", id="t")],
        blocks=blocks, environ={"PATH": "/usr/bin:/bin"})
    assert outputs["s"]["stdout"] == "s3cr3t minio"
    assert json.loads(outputs["t"]["stdout"].removeprefix("creds=")) == {
        "aws_access_key_id": "minio", "aws_secret_access_key": "pw"}


def test_a_missing_output_key_lists_the_outputs_there_are():
    with pytest.raises(InvalidInput, match="step 'a' has no output 'stdin' \\(its outputs: "
                                           "stderr, stdout\\)"):
        run_steps([shell("echo x", id="a"), shell("echo {{ a.stdin }}")])


def test_pull_steps_get_build_outputs_at_deploy_time_and_the_rest_at_run_time():
    pull = [
        {"flowpool.steps.git_clone": {"id": "clone", "repository": "{{ push.url }}",
                                      "access_token": "{{ flowpool.variables.token }}"}},
        {"flowpool.steps.set_working_directory": {
            "directory": "{{ clone.directory }}/{{ $SUBDIR }}"}},
    ]
    templated = template_pull_steps(pull, {"push": {"url": "https://git.example/repo.git"}})
    assert templated == [
        {"flowpool.steps.git_clone": {"repository": "https://git.example/repo.git",
                                      "access_token": "{{ flowpool.variables.token }}",
                                      "id": "clone"}},
        {"flowpool.steps.set_working_directory": {
            "directory": "{{ clone.directory }}/{{ $SUBDIR }}"}},
    ]


def test_pull_steps_move_the_run_into_the_directory_they_choose(tmp_path, in_directory):
    in_directory(tmp_path / "start")
    (tmp_path / "code").mkdir()
    run_pull_steps([{"prefect.deployments.steps.set_working_directory":
                     {"directory": str(tmp_path / "code")}}])
    assert Path.cwd() == tmp_path / "code"


def test_requires_installs_the_package_of_a_step_that_is_not_installed(tmp_path):
    wheel = build_wheel(tmp_path, "flowpool_test_greeting_step", """
        def greet(name):
            return {"greeting": "hello " + name}
    """)
    try:
        outputs = run_steps([{"flowpool_test_greeting_step.greet": {
            "id": "g", "name": "ada", "requires": str(wheel)}}])
        assert outputs["g"] == {"greeting": "hello ada"}
    finally:
        subprocess.run([PY, "-m", "pip", "uninstall", "-y", "flowpool-test-greeting-step"],
                       capture_output=True)


def test_an_unknown_step_names_itself_and_the_package_that_would_provide_it():
    with pytest.raises(InvalidInput) as failure:
        run_steps([{"acme_deploy_tools.steps.announce": {"channel": "ops"}}], section="build")
    text = str(failure.value)
    assert "build[0]: step acme_deploy_tools.steps.announce is not built in" in text
    assert "pip install acme-deploy-tools" in text and "requires: acme-deploy-tools" in text


def test_an_unmapped_prefect_step_says_flowpool_does_not_provide_it():
    with pytest.raises(InvalidInput, match="it is a step of prefect-kubernetes, which flowpool "
                                           "does not provide; flowpool's built-in steps are"):
        run_steps([{"prefect_kubernetes.deployments.steps.apply_manifest": {}}])


def test_a_custom_step_must_return_a_dict_and_its_errors_name_it(tmp_path, monkeypatch):
    (tmp_path / "team_steps.py").write_text(textwrap.dedent("""
        def returns_text():
            return "not a dict"

        def explodes():
            raise RuntimeError("disk full")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StepFailed, match="pull\\[0\\] \\(team_steps.returns_text\\) returned "
                                         "str, not a dict"):
        run_steps([{"team_steps.returns_text": None}])
    with pytest.raises(StepFailed, match="pull\\[1\\] \\(team_steps.explodes\\) failed: "
                                         "RuntimeError: disk full"):
        run_steps([shell("true"), {"team_steps.explodes": {}}])


def test_a_step_module_that_fails_to_import_is_named(tmp_path, monkeypatch):
    (tmp_path / "broken_steps.py").write_text("import a_dependency_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InvalidInput, match="pull\\[0\\]: importing broken_steps failed: "
                                           "ModuleNotFoundError: No module named "
                                           "'a_dependency_that_is_not_installed'"):
        run_steps([{"broken_steps.prepare": {}}])


def test_wrong_arguments_to_a_built_in_step_are_named_with_what_it_takes():
    with pytest.raises(InvalidInput, match="pull\\[0\\]: got an unexpected keyword argument "
                                           "'repo_url'.*git_clone takes: repository, branch"):
        run_steps([{"prefect.deployments.steps.git_clone": {"repository": "x", "repo_url": "x"}}])
    with pytest.raises(InvalidInput, match="missing a required argument: 'repository'"):
        run_steps([{"prefect.deployments.steps.git_clone": {"branch": "main"}}])


def build_wheel(directory: Path, module: str, source: str) -> Path:
    """A minimal wheel of one module, built by hand so installing it needs no network."""
    distribution = module.replace("_", "-")
    info = f"{module}-0.1.dist-info"
    files = {f"{module}.py": textwrap.dedent(source),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n"}
    record = [f"{name},sha256={_digest(text)},{len(text.encode())}" for name, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    path = directory / f"{module}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
