"""With FLOWPOOL_API_KEY set, the API serves only callers that carry the key; workers and
engines carry it too, so runs still complete."""
from __future__ import annotations

import json
import subprocess

import pytest

from orchestrator.devstack import LocalStack, flowpool_command

pytestmark = pytest.mark.integration

FLOW = "from orchestrator import flow\n\n@flow\ndef hello():\n    return 'hi'\n"


@pytest.fixture
def keyed_stack(tmp_path):
    stack = LocalStack(tmp_path / "home", extra_env={"FLOWPOOL_API_KEY": "s3cret"})
    stack.start_redis()
    stack.start_server()
    yield stack
    stack.stop()


def test_runs_complete_with_the_key_and_callers_without_it_are_refused(keyed_stack, tmp_path):
    stack = keyed_stack
    (tmp_path / "flows.py").write_text(FLOW)
    stack.cli("work-pool", "create", "keyed", "--type", "process", check=True)
    stack.start_worker("keyed")
    stack.cli("deploy", "flows.py:hello", "--name", "k", "--pool", "keyed", cwd=tmp_path, check=True)

    ran = stack.cli("deployment", "run", "hello/k", "--watch", "--output", "json")
    keyless = {k: v for k, v in stack.env().items() if k != "FLOWPOOL_API_KEY"}
    refused = subprocess.run([*flowpool_command(), "work-pool", "ls"], env=keyless,
                             capture_output=True, text=True)
    wrong = subprocess.run([*flowpool_command(), "work-pool", "ls"],
                           env={**keyless, "FLOWPOOL_API_KEY": "guess"}, capture_output=True,
                           text=True)

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"] == "hi"
    for result in (refused, wrong):
        assert result.returncode == 1
        assert "API key is missing or wrong" in result.stderr and "FLOWPOOL_API_KEY" in result.stderr
