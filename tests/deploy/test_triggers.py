"""A deployment's `triggers:` become automations that run it, as Prefect makes them; a
trigger that cannot work is refused with its line; compound triggers are warned about."""
from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.deploy import Selection, load_project, plan_deploy
from orchestrator.deploy.files import read_project_file
from orchestrator.errors import InvalidInput

CORPUS = Path(__file__).parent / "corpus"
FLOWS = """
    from orchestrator import flow

    @flow
    def down(x: int = 0):
        return x
"""


def plan(project_dir, project_file: str):
    root = project_dir({"prefect.yaml": project_file, "flows.py": FLOWS})
    return plan_deploy(load_project(root), Selection(all=True))


def test_a_corpus_trigger_becomes_an_automation_running_its_deployment():
    project = read_project_file(CORPUS / "007-PrefectHQ-prefect-recipes.yaml",
                                root=Path("/srv/project"))
    planned = plan_deploy(project, Selection(all=True), environ={}, import_flows=False)
    with_triggers = [p for p in planned.deployments if p.automations]
    assert len(with_triggers) == 1
    automation = with_triggers[0].automations[0]
    assert automation.name == f"{with_triggers[0].full_name}__automation_1"
    assert automation.trigger.match == {
        "flowpool.resource.id": ["flowpool.result.5d73850e-18e3-47af-a7f6-6dfd13fc4525.*"]}
    assert automation.trigger.expect == ["flowpool.result.produced"]
    assert [a.model_dump() for a in automation.actions] == [{
        "type": "run-deployment", "deployment": None,
        "parameters": {"prev_result": "{{ event.payload.result }}"}, "job_variables": {}}]
    assert all(p.automations is None for p in planned.deployments if p not in with_triggers)


def test_a_trigger_that_cannot_work_is_refused_with_its_line(project_dir):
    with pytest.raises(InvalidInput) as failure:
        plan(project_dir, """
            deployments:
              - name: d
                entrypoint: flows.py:down
                work_pool: {name: pool}
                triggers:
                  - expect: [prefect.flow-run.Failed]
                    threshold: 3
                    parameters: {x: "{{ flow_run.id }}"}
                    schedule: daily
        """)
    messages = {e.field: e.message for e in failure.value.errors}
    assert messages["deployments[0].triggers[0]"].startswith("within: a threshold above 1")
    assert messages["deployments[0].triggers[0].schedule"].startswith("unknown key of a trigger")
    assert "actions can use only the event" in \
        messages["deployments[0].triggers[0].parameters"]
    assert "(line 9)" in str(failure.value)


def test_compound_triggers_are_warned_about_and_the_rest_deploys(project_dir):
    planned = plan(project_dir, """
        deployments:
          - name: d
            entrypoint: flows.py:down
            work_pool: {name: pool}
            triggers:
              - type: compound
                require: all
                triggers: []
              - expect: [prefect.flow-run.Completed]
                match_related: {prefect.resource.name: up, prefect.resource.role: deployment}
    """)
    assert len(planned.deployments[0].automations) == 1
    assert any("compound triggers are not supported" in str(w) for w in planned.warnings)
