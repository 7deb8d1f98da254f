"""38 real prefect.yaml files from public projects (see corpus/SOURCES.md): each one either
plans or fails with a message that names what is missing or unsupported; the malformed ones
name their line.

The projects' flow code is not in the corpus, so the plans are made from the files alone
(`import_flows=False`) and with an empty environment.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.deploy import Selection, plan_deploy, read_project_file
from orchestrator.errors import FlowpoolError

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))

# Every file that does not plan, and what its error must name.
FAILS = {
    "001": "has no name and no entrypoint (a blank template entry)",  # `prefect init` skeleton
    "002": "has no name and no entrypoint (a blank template entry)",  # recipe template
    "003": "has no name and no entrypoint (a blank template entry)",  # recipe template
    "004": "has no name and no entrypoint (a blank template entry)",  # recipe template
    "005": "build: expected a list, got the text '...' (line 1)",  # a docs extract
    "006": "is not valid YAML: line 24",  # malformed
    "008": "is not valid YAML: line 3, column 11: found undefined alias 'common_tags'",
    "016": "deployments[0].entrypoint: required",  # no entrypoints at all
    "018": "no step has id 'build-image'; did you mean build_image?",
}


def plan_corpus_file(path: Path):
    project = read_project_file(path, root=Path("/srv/project"))
    return plan_deploy(project, Selection(all=True), environ={}, import_flows=False)


@pytest.mark.parametrize("path", FILES, ids=[p.name[:3] for p in FILES])
def test_each_file_plans_or_names_what_it_lacks(path):
    expected_failure = FAILS.get(path.name[:3])
    if expected_failure is None:
        plan = plan_corpus_file(path)
        assert plan.deployments
        for planned in plan.deployments:
            assert planned.registration_fields()["work_pool_name"]
        return
    with pytest.raises(FlowpoolError) as failure:
        plan_corpus_file(path)
    assert expected_failure in str(failure.value)


def test_29_of_the_38_files_plan():
    """Blocks are looked up when they are filled in, at deploy time: the files that use them
    plan, and deploy once their blocks exist (test_blocks_deploy)."""
    assert len(FILES) == 38
    assert len(FILES) - len(FAILS) == 29


def test_deployment_names_with_spaces_plan_as_written():
    plan = plan_corpus_file(next(p for p in FILES if p.name.startswith("023")))
    assert [p.full_name for p in plan.deployments][:2] == [
        "get-wallet-valuaions/01 Deploy Wallet Valuations",
        "get-wallet-snapshots/02 Deploy Wallet Snapshots"]

