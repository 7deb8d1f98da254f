"""A deployment's `triggers:` become automations that run it, as Prefect makes them; a
trigger that cannot work is refused with its line (a metric trigger as unsupported);
compound and sequence triggers are read."""
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
                  - type: metric
                    metric: {name: duration, threshold: 60, operator: ">"}
        """)
    messages = {e.field: e.message for e in failure.value.errors}
    assert messages["deployments[0].triggers[1].type"].startswith(
        "metric triggers are not supported by flowpool")
    assert "(line 10)" in str(failure.value)
    assert messages["deployments[0].triggers[0]"].startswith("within: a threshold above 1")
    assert messages["deployments[0].triggers[0].schedule"].startswith("unknown key of a trigger")
    assert "actions can use only the event" in \
        messages["deployments[0].triggers[0].parameters"]
    assert "(line 9)" in str(failure.value)


def test_compound_and_sequence_triggers_become_automations(project_dir):
    planned = plan(project_dir, """
        deployments:
          - name: d
            entrypoint: flows.py:down
            work_pool: {name: pool}
            triggers:
              - type: compound
                require: any
                within: 3600
                triggers:
                  - expect: [prefect.flow-run.Completed]
                    match_related: {prefect.resource.name: up}
                  - expect: [orders.loaded]
              - type: sequence
                triggers:
                  - expect: [prefect.flow-run.Failed]
                  - expect: [prefect.flow-run.Completed]
                parameters: {retried: true}
    """)
    compound, sequence = planned.deployments[0].automations
    assert compound.trigger.type == "compound" and compound.trigger.required == 1
    assert compound.trigger.triggers[0].expect == ["flowpool.flow-run.Completed"]
    assert sequence.trigger.type == "sequence" and sequence.trigger.required == 2
    assert sequence.actions[0].parameters == {"retried": True}

