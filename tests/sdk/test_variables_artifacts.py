"""Variables and artifacts from flow code, through the reporter."""
import asyncio
import uuid

import pytest

from orchestrator import (Variable, create_link_artifact, create_markdown_artifact,
                          create_progress_artifact, create_table_artifact, flow, task,
                          update_progress_artifact)
from orchestrator.errors import InvalidInput, VariableExists


def test_variables_are_set_read_and_overwritten_only_when_asked(reporter):
    @flow
    def using_variables() -> tuple:
        Variable.set("threshold", {"max": 3})
        with pytest.raises(VariableExists):
            Variable.set("threshold", 4)
        Variable.set("threshold", 5, overwrite=True)
        return Variable.get("threshold"), Variable.get("missing", default="fallback")

    assert using_variables() == (5, "fallback")
    assert reporter.variables == {"threshold": 5}
    assert Variable.unset("threshold") and not Variable.unset("threshold")


def test_variables_are_refused_as_the_server_refuses_them(reporter):
    with pytest.raises(InvalidInput, match="not valid"):
        Variable.set("has.dot", 1)
    with pytest.raises(InvalidInput, match="JSON"):
        Variable.set("not_json", object())
    assert isinstance(VariableExists("x"), ValueError)  # what Prefect code catches


def test_async_variable_calls(reporter):
    async def main() -> object:
        await Variable.aset("n", 1)
        return await Variable.aget("n")

    assert asyncio.run(main()) == 1


def test_artifacts_are_attached_to_the_run_that_made_them(reporter):
    @task
    def report(rows: list) -> None:
        create_table_artifact(table=rows, key="table-key", description="rows seen")

    @flow
    def with_artifacts() -> uuid.UUID:
        create_markdown_artifact(markdown="# Title", key="report")
        create_link_artifact("https://example.com", link_text="site")
        report([{"a": 1}])
        progress = create_progress_artifact(10.0, key="progress")
        update_progress_artifact(progress, 55.5)
        return progress

    progress_id = with_artifacts()
    root, = reporter.root_runs()
    artifacts = {a.key: a for a in reporter.artifacts.values()}
    assert set(artifacts) == {"report", None, "table-key", "progress"}
    assert artifacts["report"].data == "# Title" and artifacts["report"].type == "markdown"
    assert artifacts[None].data == "[site](https://example.com)"
    assert artifacts["table-key"].task_run_id is not None
    assert {a.flow_run_id for a in artifacts.values()} == {root.id}
    assert reporter.artifacts[str(progress_id)].data == 55.5  # the update replaced it


def test_artifact_keys_and_progress_are_checked(reporter):
    with pytest.raises(ValueError, match="lowercase"):
        create_markdown_artifact("x", key="Not_Valid")
    with pytest.raises(ValueError, match="0 to 100"):
        create_progress_artifact(120)
    create_markdown_artifact("outside any run", key="loose")
    assert next(iter(reporter.artifacts.values())).flow_run_id is None
