"""`flowpool init`: recipes as data, the file written from them, the recipe guessed."""
from __future__ import annotations

import pytest

from orchestrator.deploy import (RECIPES, DeploymentOverrides, Selection, git_checkout,
                                 git_clone_pull_steps, guess_recipe, load_project, plan_deploy,
                                 write_project_file)
from orchestrator.errors import AlreadyExists, InvalidInput

from .conftest import git


def test_there_are_five_recipes_each_with_a_one_line_summary():
    assert list(RECIPES) == ["local", "git", "docker", "docker-git", "storage"]
    assert all(recipe.summary and "\n" not in recipe.summary for recipe in RECIPES.values())


@pytest.mark.parametrize("recipe, fields", [
    ("local", {}),
    ("git", {"repository": "https://example.com/shop.git", "branch": "main"}),
    ("docker", {"image_name": "ghcr.io/me/shop"}),
    ("docker-git", {"image_name": "ghcr.io/me/shop", "repository": "https://example.com/s.git",
                    "branch": "dev"}),
    ("storage", {"url": "s3://bucket/shop"}),
])
def test_each_recipe_writes_a_file_that_plans(tmp_path, recipe, fields):
    path = write_project_file(tmp_path, recipe, fields)
    project = load_project(tmp_path)
    assert project.path == path and project.warnings == []
    plan = plan_deploy(project, Selection(names=("demo",), entrypoint="flows.py:main"),
                       DeploymentOverrides(work_pool_name="pool"), import_flows=False)
    assert plan.deployments[0].full_name == "main/demo"


def test_fields_and_what_the_directory_tells_fill_the_recipe(tmp_path):
    write_project_file(tmp_path, "docker", {"image_name": "ghcr.io/me/shop", "tag": "v1"})
    spec = load_project(tmp_path).spec
    assert spec.name == tmp_path.name
    assert spec.build == [{"flowpool.steps.build_docker_image": {
        "id": "build_image", "image_name": "ghcr.io/me/shop", "tag": "v1", "dockerfile": "auto"}}]
    assert spec.push == [{"flowpool.steps.push_docker_image": {
        "image_name": "{{ build_image.image_name }}", "tag": "{{ build_image.tag }}"}}]
    assert spec.pull == [{"flowpool.steps.set_working_directory": {
        "directory": f"/opt/flowpool/{tmp_path.name}"}}]


def test_a_git_checkout_with_a_remote_guesses_git_without_credentials_in_the_file(tmp_path):
    git("init", "--quiet", "--initial-branch=trunk", str(tmp_path))
    assert guess_recipe(tmp_path) == "local"  # a checkout without a remote
    git("remote", "add", "origin", "https://me:secret-token@git.example.com/me/shop.git",
        cwd=tmp_path)
    assert guess_recipe(tmp_path) == "git"

    write_project_file(tmp_path)
    text = (tmp_path / "flowpool.yaml").read_text()
    assert "secret-token" not in text
    expected = [{"flowpool.steps.git_clone": {
        "repository": "https://git.example.com/me/shop.git", "branch": "trunk"}}]
    assert load_project(tmp_path).spec.pull == expected
    assert git_clone_pull_steps(git_checkout(tmp_path)) == expected  # what the wizard adds


def test_missing_and_unknown_fields_are_named_and_nothing_is_written(tmp_path):
    with pytest.raises(InvalidInput) as failure:
        write_project_file(tmp_path, "docker")
    assert str(failure.value.errors[0]).startswith("--field image_name: required: the image")
    with pytest.raises(InvalidInput, match="recipe storage has no field bucket"):
        write_project_file(tmp_path, "storage", {"bucket": "b", "url": "s3://b/f"})
    with pytest.raises(InvalidInput, match="unknown recipe 'helm'"):
        write_project_file(tmp_path, "helm")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_replacing_it_is_asked_for(tmp_path):
    (tmp_path / "flowpool.yaml").write_text("# mine\n")
    with pytest.raises(AlreadyExists, match="flowpool.yaml exists already"):
        write_project_file(tmp_path, "local")
    assert (tmp_path / "flowpool.yaml").read_text() == "# mine\n"
    write_project_file(tmp_path, "local", overwrite=True)
    assert load_project(tmp_path).spec.pull[0]["flowpool.steps.set_working_directory"] == {
        "directory": str(tmp_path.resolve())}


def test_prefect_2_10_words_list_the_recipes_and_init_a_project(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from orchestrator.cli.main import app

    runner = CliRunner()
    listed = [runner.invoke(app, words).output for words in (
        ["recipe", "ls"], ["project", "recipe", "ls"], ["init", "--list"])]
    monkeypatch.chdir(tmp_path)
    initialized = runner.invoke(app, ["project", "init", "--recipe", "local"])
    no_image = runner.invoke(app, ["project", "init", "--recipe", "docker", "--force"])

    assert listed[0] == listed[1] == listed[2] and "docker-git" in listed[0]
    assert initialized.exit_code == 0 and (tmp_path / "flowpool.yaml").exists()
    assert no_image.exit_code == 1  # no terminal to ask on: the field is named
    assert "--field image_name: required" in str(no_image.exception)
