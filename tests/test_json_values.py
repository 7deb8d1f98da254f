"""JSON values in the store come back exactly, on a real SQLite file and a real PostgreSQL
server: 3.0 stays a float, 2**70 an int, objects keep their key order. An SQLite file made by
an older flowpool (JSON columns declared JSON) is migrated and its rows still read."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from orchestrator.models import LogCreate, StateProposal, utcnow
from orchestrator.states import Origin, StateType
from orchestrator.store import flow_runs, logs, variables
from orchestrator.store.database import Database
from orchestrator.store.migrations import baseline_schema
from orchestrator.store.tables import JSONValue

from .test_store import claim, dispatch, make_deployment, make_run

EXACT_VALUES = [
    3.0, -0.0, 0.1, 1e-300, 5e-324, 1.7976931348623157e308, 0.30000000000000004,
    2**70, -2**100, 2**63, 0, True, None, "3.0", "", "é中😀", "nul \u0000 inside",
    [], {}, [1.0, [2**64, {}]], {"z": 1, "a": {"y": 2.0, "b": [None, False]}, "": "empty"},
]


def same_json(got, expected) -> bool:
    """Equal as JSON text: 3 is not 3.0, and the keys are in the same order."""
    return json.dumps(got) == json.dumps(expected)


@pytest.mark.parametrize("value", EXACT_VALUES, ids=repr)
def test_a_variable_comes_back_exactly_as_it_was_set(database, value):
    with database.begin() as conn:
        variables.set_variable(conn, "v", value, utcnow())
    with database.connect() as conn:
        got = variables.read_variable(conn, "v").value

    assert same_json(got, value)


def test_a_result_comes_back_exactly_as_the_flow_returned_it(database):
    result = {"float": 3.0, "big": 2**70, "tiny": 1e-300, "list": [0.1, -2**100], "emoji": "😀"}
    run = complete_a_run(database, result)

    with database.connect() as conn:
        stored = flow_runs.read_flow_run(conn, run.id).result

    assert same_json(stored, result)


def complete_a_run(db: Database, result):
    run = make_run(db, make_deployment(db))
    token = dispatch(db)[0][1].token
    with db.begin() as conn:
        claim(conn, run.id, token)
        flow_runs.set_state(conn, run.id, StateProposal(type=StateType.COMPLETED, token=token,
                                                        result=result),
                            Origin.TOKEN_HOLDER, utcnow())
    return run


def create_older_schema(db: Database) -> None:
    """The schema of flowpool 0.1.0 as an older flowpool created it: JSON columns declared
    JSON, no revision recorded."""
    old = sa.MetaData()
    for table in baseline_schema.metadata.sorted_tables:
        for column in table.to_metadata(old).columns:
            if isinstance(column.type, JSONValue):
                column.type = sa.JSON()
    old.create_all(db.engine)


def write_an_older_run(db: Database, result, values: dict | None = None) -> str:
    """A completed run and variables, written into the 0.1.0 tables as JSON text (today's
    store also writes tables 0.1.0 did not have, such as events)."""
    old, now = baseline_schema, utcnow()
    with db.begin() as conn:
        conn.execute(old.work_pools.insert().values(
            id="pool-1", name="pool-a", type="process", base_job_template={},
            created=now, updated=now))
        conn.execute(old.work_queues.insert().values(
            id="queue-1", work_pool_name="pool-a", name="default", created=now))
        conn.execute(old.deployments.insert().values(
            id="deployment-1", flow_name="f", name="d", entrypoint="flows.py:f", tags=[],
            parameters={}, parameter_schema={}, work_pool_name="pool-a",
            work_queue_name="default", job_variables={}, created=now, updated=now))
        conn.execute(old.flow_runs.insert().values(
            id="run-1", name="older-run", flow_name="f", deployment_id="deployment-1",
            work_pool_name="pool-a", work_queue_name="default", parameters={"n": 1},
            job_variables={}, tags=[], state_type="COMPLETED", state_name="Completed",
            state_changed=now, scheduled_time=now, result=result, created=now, updated=now))
        for i, (name, value) in enumerate((values or {}).items()):
            conn.execute(old.variables.insert().values(
                id=f"variable-{i}", name=name, value=value, created=now, updated=now))
    return "run-1"


def drop_log_budget_columns(db: Database) -> None:
    """An older flowpool had no log budget columns either (they are dropped after writing the
    rows with today's store: JSON text lands in them as it did then)."""
    with db.engine.begin() as conn:
        for column in ("log_bytes", "log_lines_dropped", "log_bytes_dropped"):
            conn.exec_driver_sql(f"ALTER TABLE flow_runs DROP COLUMN {column}")


def read_back(db: Database, run_id: str) -> dict:
    with db.connect() as conn:
        run = flow_runs.read_flow_run(conn, run_id)
        values = {v.name: v.value for v in variables.list_variables(conn)}
    return {"result": run.result, "parameters": run.parameters, "variables": values}


def test_an_sqlite_file_of_an_older_flowpool_is_migrated_and_its_rows_still_read(tmp_path):
    old = Database(f"sqlite:///{tmp_path / 'old.db'}")
    create_older_schema(old)
    run_id = write_an_older_run(old, {"kept": [1.5, 2]}, {
        "float": 3.0, "big": 2**70, "sum": 0.1 + 0.2, "text": "main",
        "doc": {"b": 1, "a": [2.5]}, "nothing": None})
    before = read_back(old, run_id)
    drop_log_budget_columns(old)
    old.dispose()

    db = Database(old.url)
    db.create_schema()

    declared = {c["name"]: str(c["type"]) for c in sa.inspect(db.engine).get_columns("variables")}
    assert declared["value"] == "TEXT"
    assert same_json(read_back(db, run_id), before)  # what an older flowpool rounded stays
    assert before["variables"]["float"] == 3 and before["variables"]["sum"] == 0.1 + 0.2
    with db.begin() as conn:
        variables.set_variable(conn, "float", 3.0, utcnow())
    assert same_json(read_back(db, run_id)["variables"]["float"], 3.0)
    assert "ix_flow_runs_state_scheduled" in {
        i["name"] for i in sa.inspect(db.engine).get_indexes("flow_runs")}
    with db.begin() as conn:
        budget = logs.create_logs(conn, run_id, [LogCreate(timestamp=utcnow(), message="old")],
                                  100, utcnow())
    assert budget.created == 1 and budget.bytes_left == 97


def test_foreign_keys_hold_after_the_migration(tmp_path):
    old = Database(f"sqlite:///{tmp_path / 'old.db'}")
    create_older_schema(old)
    run_id = write_an_older_run(old, 1)
    drop_log_budget_columns(old)
    old.dispose()
    db = Database(old.url)
    db.create_schema()

    with db.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.exec_driver_sql("INSERT INTO work_queues (id, work_pool_name, name, priority, "
                             "paused, created) VALUES ('q', 'no-such-pool', 'q', 1, 0, "
                             "'2024-01-01')")
    with db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM deployments")
    with db.connect() as conn:
        assert flow_runs.read_flow_run(conn, run_id).deployment_id is None  # ON DELETE SET NULL
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_the_migration_runs_once(tmp_path):
    from orchestrator.store.sqlite_rebuild import rebuild_json_columns

    old = Database(f"sqlite:///{tmp_path / 'old.db'}")
    create_older_schema(old)

    with old.begin() as conn:
        assert "variables" in rebuild_json_columns(conn, baseline_schema.metadata)
    with old.begin() as conn:
        assert rebuild_json_columns(conn, baseline_schema.metadata) == []
