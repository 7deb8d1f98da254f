"""Every flow file of the Prefect corpus, loaded as `deploy` and runs load it (through the
compat layer), called in-process with the manifest's parameters, gives what Prefect 3.9
gives: the result, log lines, child runs and artifact keys; refused parameters are refused.

The corpus lives next to the project (`../shared/corpus/prefect-flows`, or
FLOWPOOL_PREFECT_CORPUS); its files are read from there, never copied here. "Log lines" are
the run-logger lines plus what the flow printed: a deployed run ships its stdout too.
"""
from __future__ import annotations

import asyncio
import json
import os
import tempfile
import types
from pathlib import Path

import pytest

from orchestrator import compat
from orchestrator.entrypoints import load_flow
from orchestrator.errors import InvalidInput
from orchestrator.parameters import coerce_parameters, parameter_schema, validate_against_schema
from orchestrator.deploy.flow_facts import import_flow_facts

from .conftest import make_reporter

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("FLOWPOOL_PREFECT_CORPUS")
              or ROOT.parent / "shared" / "corpus" / "prefect-flows")
MANIFEST = CORPUS / "manifest.json"
ENTRIES = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else []

pytestmark = pytest.mark.skipif(
    not ENTRIES, reason=f"the Prefect corpus is not at {CORPUS} (set FLOWPOOL_PREFECT_CORPUS)")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """The compat hook, and a temporary directory of the test's own (a corpus flow keeps a
    counter file there)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    compat.install()
    yield
    compat.uninstall()


def run_entry(entry: dict, reporter, parameters: dict | None = None):
    flow = load_flow(entry["entrypoint"], CORPUS)
    if "gpu:default" in entry.get("needs", ""):
        reporter.create_concurrency_limit("gpu:default", 1)
        flow.fn.__globals__["time"] = _quick_time()
    with reporter:
        result = flow(**(entry["parameters"] if parameters is None else parameters))
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    return result


def _quick_time() -> types.SimpleNamespace:
    """The file's `time` with its simulated work (seconds of sleep) a hundred times shorter."""
    import time

    return types.SimpleNamespace(sleep=lambda s: time.sleep(s / 100), time=time.time)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["entrypoint"] for e in ENTRIES])
def test_a_corpus_flow_gives_what_prefect_gives(entry, tmp_path, capsys):
    reporter = make_reporter(tmp_path)
    assert run_entry(entry, reporter) == entry["result"]
    root, = reporter.root_runs()
    assert root.state_type == "COMPLETED"
    lines = reporter.log_messages() + capsys.readouterr().out.splitlines()
    for expected in entry.get("logs_contain", []):
        assert any(expected in line for line in lines), (expected, lines)
    assert len(reporter.child_runs(root.id)) == entry.get("child_runs", 0)
    assert {a.key for a in reporter.artifacts.values()} == set(entry.get("artifacts", []))
    assert not any("do not exist" in line for line in lines)  # a limit needed is in place


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "refused_parameters" in e],
                         ids=lambda e: e["entrypoint"])
def test_refused_parameters_are_refused_before_the_run_starts(entry, tmp_path):
    flow = load_flow(entry["entrypoint"], CORPUS)
    refused = entry["refused_parameters"]
    with pytest.raises(InvalidInput):  # by the API, against the deployment's schema
        validate_against_schema(refused, parameter_schema(flow.fn))
    with pytest.raises(InvalidInput):  # by the engine, before calling the flow
        coerce_parameters(flow.fn, refused)
    reporter = make_reporter(tmp_path)
    with pytest.raises(InvalidInput):  # by a direct call
        run_entry(entry, reporter, refused)
    assert reporter.task_runs == {}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["entrypoint"] for e in ENTRIES])
def test_deploy_reads_each_corpus_flow(entry):
    facts = import_flow_facts(entry["entrypoint"], CORPUS)
    assert facts.imported and facts.name
    assert set(entry["parameters"]) <= set(facts.parameter_schema["properties"])


def test_a_second_run_is_served_from_the_task_cache(tmp_path):
    entry = next(e for e in ENTRIES if e["entrypoint"].startswith("caching_and_timeouts"))
    first = run_entry(entry, make_reporter(tmp_path))
    second = run_entry(entry, make_reporter(tmp_path))  # the module loaded afresh: no calls
    assert first["calls"] == 1 and second == {**first, "calls": 0}
