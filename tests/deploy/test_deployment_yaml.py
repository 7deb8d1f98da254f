"""Prefect 2.10's two files: `prefect.yaml` (or flowpool.yaml) for build, push and pull, and
`deployment.yaml` for the deployments, merged as `deploy` reads them; no file at all says so."""
from __future__ import annotations

import textwrap

import pytest

from orchestrator.deploy import Selection, load_project, plan_deploy
from orchestrator.deploy.recipes import DEPLOYMENT_SKELETON
from orchestrator.errors import InvalidInput

from ..prefect_tutorial import DEPLOYMENT_YAML, tutorial_files

PREFECT_YAML = tutorial_files("/srv/tutorial")["prefect.yaml"]  # pulled into /srv/tutorial
# What `prefect project init` wrote in 2.10 (and `flowpool project init` writes): one blank
# entry, every field null.
SKELETON = DEPLOYMENT_SKELETON
FLOW = "from orchestrator import flow\n\n@flow\ndef call_api(url: str = 'x'):\n    return url\n"


def test_the_skeleton_deploys_a_flow_named_on_the_command_line(project_dir):
    root = project_dir(tutorial_files("/srv/tutorial"))
    project = load_project(root)
    plan = plan_deploy(project, Selection(("my-first-deployment",),
                                          entrypoint="./api_flow.py:call_api"),
                       _pool("local-work"), root=root)

    assert [p.full_name for p in plan.deployments] == ["call-api/my-first-deployment"]
    fields = plan.deployments[0].registration_fields()
    assert fields["work_pool_name"] == "local-work"
    assert fields["pull_steps"] == [{"prefect.projects.steps.set_working_directory": {
        "directory": "/srv/tutorial"}}]  # the pull section of prefect.yaml
    assert any("blank template entry" in str(w) for w in plan.warnings)


def _pool(name: str):
    from orchestrator.deploy import DeploymentOverrides

    return DeploymentOverrides(work_pool_name=name)


def test_deployment_yaml_adds_its_deployments_and_replaces_one_of_the_same_name(project_dir):
    root = project_dir({
        "prefect.yaml": PREFECT_YAML + """
            deployments:
            - {name: kept, entrypoint: a.py:a, work_pool: {name: p}}
            - {name: shared, entrypoint: old.py:old, work_pool: {name: p}}
        """.replace("\n        ", "\n"),
        "deployment.yaml": """
            deployments:
            - {name: shared, entrypoint: new.py:new, work_pool: {name: p}}
            - {name: added, entrypoint: b.py:b, work_pool: {name: p}}
        """})
    spec = load_project(root).spec
    assert [(d.name, d.entrypoint) for d in spec.deployments] == [
        ("kept", "a.py:a"), ("shared", "new.py:new"), ("added", "b.py:b")]
    assert spec.pull is not None


def test_one_deployment_written_at_the_top_of_deployment_yaml_is_read_alone(project_dir):
    root = project_dir({"deployment.yaml": """
        name: solo
        entrypoint: flows.py:solo
        work_pool:
          name: p
    """})
    project = load_project(root)
    assert project.path.name == "deployment.yaml"
    assert [d.name for d in project.spec.deployments] == ["solo"]


def test_an_error_in_deployment_yaml_names_its_line(project_dir):
    root = project_dir({"prefect.yaml": PREFECT_YAML, "deployment.yaml": """
        deployments:
        - name: ok
          entrypoint: flows.py:f
          work_pool: {name: p}
          tags: 5
    """})
    with pytest.raises(InvalidInput) as failure:
        load_project(root)
    assert "deployments[0].tags" in str(failure.value)
    assert "(line 6)" in str(failure.value)


def test_steps_in_deployment_yaml_are_refused_naming_where_they_go(project_dir):
    root = project_dir({"deployment.yaml": "pull: []\ndeployments: []\n"})
    with pytest.raises(InvalidInput, match="build, push and pull go in prefect.yaml"):
        load_project(root)


def test_an_explicit_file_leaves_deployment_yaml_alone(project_dir):
    root = project_dir({"deploy.yaml": "deployments: []\n", "deployment.yaml": DEPLOYMENT_YAML})
    from pathlib import Path

    assert load_project(root, Path("deploy.yaml")).spec.deployments == []


@pytest.mark.parametrize("selection", [Selection(all=True), Selection(("etl",))],
                         ids=["--all", "--name"])
def test_without_any_project_file_deploy_says_none_was_found(tmp_path, selection):
    with pytest.raises(InvalidInput) as failure:
        plan_deploy(None, selection, root=tmp_path)
    assert f"no project file found in {tmp_path}" in str(failure.value)
    assert "flowpool project init" in str(failure.value)


def test_project_init_writes_the_skeleton_that_deploy_then_merges(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from orchestrator.cli.main import app

    (tmp_path / "api_flow.py").write_text(FLOW)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["project", "init", "--recipe", "local"])

    assert result.exit_code == 0, result.output
    assert "Wrote deployment.yaml" in result.output
    project = load_project(tmp_path)
    assert project.deployments_from == (tmp_path / "deployment.yaml").resolve()
    plan = plan_deploy(project, Selection(("my-first-deployment",),
                                          entrypoint="./api_flow.py:call_api"),
                       _pool("local-work"), root=tmp_path)
    assert [p.full_name for p in plan.deployments] == ["call-api/my-first-deployment"]
    assert plan.deployments[0].registration_fields()["pull_steps"] == [
        {"flowpool.steps.set_working_directory": {"directory": str(tmp_path.resolve())}}]


def test_the_skeleton_is_the_one_of_prefects_tutorial():
    assert DEPLOYMENT_SKELETON == textwrap.dedent(DEPLOYMENT_YAML).lstrip()


def test_project_init_keeps_a_deployment_yaml_there_is(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from orchestrator.cli.main import app

    (tmp_path / "deployment.yaml").write_text("deployments: []  # mine\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["project", "init", "--recipe", "local"])
    plain = CliRunner().invoke(app, ["init", "--recipe", "local", "--force"])

    assert result.exit_code == 0 and plain.exit_code == 0
    assert "Kept the deployment.yaml" in result.output
    assert "deployment.yaml" not in plain.output
    assert (tmp_path / "deployment.yaml").read_text() == "deployments: []  # mine\n"
