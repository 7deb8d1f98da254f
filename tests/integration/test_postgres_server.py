"""The same end-to-end run with the server's state in PostgreSQL instead of SQLite."""
from __future__ import annotations

import json

import pytest

from devstack import LocalStack
from orchestrator.store.database import Database
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.integration

FLOW = "from orchestrator import flow\n\n@flow\ndef add(a: int, b: int = 1):\n    return a + b\n"


@pytest.fixture
def postgres_stack(tmp_path):
    if not POSTGRES_URL:
        pytest.skip("FLOWPOOL_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    Database(POSTGRES_URL).drop_schema()
    # its own Redis: one Redis serves one flowpool installation (one scheduler leader)
    stack = LocalStack(tmp_path / "home", database_url=POSTGRES_URL)
    stack.start_redis()
    stack.start_server()
    yield stack
    stack.stop()
    Database(POSTGRES_URL).drop_schema()


def test_a_run_completes_with_the_server_on_postgresql(postgres_stack, tmp_path):
    stack = postgres_stack
    (tmp_path / "flows.py").write_text(FLOW)
    stack.cli("work-pool", "create", "pg-pool", "--type", "process", check=True)
    stack.start_worker("pg-pool")
    stack.cli("deploy", "flows.py:add", "--name", "pg", "--pool", "pg-pool", cwd=tmp_path, check=True)

    result = stack.cli("deployment", "run", "add/pg", "-p", "a=41", "--watch", "--output", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == 42
