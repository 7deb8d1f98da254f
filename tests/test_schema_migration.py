"""Versioned migrations: an empty database, or one an earlier flowpool made (with rows), comes
up to the newest revision with nothing lost; a database that is behind is refused until it is
upgraded; two upgrades at once queue on the lock."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestrator.store import schema
from orchestrator.store.database import Database
from orchestrator.store.migrations import baseline_schema
from orchestrator.store.tables import JSONValue, UTCDateTime, metadata
from tests.conftest import POSTGRES_URL

PREVIOUS_RELEASE = Path(__file__).parent / "golden" / "schema_0_1"
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Database:
    """A database with nothing in it: an SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        if not POSTGRES_URL:
            pytest.skip("FLOWPOOL_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
        db = Database(POSTGRES_URL)
        db.drop_schema()
    yield db
    db.drop_schema()
    db.dispose()


def write_previous_release(db: Database) -> None:
    """The schema exactly as flowpool 0.1.0 created it: its DDL, kept as it was."""
    ddl = (PREVIOUS_RELEASE / f"{db.engine.dialect.name}.sql").read_text()
    with db.engine.begin() as conn:
        text = "\n".join(line for line in ddl.splitlines() if not line.startswith("--"))
        for statement in text.split(";\n"):
            if statement.strip():
                conn.exec_driver_sql(statement)


def sample_value(table: sa.Table, column: sa.Column, written: dict):
    """A value for one column; a foreign key points at the row written in its table."""
    for key in column.foreign_keys:
        return written[key.column.table.name][key.column.name]
    kind = column.type
    if isinstance(kind, JSONValue):
        return {"kept": [1, 2.5, 2 ** 70], "name": table.name}
    if isinstance(kind, UTCDateTime):
        return AT
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Float):
        return 1.25
    if isinstance(kind, (sa.Integer, sa.BigInteger)):
        return 7
    return f"{table.name}-{column.name}"[:getattr(kind, "length", None) or 200]


def write_a_row_in_every_table(db: Database) -> dict[str, dict]:
    """One row in every table of the previous release, every column set."""
    written: dict[str, dict] = {}
    with db.engine.begin() as conn:
        for table in baseline_schema.metadata.sorted_tables:
            row = {c.name: sample_value(table, c, written) for c in table.columns}
            conn.execute(table.insert().values(row))
            written[table.name] = row
    return written


def read_every_table(db: Database) -> dict[str, list[dict]]:
    with db.engine.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))]
                for t in baseline_schema.metadata.sorted_tables}


def test_an_empty_database_is_created_at_the_newest_revision(empty_database):
    assert schema.read_status(empty_database.engine).describe().startswith("empty")

    status = schema.upgrade(empty_database.engine)

    assert status.current == status.head == schema.history()[-1].revision
    assert set(sa.inspect(empty_database.engine).get_table_names()) == {
        *metadata.tables, schema.VERSION_TABLE}


def test_a_database_of_the_previous_release_keeps_every_row(empty_database):
    write_previous_release(empty_database)
    written = write_a_row_in_every_table(empty_database)
    before = read_every_table(empty_database)
    assert all(len(rows) == 1 for rows in before.values())
    assert "made by flowpool 0.1" in schema.read_status(empty_database.engine).describe()

    status = schema.upgrade(empty_database.engine)

    assert status.is_current
    after = read_every_table(empty_database)
    assert after == before
    assert after["variables"][0]["value"] == written["variables"]["value"]


def test_the_newest_revision_is_exactly_the_schema_the_code_uses(empty_database):
    """A table or column added to store/tables.py without a migration fails here: add one
    (ARCHITECTURE.md, "A change of schema")."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    schema.upgrade(empty_database.engine)

    with empty_database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_a_database_that_is_behind_is_refused_naming_the_command(empty_database):
    write_previous_release(empty_database)

    with pytest.raises(schema.SchemaBehind, match="flowpool database upgrade"):
        schema.ensure_current(empty_database.engine, "db-url", upgrade_if_behind=False)

    assert not sa.inspect(empty_database.engine).has_table(schema.VERSION_TABLE)
    status = schema.ensure_current(empty_database.engine, "db-url", upgrade_if_behind=True)
    assert status.is_current


def test_an_empty_database_needs_no_upgrade_command(empty_database):
    assert schema.ensure_current(empty_database.engine, "db-url", upgrade_if_behind=False).is_current


def test_a_database_upgraded_by_a_newer_flowpool_is_refused(empty_database):
    schema.upgrade(empty_database.engine)
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'")

    with pytest.raises(schema.SchemaAhead, match="9999.*newer flowpool"):
        schema.ensure_current(empty_database.engine, "db-url", upgrade_if_behind=True)


def test_two_upgrades_at_once_queue_on_the_lock(empty_database):
    write_previous_release(empty_database)
    write_a_row_in_every_table(empty_database)
    before = read_every_table(empty_database)
    errors, results = [], []

    def upgrade():
        db = Database(empty_database.url)
        try:
            results.append(schema.upgrade(db.engine))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [] and len(results) == 2 and all(r.is_current for r in results)
    assert read_every_table(empty_database) == before


def test_columns_and_indexes_added_since_an_older_schema_are_created(empty_database):
    write_previous_release(empty_database)
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE deployments DROP COLUMN retries")
        conn.exec_driver_sql("ALTER TABLE deployment_schedules DROP COLUMN error")
        conn.exec_driver_sql("DROP INDEX ix_flow_runs_state_scheduled")

    schema.upgrade(empty_database.engine)

    inspector = sa.inspect(empty_database.engine)
    assert "retries" in {c["name"] for c in inspector.get_columns("deployments")}
    assert "error" in {c["name"] for c in inspector.get_columns("deployment_schedules")}
    assert "ix_flow_runs_state_scheduled" in {i["name"] for i in inspector.get_indexes("flow_runs")}


def test_state_history_ids_made_32_bit_by_an_older_schema_become_64_bit(empty_database):
    if empty_database.is_sqlite:
        pytest.skip("SQLite's INTEGER primary key is 64-bit already")
    write_previous_release(empty_database)
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE flow_run_states ALTER COLUMN id TYPE INTEGER")
        conn.exec_driver_sql("ALTER SEQUENCE flow_run_states_id_seq AS INTEGER")

    schema.upgrade(empty_database.engine)

    columns = {c["name"]: c for c in sa.inspect(empty_database.engine).get_columns("flow_run_states")}
    assert isinstance(columns["id"]["type"], sa.BigInteger)
    with empty_database.engine.begin() as conn:
        conn.exec_driver_sql("SELECT setval('flow_run_states_id_seq', 3000000000)")
        assert conn.exec_driver_sql("SELECT nextval('flow_run_states_id_seq')").scalar() > 2 ** 31
