"""Fixtures shared by the suite: a real Redis from the bundled binary on a free port, a real
flowpool server and real workers as subprocesses, and SQLite / PostgreSQL databases."""
from __future__ import annotations

import itertools
import os
import textwrap
from pathlib import Path

import pytest

from devstack import LocalStack
from orchestrator.embedded_redis import EmbeddedRedis, free_port
from orchestrator.store.database import Database

POSTGRES_URL = os.environ.get("FLOWPOOL_TEST_DATABASE_URL")
_names = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> EmbeddedRedis:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, redis_server) -> LocalStack:
    """One server (API + scheduler) on SQLite for the whole session."""
    local = LocalStack(tmp_path_factory.mktemp("flowpool-home"), redis_url=redis_server.url)
    local.start_server()
    yield local
    local.stop()


@pytest.fixture(scope="session")
def docker_client():
    """A client of the container engine at DOCKER_HOST (the docker and compose tests); the
    test is skipped when none answers."""
    docker = pytest.importorskip("docker")
    where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST is unset)"
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no container engine answers at {where}: {exc}."
                    ' Start one with `eval "$(.ci/container-engine.sh)"`')
    yield client
    client.close()


@pytest.fixture
def unique_name():
    def make(prefix: str) -> str:
        return f"{prefix}-{os.getpid()}-{next(_names)}"
    return make


@pytest.fixture
def process_pool(stack, unique_name):
    """A new process work pool with one worker serving it."""
    def make(limit: int = 2, workers: int = 1) -> str:
        name = unique_name("pool")
        stack.cli("work-pool", "create", name, "--type", "process", check=True)
        for _ in range(workers):
            stack.start_worker(name, "--limit", str(limit))
        return name
    return make


@pytest.fixture
def flow_file(tmp_path):
    """Write a flow file into a fresh project directory; returns (directory, entrypoint)."""
    def write(source: str, function: str, filename: str = "flows.py") -> tuple[Path, str]:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        (project / filename).write_text(textwrap.dedent(source))
        return project, f"{filename}:{function}"
    return write


def _sqlite(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'store.db'}")


def _postgres() -> Database:
    if not POSTGRES_URL:
        pytest.skip("FLOWPOOL_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    db = Database(POSTGRES_URL)
    db.drop_schema()
    return db


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Database:
    """An empty database with flowpool's schema: an SQLite file, then PostgreSQL."""
    db = _sqlite(tmp_path) if request.param == "sqlite" else _postgres()
    db.create_schema()
    yield db
    if request.param == "postgresql":
        db.drop_schema()
    db.dispose()
