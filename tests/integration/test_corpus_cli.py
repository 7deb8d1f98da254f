"""The corpus of 38 real prefect.yaml files through the `flowpool deploy --all --dry-run`
command (the Typer app, in this process): each file, unchanged, either plans or fails
with the message the loader-level corpus test expects.

The projects' code is not in the corpus, so each file gets stub flows at its entrypoints,
with the parameters its deployments give (the plan imports every flow, as deploy does).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.deploy import read_project_file
from orchestrator.errors import FlowpoolError
from tests.deploy.test_corpus import FAILS, FILES


def write_stub_flows(project: Path) -> None:
    """A function at each deployment's entrypoint, taking the parameters the file gives it."""
    try:
        spec = read_project_file(project / "prefect.yaml").spec
    except FlowpoolError:
        return  # a malformed file: the command must say so itself
    stubs: dict[tuple[str, str], set[str]] = {}
    for declaration in spec.deployments:
        entrypoint = (declaration.entrypoint or "").strip().removeprefix("./")
        if entrypoint and "{{" not in entrypoint:
            stubs.setdefault(_file_and_function(entrypoint), set()).update(
                key for key in declaration.parameters if key.isidentifier())
    for (file, function), parameters in stubs.items():
        path = project / file
        path.parent.mkdir(parents=True, exist_ok=True)
        arguments = ", ".join(f"{name}=None" for name in sorted(parameters))
        with path.open("a") as out:
            out.write(f"\ndef {function}({arguments}):\n    pass\n")


def _file_and_function(entrypoint: str) -> tuple[str, str]:
    """`flows/etl.py:main` or `pkg.flows.main` -> (the file to write, the function)."""
    if ":" in entrypoint:
        file, _, function = entrypoint.rpartition(":")
        return (file if file.endswith(".py") else file.replace(".", "/") + ".py"), function
    module, _, function = entrypoint.rpartition(".")
    return module.replace(".", "/") + ".py", function


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Each file's exit code and message from `deploy --all --dry-run --no-prompt`."""
    runner, results, before = CliRunner(), {}, os.getcwd()
    for path in FILES:
        project = tmp_path_factory.mktemp(f"corpus-{path.name[:3]}")
        shutil.copy(path, project / "prefect.yaml")
        write_stub_flows(project)
        os.chdir(project)  # entrypoints are relative to where deploy runs
        try:
            result = runner.invoke(app, ["deploy", "--all", "--dry-run", "--no-prompt"])
        finally:
            os.chdir(before)
        message = str(result.exception) if result.exit_code else result.output
        results[path.name[:3]] = (result.exit_code, message)
    return results


@pytest.mark.parametrize("path", FILES, ids=[p.name[:3] for p in FILES])
def test_each_file_plans_through_the_cli_or_names_what_it_lacks(outcomes, path):
    exit_code, message = outcomes[path.name[:3]]
    expected_failure = FAILS.get(path.name[:3])
    if expected_failure is None:
        assert exit_code == 0, message
        assert "A dry run registers nothing" in message
    else:
        assert exit_code != 0
        assert expected_failure in message


def test_29_of_the_38_files_plan_through_the_cli(outcomes):
    assert len(outcomes) == 38
    assert sum(exit_code == 0 for exit_code, _ in outcomes.values()) == 29
