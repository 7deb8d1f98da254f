"""Fixtures shared by the suite: a real Redis from the bundled binary on a free port, a real
flowpool server and real workers as subprocesses, and SQLite / PostgreSQL databases.

`make test` runs the suite in parallel processes (pytest-xdist, `--dist loadfile`): each
process has its own Redis, server and PostgreSQL database, and a test file stays in one
process, so that its module-scoped server and workers start once."""
from __future__ import annotations

import itertools
import os
import shutil
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from devstack import LocalStack
from orchestrator.embedded_redis import EmbeddedRedis, free_port
from orchestrator.store import schema
from orchestrator.store.database import Database
from orchestrator.store.tables import metadata

_names = itertools.count(1)


def _database_of_this_process(url: str | None) -> str | None:
    """FLOWPOOL_TEST_DATABASE_URL, or under pytest-xdist a database of this worker's own next
    to it (created when missing): the tests drop and create the whole schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    import psycopg
    from sqlalchemy.engine import make_url

    given = make_url(url)
    own = f"{given.database}_{worker}"
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (own,)).fetchone():
            try:
                conn.execute(f'CREATE DATABASE "{own}"')
            except psycopg.errors.DuplicateDatabase:
                pass  # another run of the suite made it meanwhile
    return given.set(database=own).render_as_string(hide_password=False)


POSTGRES_URL = _database_of_this_process(os.environ.get("FLOWPOOL_TEST_DATABASE_URL"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> EmbeddedRedis:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path) -> EmbeddedRedis:
    """A Redis of the test's own, which it may stop and start (the session's is shared)."""
    server = EmbeddedRedis(tmp_path / "redis", free_port()).start()
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file migrated to the newest schema once: each test gets a copy of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "store.db"
    db = Database(f"sqlite:///{path}")
    db.create_schema()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file
    db.dispose()
    return path


def _sqlite(tmp_path: Path, template: Path) -> Database:
    shutil.copyfile(template, tmp_path / "store.db")
    return Database(f"sqlite:///{tmp_path / 'store.db'}")


def _postgres() -> Database:
    """The newest schema with no rows: emptied when the schema is the one this process made
    (much faster than migrating again), made again when a test changed or dropped it."""
    global _postgres_schema
    if not POSTGRES_URL:
        pytest.skip("FLOWPOOL_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    db = Database(POSTGRES_URL)
    if _postgres_schema is not None and _schema_fingerprint(db) == _postgres_schema:
        _empty(db)
        return db
    db.drop_schema()
    db.create_schema()
    _postgres_schema = _schema_fingerprint(db)
    return db


def _empty(db: Database) -> None:
    """Delete every row and restart the counters. DELETE takes milliseconds on the few rows
    most tests write, TRUNCATE half a second whatever the size: it is kept for big tables."""
    tables = metadata.sorted_tables
    with db.engine.begin() as conn:
        if any(conn.execute(sa.select(1).select_from(t).offset(BIG_TABLE_ROWS)).first()
               for t in tables):
            conn.exec_driver_sql(f"TRUNCATE {', '.join(t.name for t in tables)} CASCADE")
        for table in reversed(tables):
            conn.execute(table.delete())
        for (sequence,) in conn.exec_driver_sql(
                "SELECT sequence_name FROM information_schema.sequences"
                " WHERE sequence_schema = current_schema()"):
            conn.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')


BIG_TABLE_ROWS = 1000
_postgres_schema: str | None = None  # the fingerprint of the schema _postgres() last made
SCHEMA_FINGERPRINT = """
    SELECT md5(concat(
        (SELECT string_agg(concat_ws(' ', table_name, column_name, data_type, is_nullable,
                                     column_default), ',' ORDER BY table_name, column_name)
         FROM information_schema.columns WHERE table_schema = current_schema()),
        (SELECT string_agg(indexdef, ',' ORDER BY indexdef)
         FROM pg_indexes WHERE schemaname = current_schema()),
        (SELECT string_agg(concat_ws(' ', conrelid::regclass::text, pg_get_constraintdef(oid)),
                           ',' ORDER BY 1)
         FROM pg_constraint WHERE connamespace = current_schema()::regnamespace)))
"""


def _schema_fingerprint(db: Database) -> str:
    """Tables, columns, indexes and constraints, and the revision recorded: one digest."""
    with db.engine.connect() as conn:
        digest = conn.exec_driver_sql(SCHEMA_FINGERPRINT).scalar_one()
        revision = schema.read_status(db.engine).current
    return f"{digest} {revision}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Database:
    """An empty database with flowpool's schema: an SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        db = _sqlite(tmp_path, request.getfixturevalue("sqlite_template"))
    else:
        db = _postgres()
    yield db
    db.dispose()
