"""Deploy time: build and push run, their outputs fill in the deployment and its pull steps,
and what is left for run time stays as written."""
from __future__ import annotations

import os
import sys

import pytest

from orchestrator.deploy import Selection, load_project, plan_deploy, prepare_registration
from orchestrator.errors import InvalidInput

FLOWS = """
    from orchestrator import flow

    @flow
    def ship(order: int = 1):
        return order
"""


def test_build_and_push_outputs_fill_in_the_deployment_and_its_pull_steps(project_dir, tmp_path):
    storage = (tmp_path / "bucket").as_uri()
    root = project_dir({"flows/ship.py": FLOWS, "flowpool.yaml": f"""
        build:
          - flowpool.steps.run_shell_script:
              id: version
              script: {sys.executable} -c "print('1.4.2')"
              stream_output: false
          - flowpool.steps.set_working_directory: {{directory: flows}}
        push:
          - flowpool.steps.push_to_remote_storage: {{id: upload, url: "{storage}/shop"}}
        pull:
          - flowpool.steps.pull_from_remote_storage:
              id: download
              url: "{{{{ upload.url }}}}"
          - flowpool.steps.set_working_directory:
              directory: "{{{{ download.directory }}}}/{{{{ $RUN_SUBDIR }}}}"
        deployments:
          - name: shop
            entrypoint: ship.py:ship
            version: "{{{{ version.stdout }}}}"
            tags: ["v{{{{ version.stdout }}}}", "{{{{ $TEAM }}}}"]
            work_pool:
              name: local
              job_variables:
                image: "shop:{{{{ version.stdout }}}}"
                env: "{{{{ flowpool.variables.shop_env }}}}"
    """})
    cwd_before = os.getcwd()
    plan = plan_deploy(load_project(root), Selection(all=True), import_flows=False)
    registration = prepare_registration(
        plan.deployments[0], variables={"shop_env": {"MODE": "prod"}}.__getitem__,
        environ={"TEAM": "logistics"})
    deployment = registration.deployment

    assert (deployment.version, deployment.tags) == ("1.4.2", ["v1.4.2", "logistics"])
    assert deployment.job_variables == {"image": "shop:1.4.2", "env": {"MODE": "prod"}}
    assert deployment.pull_steps == [
        {"flowpool.steps.pull_from_remote_storage": {"url": f"{storage}/shop", "id": "download"}},
        {"flowpool.steps.set_working_directory": {
            "directory": "{{ download.directory }}/{{ $RUN_SUBDIR }}"}},  # run-time values
    ]
    assert (tmp_path / "bucket" / "shop" / "ship.py").exists()  # pushed from the flows folder
    assert os.getcwd() == cwd_before  # a build step's set_working_directory does not leak


def test_a_variable_that_is_not_set_stops_the_deploy_and_names_it(project_dir):
    root = project_dir({"flows/ship.py": FLOWS, "flowpool.yaml": """
        deployments:
          - name: shop
            entrypoint: flows/ship.py:ship
            work_pool:
              name: "{{ prefect.variables.pool_name }}"
    """})
    plan = plan_deploy(load_project(root), Selection(all=True))
    with pytest.raises(InvalidInput) as failure:
        prepare_registration(plan.deployments[0], variables={}.__getitem__)
    assert str(failure.value.errors[0]) == (
        "deployments[0].work_pool.name: variable pool_name is not set "
        "(flowpool variable set pool_name VALUE)")


def test_a_value_filled_in_at_deploy_time_is_validated_then(project_dir):
    root = project_dir({"flows/ship.py": FLOWS, "flowpool.yaml": """
        deployments:
          - name: "{{ $DEPLOYMENT_NAME }}"
            entrypoint: flows/ship.py:ship
            work_pool: {name: local}
    """})
    plan = plan_deploy(load_project(root), Selection(all=True), environ={})
    with pytest.raises(InvalidInput) as failure:
        prepare_registration(plan.deployments[0], environ={"DEPLOYMENT_NAME": "has/slash"})
    assert "deployments[0].name" in str(failure.value) and "(line 3)" in str(failure.value)
