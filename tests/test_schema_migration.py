"""A database made by an earlier flowpool keeps working: missing columns are added."""
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
