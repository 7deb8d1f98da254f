"""Loading project files: which file, YAML anchors and merges, validation with line numbers,
unknown keys reported by name."""
from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.deploy import find_project_file, load_project, read_project_file
from orchestrator.errors import InvalidInput

MINIMAL = """
    deployments:
      - name: {name}
        entrypoint: flows.py:hello
        work_pool: {{name: pool}}
"""


def test_flowpool_yaml_is_preferred_to_prefect_yaml(project_dir):
    root = project_dir({"prefect.yaml": MINIMAL.format(name="from-prefect"),
                        "flowpool.yaml": MINIMAL.format(name="from-flowpool")})
    project = load_project(root)
    assert project.path.name == "flowpool.yaml"
    assert project.spec.deployments[0].name == "from-flowpool"


def test_prefect_yaml_is_read_when_it_is_the_only_file(project_dir):
    root = project_dir({"prefect.yaml": MINIMAL.format(name="from-prefect")})
    assert load_project(root).spec.deployments[0].name == "from-prefect"


def test_an_explicit_file_is_read_and_must_exist(project_dir):
    root = project_dir({"deploy/etl.yaml": MINIMAL.format(name="etl")})
    project = load_project(root, Path("deploy/etl.yaml"))
    assert project.spec.deployments[0].name == "etl"
    assert project.root == root.resolve()  # entrypoints stay relative to where deploy runs
    with pytest.raises(InvalidInput, match="project file missing.yaml does not exist"):
        find_project_file(root, Path("missing.yaml"))


def test_a_directory_without_a_project_file_has_no_project(tmp_path):
    assert load_project(tmp_path) is None


def test_anchors_aliases_and_merge_keys_work(project_dir):
    root = project_dir({"prefect.yaml": """
        definitions:
          pool: &pool
            name: shared-pool
            job_variables: {image: base:1}
          build_config: &build_config
            id: build
            image_name: shop
            dockerfile: Dockerfile
        deployments:
          - name: one
            entrypoint: flows.py:one
            work_pool: *pool
            build:
              - prefect_docker.deployments.steps.build_docker_image:
                  <<: *build_config
                  dockerfile: Dockerfile.custom
    """})
    deployment = load_project(root).spec.deployments[0]
    assert deployment.work_pool.name == "shared-pool"
    assert deployment.build == [{"prefect_docker.deployments.steps.build_docker_image": {
        "id": "build", "image_name": "shop", "dockerfile": "Dockerfile.custom"}}]


def test_malformed_yaml_names_the_line(project_dir):
    root = project_dir({"prefect.yaml": "deployments:\n  - name: a\n    tags: [x\n  - name: b\n"})
    with pytest.raises(InvalidInput, match="prefect.yaml is not valid YAML: line 4"):
        load_project(root)


def test_an_unquoted_placeholder_gets_a_hint_to_quote_it(project_dir):
    root = project_dir({"prefect.yaml": "pull:\n  - flowpool.steps.set_working_directory:\n"
                                        "      directory: {{ clone.directory }}\n"})
    with pytest.raises(InvalidInput, match="line 3.*quote a value that starts with"):
        load_project(root)


def test_validation_errors_give_the_field_and_its_line(project_dir):
    root = project_dir({"flowpool.yaml": """
        deployments:
          - name: fine
            entrypoint: flows.py:a
            work_pool: {name: pool}
          - name: broken
            entrypoint: flows.py:b
            tags: just-one-tag
            concurrency_limit: {limit: 2, collision_strategy: DROP}
            work_pool: pool-name-instead-of-a-mapping
    """})
    with pytest.raises(InvalidInput) as failure:
        load_project(root)
    errors = {e.field: e.message for e in failure.value.errors}
    assert errors["deployments[1].tags"] == "expected a list, got the text 'just-one-tag' (line 8)"
    strategy = errors["deployments[1].concurrency_limit.collision_strategy"]
    assert "'ENQUEUE' or 'CANCEL_NEW'" in strategy
    assert errors["deployments[1].work_pool"].endswith("(line 10)")


def test_concurrency_limit_is_a_number_or_a_mapping(project_dir):
    root = project_dir({"flowpool.yaml": """
        deployments:
          - {name: a, entrypoint: f.py:a, work_pool: {name: p}, concurrency_limit: 3}
          - name: b
            entrypoint: f.py:b
            work_pool: {name: p}
            concurrency_limit: {limit: 1, collision_strategy: CANCEL_NEW}
    """})
    first, second = load_project(root).spec.deployments
    assert (first.concurrency_limit.limit, first.concurrency_limit.collision_strategy) == (
        3, "ENQUEUE")
    assert (second.concurrency_limit.limit, second.concurrency_limit.collision_strategy) == (
        1, "CANCEL_NEW")


def test_unknown_keys_are_warned_about_by_name_with_a_suggestion(project_dir):
    root = project_dir({"prefect.yaml": """
        prefect-version: 3.1.0
        =name: typo
        deployments:
          - name: a
            entrypoint: flows.py:a
            work_queue_name: fast
            paramaters: {x: 1}
            work_pool: {name: pool, tyep: process}
            triggers: [{expect: [x]}]
    """})
    warnings = [str(w) for w in load_project(root).warnings]
    assert "=name (line 3): unknown key, ignored; did you mean name?" in warnings
    assert ("deployments[0].work_queue_name (line 7): unknown key, ignored: write it under "
            "work_pool: (work_pool.work_queue_name)") in warnings
    assert "deployments[0].paramaters (line 8): unknown key, ignored; did you mean parameters?" \
        in warnings
    assert "deployments[0].work_pool.tyep (line 9): unknown key, ignored; did you mean type?" \
        not in warnings  # work pools have no type: only a plain warning
    assert "deployments[0].work_pool.tyep (line 9): unknown key, ignored" in warnings
    assert not any("triggers" in w for w in warnings)  # triggers become automations


def test_a_key_written_twice_is_warned_about(project_dir):
    root = project_dir({"prefect.yaml": "name: a\nname: b\n"})
    project = load_project(root)
    assert project.spec.name == "b"
    assert [str(w) for w in project.warnings] == [
        "name (line 2): given twice (lines 1 and 2); the last one is used"]


@pytest.mark.parametrize("text, message", [
    ("", "prefect.yaml is empty"),
    ("- just\n- a list\n", "prefect.yaml is not a project file"),
])
def test_an_empty_or_shapeless_file_is_refused(project_dir, text, message):
    root = project_dir({"prefect.yaml": text})
    with pytest.raises(InvalidInput, match=message):
        read_project_file(root / "prefect.yaml")
