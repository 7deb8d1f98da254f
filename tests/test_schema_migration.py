"""A database made by an earlier flowpool keeps working: missing columns are added."""
import pytest
import sqlalchemy as sa

from orchestrator.store.database import Database


def test_columns_added_since_an_older_schema_are_created_with_their_defaults(database):
    with database.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE deployments DROP COLUMN retries")
        conn.exec_driver_sql("ALTER TABLE deployments DROP COLUMN timeout_seconds")

    Database(database.url).create_schema()

    columns = {c["name"]: c for c in sa.inspect(database.engine).get_columns("deployments")}
    assert "retries" in columns and "timeout_seconds" in columns


def test_indexes_added_since_an_older_schema_are_created(database):
    with database.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_flow_runs_state_scheduled")

    Database(database.url).create_schema()

    names = {i["name"] for i in sa.inspect(database.engine).get_indexes("flow_runs")}
    assert "ix_flow_runs_state_scheduled" in names


def test_state_history_ids_made_32_bit_by_an_older_schema_become_64_bit(database):
    if database.is_sqlite:
        pytest.skip("SQLite's INTEGER primary key is 64-bit already")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE flow_run_states ALTER COLUMN id TYPE INTEGER")
        conn.exec_driver_sql("ALTER SEQUENCE flow_run_states_id_seq AS INTEGER")

    Database(database.url).create_schema()

    columns = {c["name"]: c for c in sa.inspect(database.engine).get_columns("flow_run_states")}
    assert isinstance(columns["id"]["type"], sa.BigInteger)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("SELECT setval('flow_run_states_id_seq', 3000000000)")
        assert conn.exec_driver_sql("SELECT nextval('flow_run_states_id_seq')").scalar() > 2 ** 31


def test_schedules_of_an_older_schema_get_the_error_column(database):
    with database.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE deployment_schedules DROP COLUMN error")

    Database(database.url).create_schema()

    columns = {c["name"] for c in sa.inspect(database.engine).get_columns("deployment_schedules")}
    assert "error" in columns
