"""Every flow file of the Prefect corpus, unchanged, deployed with `flowpool deploy FILE:FUNC`
and run through a real worker: the result, log lines, child runs and artifact keys that
Prefect 3.9 gives (manifest.json), and the parameters it refuses, refused before the run.

The corpus lives next to the project (`../shared/corpus/prefect-flows`, or
FLOWPOOL_PREFECT_CORPUS); its files are copied into a temporary project for the test (so
nothing is written beside them), never into this repository."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("FLOWPOOL_PREFECT_CORPUS")
              or ROOT.parent / "shared" / "corpus" / "prefect-flows")
MANIFEST = CORPUS / "manifest.json"
ENTRIES = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else []
needs_corpus = pytest.mark.skipif(
    not ENTRIES, reason=f"the Prefect corpus is not at {CORPUS} (set FLOWPOOL_PREFECT_CORPUS)")


@pytest.fixture(scope="module")
def corpus_pool(stack, tmp_path_factory):
    """A copy of the corpus as a project, a pool with a worker, and the limit one file needs."""
    project = tmp_path_factory.mktemp("prefect-corpus")
    for path in CORPUS.glob("*.py"):
        shutil.copy(path, project / path.name)
    pool = f"corpus-{os.getpid()}"
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)
    stack.cli("concurrency-limit", "create", "gpu:default", "--limit", "2")  # may exist
    stack.start_worker(pool, "--limit", "4")
    return project, pool


def deploy(stack, project: Path, pool: str, entrypoint: str) -> str:
    """Deploy one entrypoint of the corpus; its FLOW/DEPLOYMENT name (a flow may be renamed
    by its decorator)."""
    deployed = stack.cli("deploy", entrypoint, "--name", "corpus", "--pool", pool,
                         "--output", "json", cwd=project, check=True)
    return f"{json.loads(deployed.stdout)['flow_name']}/corpus"


@needs_corpus
@pytest.mark.parametrize("entry", ENTRIES, ids=[e["entrypoint"] for e in ENTRIES])
def test_a_prefect_flow_file_runs_unchanged_through_a_worker(stack, corpus_pool, entry):
    project, pool = corpus_pool
    deployment = deploy(stack, project, pool, entry["entrypoint"])

    ran = stack.cli("deployment", "run", deployment, "--params",
                    json.dumps(entry["parameters"]), "--watch", "--timeout", "120",
                    "--output", "json")
    run = json.loads(ran.stdout)
    logs = stack.cli("flow-run", "logs", run["id"], check=True).stdout
    detail = json.loads(stack.cli("flow-run", "inspect", run["id"], "--output", "json",
                                  check=True).stdout)
    artifacts = json.loads(stack.cli("flow-run", "artifacts", run["id"], "--output", "json",
                                     check=True).stdout)

    assert run["state_type"] == "COMPLETED", logs
    assert run["result"] == entry["result"]
    for line in entry.get("logs_contain", []):
        assert line in logs
    if "child_runs" in entry:
        assert len(detail["child_runs"]) == entry["child_runs"]
    if "artifacts" in entry:
        assert {a["key"] for a in artifacts} >= set(entry["artifacts"])


@needs_corpus
@pytest.mark.parametrize("entry", [e for e in ENTRIES if "refused_parameters" in e],
                         ids=lambda e: e["entrypoint"])
def test_parameters_prefect_refuses_are_refused_before_the_run(stack, corpus_pool, entry):
    project, pool = corpus_pool
    deployment = deploy(stack, project, pool, entry["entrypoint"])

    refused = stack.cli("deployment", "run", deployment, "--params",
                        json.dumps(entry["refused_parameters"]))

    assert refused.returncode != 0
    assert "order" in refused.stderr
