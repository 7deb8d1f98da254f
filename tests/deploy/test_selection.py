"""Which deployments a deploy command means: --all, --name (FLOW/NAME, globs), ENTRYPOINT."""
from __future__ import annotations

import pytest

from orchestrator.deploy import DeploymentOverrides, Selection
from orchestrator.deploy.overrides import apply_overrides
from orchestrator.deploy.schema import DeploymentDeclaration
from orchestrator.deploy.selection import select_deployments
from orchestrator.errors import InvalidInput


def declared(*entries: tuple[str | None, str | None]) -> list[DeploymentDeclaration]:
    return [DeploymentDeclaration(name=name, entrypoint=entrypoint)
            for name, entrypoint in entries]


FILE = declared(("etl-daily", "flows/etl.py:run_etl"), ("etl-hourly", "flows/etl.py:run_etl"),
                ("report", "flows/report.py:weekly_report"), (None, None))


def names(selection: Selection, deployments=FILE) -> list[str | None]:
    chosen, _ = select_deployments(deployments, selection)
    return [item.declaration.name for item in chosen]


def test_all_selects_every_deployment_but_blank_template_entries():
    chosen, warnings = select_deployments(FILE, Selection(all=True))
    assert [c.declaration.name for c in chosen] == ["etl-daily", "etl-hourly", "report"]
    assert [str(w) for w in warnings] == [
        "deployments[3]: has no name and no entrypoint (a blank template entry); skipped"]


@pytest.mark.parametrize("patterns, expected", [
    (("report",), ["report"]),
    (("etl-*",), ["etl-daily", "etl-hourly"]),
    (("run-etl/etl-hourly",), ["etl-hourly"]),  # FLOW/NAME with the flow's default name
    (("run_etl/*",), ["etl-daily", "etl-hourly"]),  # or the function's own name
    (("*/report", "etl-daily"), ["etl-daily", "report"]),  # in file order, each once
])
def test_names_select_by_name_flow_and_glob(patterns, expected):
    assert names(Selection(names=patterns)) == expected


def test_a_name_that_matches_nothing_lists_the_deployments_there_are():
    with pytest.raises(InvalidInput) as failure:
        names(Selection(names=("nightly",)))
    assert "no deployment matches 'nightly'" in str(failure.value)
    assert "run-etl/etl-daily, run-etl/etl-hourly, weekly-report/report" in str(failure.value)


def test_an_entrypoint_selects_the_deployments_of_that_flow():
    assert names(Selection(entrypoint="./flows/etl.py:run_etl")) == ["etl-daily", "etl-hourly"]


def test_an_entrypoint_and_a_new_name_declare_a_new_deployment():
    chosen, _ = select_deployments(FILE, Selection(names=("adhoc",), entrypoint="flows/x.py:f"))
    assert chosen[0].index is None
    assert (chosen[0].declaration.name, chosen[0].declaration.entrypoint) == ("adhoc",
                                                                              "flows/x.py:f")


def test_a_file_with_one_deployment_needs_no_name_and_one_with_several_does():
    assert names(Selection(), FILE[2:]) == ["report"]
    with pytest.raises(InvalidInput, match="declares 3 deployments; say which to deploy"):
        names(Selection())


def test_all_and_names_together_are_refused():
    with pytest.raises(InvalidInput, match="with --all or with --name, not both"):
        names(Selection(names=("report",), all=True))


def test_overrides_replace_fields_and_merge_parameters_and_job_variables():
    original = DeploymentDeclaration.model_validate({
        "name": "etl", "entrypoint": "flows/etl.py:run", "parameters": {"a": 1, "b": 2},
        "work_pool": {"name": "pool", "job_variables": {"image": "x", "env": {"A": "1"}}},
        "schedule": {"cron": "0 9 * * *"}})
    overrides = DeploymentOverrides(parameters={"b": 3}, job_variables={"image": "y"},
                                    work_pool_name="other", tags=["t"], concurrency_limit=2,
                                    schedules=[{"interval": 60}])
    changed = apply_overrides(original, overrides)
    assert changed.parameters == {"a": 1, "b": 3}
    assert changed.work_pool.job_variables == {"image": "y", "env": {"A": "1"}}
    assert (changed.work_pool.name, changed.tags, changed.concurrency_limit.limit) == (
        "other", ["t"], 2)
    assert (changed.schedule, changed.schedules) == (None, [{"interval": 60}])
    assert original.parameters == {"a": 1, "b": 2}  # the file's declaration is untouched
