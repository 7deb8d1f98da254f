"""`flowpool database` and a server start on a database that is behind, as subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from orchestrator.store import schema
from orchestrator.store.database import Database
from tests.test_schema_migration import empty_database, write_previous_release  # noqa: F401


@pytest.fixture
def sqlite_database(tmp_path) -> Database:
    """The checks that do not depend on the database's kind run on SQLite only (they start
    subprocesses, which take seconds)."""
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    yield db
    db.dispose()


def flowpool(db: Database, tmp_path, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLOWPOOL_HOME": str(tmp_path / "home"), "FLOWPOOL_DATABASE_URL": db.url}
    env.pop("FLOWPOOL_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "orchestrator.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout_s)


def test_upgrade_brings_a_previous_release_to_the_newest_revision(empty_database, tmp_path):
    write_previous_release(empty_database)
    head = schema.head_revision()

    behind = flowpool(empty_database, tmp_path, "database", "current", "--check")
    upgraded = flowpool(empty_database, tmp_path, "database", "upgrade")
    again = flowpool(empty_database, tmp_path, "database", "upgrade")
    current = flowpool(empty_database, tmp_path, "database", "current", "--check")

    assert behind.returncode == 1 and "made by flowpool 0.1" in behind.stdout
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"to {head} (head)" in upgraded.stdout
    assert again.returncode == 0 and "already at" in again.stdout
    assert current.returncode == 0 and f"{head} (head)" in current.stdout


def test_history_lists_the_baseline_first(sqlite_database, tmp_path):
    result = flowpool(sqlite_database, tmp_path, "database", "history")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("0001  (base)")


def test_an_unknown_revision_is_refused_naming_the_option(sqlite_database, tmp_path):
    result = flowpool(sqlite_database, tmp_path, "database", "upgrade", "--revision", "nope")

    assert result.returncode == 1
    assert "--revision" in result.stderr and "flowpool database history" in result.stderr
    assert not sa.inspect(sqlite_database.engine).has_table("work_pools")  # nothing written


def test_the_server_refuses_a_database_that_is_behind_and_names_the_command(sqlite_database,
                                                                              tmp_path):
    write_previous_release(sqlite_database)

    result = flowpool(sqlite_database, tmp_path, "server", "start", "--port", "1")

    assert result.returncode == 1
    assert "flowpool database upgrade" in result.stderr and "--upgrade" in result.stderr
    assert not sa.inspect(sqlite_database.engine).has_table(schema.VERSION_TABLE)


def test_the_scheduler_refuses_a_database_that_is_behind(sqlite_database, tmp_path):
    write_previous_release(sqlite_database)
    env_redis = "redis://127.0.0.1:1/0"  # never reached: the check comes first
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "scheduler", "start"],
        env={**os.environ, "FLOWPOOL_HOME": str(tmp_path / "home"),
             "FLOWPOOL_DATABASE_URL": sqlite_database.url, "FLOWPOOL_REDIS_URL": env_redis},
        capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "flowpool database upgrade" in result.stderr


@pytest.mark.integration
def test_the_server_upgrades_a_database_that_is_behind_with_upgrade(tmp_path, redis_server):
    from devstack import LocalStack

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    write_previous_release(db)
    stack = LocalStack(tmp_path / "home", redis_url=redis_server.url, database_url=db.url)
    try:
        stack.start_server("--upgrade", "--no-scheduler")
        created = stack.cli("work-pool", "create", "setup-pool", "--type", "process",
                            "--concurrency-limit", "6", "--if-not-exists")
        again = stack.cli("work-pool", "create", "setup-pool", "--type", "process",
                          "--if-not-exists")
        duplicate = stack.cli("work-pool", "create", "setup-pool", "--type", "process")
    finally:
        stack.stop()

    assert schema.read_status(db.engine).is_current
    assert created.returncode == 0 and "Created" in created.stdout
    assert again.returncode == 0 and "exists already" in again.stdout
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    db.dispose()
