"""The deploy plan: every deployment as it would be registered and the steps that would run,
made without running a step or calling a server; and every problem, at once, with its line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.deploy import (DeploymentOverrides, Selection, format_plan, load_project,
                                 missing_fields, plan_as_dict, plan_deploy)
from orchestrator.errors import EntrypointError, InvalidInput
from orchestrator.models import DeploymentCreate

FLOWS = """
    from orchestrator import flow

    @flow(name="repo-info")
    def get_repo_info(repo: str, limit: int = 5):
        \"\"\"Fetch facts about a repository.\"\"\"
        return repo
"""


def plan_file(project_dir, project_file: str, selection=Selection(all=True), **options):
    root = project_dir({"flowpool.yaml": project_file, "flows/repo.py": FLOWS})
    return plan_deploy(load_project(root), selection, **options)


def problems(failure) -> dict[str, str]:
    return {error.field: error.message for error in failure.value.errors}


def test_the_plan_shows_the_deployment_as_it_would_be_registered(project_dir):
    plan = plan_file(project_dir, """
        deployments:
          - name: nightly
            entrypoint: flows/repo.py:get_repo_info
            parameters: {repo: flowpool}
            tags: [etl]
            work_pool: {name: local, work_queue_name: slow, job_variables: {env: {A: "1"}}}
            schedule: {cron: "0 3 * * *", timezone: Europe/Paris}
            concurrency_limit: {limit: 2, collision_strategy: CANCEL_NEW}
    """)
    planned = plan.deployments[0]
    fields = planned.registration_fields()
    assert planned.full_name == "repo-info/nightly"
    assert fields["description"] == "Fetch facts about a repository."  # from the docstring
    assert fields["parameter_schema"]["required"] == ["repo"]  # from the signature
    assert fields["pull_steps"] == [{"flowpool.steps.set_working_directory":
                                     {"directory": str(plan.root)}}]  # no pull: where deploy ran
    assert (fields["concurrency_limit"], fields["collision_strategy"]) == (2, "CANCEL_NEW")
    assert planned.pull_is_default and planned.schedules() == [
        {"cron": "0 3 * * *", "timezone": "Europe/Paris"}]
    DeploymentCreate(**fields)  # exactly what the API takes


def test_pull_steps_come_from_the_deployment_then_the_file_and_an_empty_list_means_none(
        project_dir):
    plan = plan_file(project_dir, """
        pull:
          - flowpool.steps.set_working_directory: {directory: /srv/shared}
        deployments:
          - {name: a, entrypoint: flows/repo.py:get_repo_info, work_pool: {name: p}}
          - name: b
            entrypoint: flows/repo.py:get_repo_info
            work_pool: {name: p}
            pull: []
          - name: c
            entrypoint: flows/repo.py:get_repo_info
            work_pool: {name: p}
            pull:
              - flowpool.steps.set_working_directory: {directory: /srv/c}
    """)
    pulls = [p.registration_fields()["pull_steps"] for p in plan.deployments]
    assert pulls == [[{"flowpool.steps.set_working_directory": {"directory": "/srv/shared"}}], [],
                     [{"flowpool.steps.set_working_directory": {"directory": "/srv/c"}}]]


def test_a_missing_entrypoint_file_is_an_entrypoint_error_with_its_line(project_dir):
    with pytest.raises(EntrypointError) as failure:
        plan_file(project_dir, """
            deployments:
              - name: a
                entrypoint: flows/gone.py:get_repo_info
                work_pool: {name: p}
        """)
    message = problems(failure)["deployments[0].entrypoint"]
    assert "entrypoint file flows/gone.py does not exist" in message and "(line 4)" in message


def test_a_missing_function_is_an_entrypoint_error_with_its_line(project_dir):
    with pytest.raises(EntrypointError) as failure:
        plan_file(project_dir, """
            deployments:
              - name: a
                entrypoint: flows/repo.py:get_repo_infos
                work_pool: {name: p}
        """)
    message = problems(failure)["deployments[0].entrypoint"]
    assert "flows/repo.py has no function 'get_repo_infos'" in message and "(line 4)" in message


def test_a_plan_can_be_made_from_the_file_alone(project_dir):
    plan = plan_file(project_dir, """
        deployments:
          - {name: a, entrypoint: flows/not_here_yet.py:build_report, work_pool: {name: p}}
    """, import_flows=False)
    assert plan.deployments[0].full_name == "build-report/a"


def test_every_problem_is_reported_at_once(project_dir):
    with pytest.raises(InvalidInput) as failure:
        plan_file(project_dir, """
            deployments:
              - name: "My Deployment/daily"
                entrypoint: flows/repo.py:get_repo_info
                parameters: {limit: many}
              - entrypoint: flows/repo.py:get_repo_info
                work_pool: {name: p}
                schedules: [every-day]
        """)
    found = problems(failure)
    assert "'My Deployment/daily' is not a valid name: use at most 100 characters, without '/'" \
        in found["deployments[0].name"]
    assert found["deployments[0].work_pool.name"].startswith("required: the work pool")
    assert "limit" in found["deployments[0].parameters"]  # defaults must fit the signature
    assert found["deployments[1].name"].startswith("required: name the deployment")
    assert found["deployments[1].schedules[0]"].startswith("a schedule is a mapping")


def test_an_unknown_build_step_names_the_step_the_package_and_the_line(project_dir):
    with pytest.raises(InvalidInput) as failure:
        plan_file(project_dir, """
            build:
              - acme_images.steps.bake: {flavour: rye}
            deployments:
              - {name: a, entrypoint: flows/repo.py:get_repo_info, work_pool: {name: p}}
        """)
    message = problems(failure)["build[0]"]
    assert "step acme_images.steps.bake is not built in and cannot be imported" in message
    assert "pip install acme-images" in message and "(line 3)" in message


def test_a_custom_pull_step_not_installed_here_is_only_a_warning(project_dir):
    plan = plan_file(project_dir, """
        pull:
          - acme_runtime.steps.prepare: {}
        deployments:
          - {name: a, entrypoint: flows/repo.py:get_repo_info, work_pool: {name: p}}
    """)
    assert [str(w) for w in plan.warnings] == [
        "pull[0] (line 3): step acme_runtime.steps.prepare cannot be imported here; it must be "
        "installed where runs execute"]


@pytest.mark.parametrize("placeholder, message", [
    ("{{ build_img.image }}", "no step has id 'build_img'; did you mean build_image?"),
    ("{{ build_image.digest }}", "step 'build_image' (build_docker_image) has no output 'digest'; "
                                 "its outputs are: additional_tags, image, image_id"),
    ("{{ clone.directory }}", "step 'clone' (pull[0] (git_clone)) runs later"),
    ("{{ prefect.blocks.secrets.token }}", "unknown block type 'secrets'; use one of: secret, "),
    ("{{ flowpool.blocks.secret }}", "{{ flowpool.blocks.secret }}: write "
                                     "{{ flowpool.blocks.TYPE.NAME }}"),
    ("{{ image_name }}", "looks like a recipe input nobody filled in"),
])
def test_placeholders_must_point_at_something_that_exists_by_then(project_dir, placeholder,
                                                                  message):
    with pytest.raises(InvalidInput) as failure:
        plan_file(project_dir, f"""
            build:
              - prefect_docker.deployments.steps.build_docker_image:
                  id: build_image
                  image_name: shop
            pull:
              - flowpool.steps.git_clone: {{id: clone, repository: "https://example.com/r.git"}}
            deployments:
              - name: a
                entrypoint: flows/repo.py:get_repo_info
                work_pool:
                  name: p
                  job_variables:
                    image: "{placeholder}"
        """)
    found = problems(failure)["deployments[0].work_pool.job_variables.image"]
    assert message in found and found.endswith("(line 14)")


def test_a_step_may_only_use_the_outputs_of_earlier_steps(project_dir):
    with pytest.raises(InvalidInput) as failure:
        plan_file(project_dir, """
            pull:
              - flowpool.steps.set_working_directory: {directory: "{{ clone.directory }}"}
              - flowpool.steps.git_clone: {id: clone, repository: "https://example.com/r.git"}
            deployments:
              - {name: a, entrypoint: flows/repo.py:get_repo_info, work_pool: {name: p}}
        """)
    message = problems(failure)["pull[0].directory"]
    assert "step 'clone' (pull[1] (git_clone)) runs later" in message and "(line 3)" in message


def test_environment_variables_are_filled_in_where_set_and_warned_about_where_not(project_dir):
    plan = plan_file(project_dir, """
        deployments:
          - name: a
            entrypoint: flows/repo.py:get_repo_info
            work_pool:
              name: "{{ $POOL }}"
              job_variables: {image: "{{ $IMAGE }}"}
    """, environ={"POOL": "gpu"})
    fields = plan.deployments[0].registration_fields()
    assert (fields["work_pool_name"], fields["job_variables"]) == ("gpu", {"image": "{{ $IMAGE }}"})
    assert [str(w) for w in plan.warnings] == [
        "deployments[0].work_pool.job_variables.image (line 7): environment variable IMAGE is "
        "not set; {{ $IMAGE }} left as written"]


def test_a_deployment_can_come_from_the_command_line_alone(project_dir):
    root = project_dir({"flows/repo.py": FLOWS})
    plan = plan_deploy(None, Selection(entrypoint="flows/repo.py:get_repo_info"),
                       DeploymentOverrides(name="cli", work_pool_name="p",
                                           parameters={"repo": "x"}), root=root)
    fields = plan.deployments[0].registration_fields()
    assert (fields["flow_name"], fields["name"], fields["parameters"]) == ("repo-info", "cli",
                                                                         {"repo": "x"})


def test_an_entrypoint_given_with_a_name_replaces_the_files(project_dir):
    plan = plan_file(project_dir, """
        deployments:
          - {name: a, entrypoint: flows/old.py:gone, work_pool: {name: p}}
    """, Selection(names=("a",), entrypoint="flows/repo.py:get_repo_info"))
    assert plan.deployments[0].registration_fields()["entrypoint"] == "flows/repo.py:get_repo_info"


def test_what_is_missing_is_named_for_a_wizard_to_ask():
    from orchestrator.deploy.schema import DeploymentDeclaration

    assert missing_fields(DeploymentDeclaration(entrypoint="f.py:g")) == ["name", "work_pool.name"]
    with pytest.raises(InvalidInput) as failure:
        plan_deploy(None, Selection(entrypoint="flows/repo.py:get_repo_info"), root=Path.cwd(),
                    import_flows=False)
    assert set(problems(failure)) == {"deployment.name", "deployment.work_pool.name"}


def test_flags_cannot_override_several_deployments_at_once(project_dir):
    with pytest.raises(InvalidInput, match="flags that override the file apply to one deployment"):
        plan_file(project_dir, """
            deployments:
              - {name: a, entrypoint: flows/repo.py:get_repo_info, work_pool: {name: p}}
              - {name: b, entrypoint: flows/repo.py:get_repo_info, work_pool: {name: p}}
        """, overrides=DeploymentOverrides(work_pool_name="other"))


def test_a_dry_run_prints_the_plan_and_its_json(project_dir):
    plan = plan_file(project_dir, """
        build:
          - flowpool.steps.run_shell_script: {id: sha, script: git rev-parse --short HEAD}
        pull:
          - flowpool.steps.git_clone:
              repository: https://example.com/r.git
              access_token: literal-token-in-the-file
        deployments:
          - name: a
            entrypoint: flows/repo.py:get_repo_info
            version: "{{ sha.stdout }}"
            work_pool: {name: p}
    """)
    text = format_plan(plan)
    assert "repo-info/a" in text and "version:       {{ sha.stdout }}" in text
    assert "build steps (run by deploy, here):\n    1. flowpool.steps.run_shell_script [id: sha]" \
        in text
    assert "literal-token-in-the-file" not in text
    as_json = json.loads(json.dumps(plan_as_dict(plan)))
    assert as_json["deployments"][0]["steps"]["build"][0]["flowpool.steps.run_shell_script"][
        "id"] == "sha"
