"""A run's log budget in the store, on a real SQLite file and a real PostgreSQL server: lines
are stored until the budget is spent, then dropped and counted behind one marker line."""
from __future__ import annotations

import threading

import pytest

from orchestrator.errors import NotFound
from orchestrator.models import LogCreate, utcnow
from orchestrator.models.logs import MAX_LINE_BYTES, LogsDropped
from orchestrator.store import flow_runs, logs
from orchestrator.store.database import Database
from orchestrator.store.migrations import baseline_schema

from .test_json_values import drop_log_budget_columns, write_an_older_run
from .test_store import make_deployment, make_run


@pytest.fixture
def run_id(database):
    return make_run(database, make_deployment(database)).id


def lines(*messages: str) -> list[LogCreate]:
    return [LogCreate(timestamp=utcnow(), message=m) for m in messages]


def ship(db, run_id, entries, limit_bytes):
    with db.begin() as conn:
        return logs.create_logs(conn, run_id, entries, limit_bytes, utcnow())


def stored(db, run_id, page=1000):
    """Every line of the run, read page by page."""
    found, after = [], 0
    while page_lines := _page(db, run_id, after, page):
        found += page_lines
        after = page_lines[-1].id
    return found


def _page(db, run_id, after, limit):
    with db.connect() as conn:
        return logs.read_logs(conn, run_id, after, limit)


def usage(db, run_id):
    with db.connect() as conn:
        run = flow_runs.read_flow_run(conn, run_id)
    return run.log_bytes, run.log_lines_dropped, run.log_bytes_dropped


def test_lines_within_the_budget_are_stored_in_order_and_read_in_pages(database, run_id):
    budget = ship(database, run_id, lines(*(f"line {i}" for i in range(25))), 1000)

    found = stored(database, run_id, page=7)

    assert [e.message for e in found] == [f"line {i}" for i in range(25)]
    assert budget.created == 25 and budget.dropped == 0 and not budget.spent
    assert budget.bytes_left == 1000 - sum(len(f"line {i}") for i in range(25))
    assert usage(database, run_id) == (1000 - budget.bytes_left, 0, 0)


def test_a_batch_past_the_budget_keeps_what_fits_then_stores_one_marker(database, run_id):
    budget = ship(database, run_id, lines(*["x" * 30] * 5), 100)

    found = stored(database, run_id)

    assert budget.created == 3 and budget.dropped == 2 and budget.spent and budget.bytes_left == 0
    assert [e.message for e in found[:3]] == ["x" * 30] * 3
    assert len(found) == 4 and found[3].source == logs.MARKER_SOURCE
    assert found[3].message == ("log budget reached (FLOWPOOL_RUN_LOG_LIMIT = 100 bytes): "
                                "2 later lines (60 bytes) were dropped")
    assert usage(database, run_id) == (90, 2, 60)


def test_once_spent_every_later_line_is_dropped_and_the_marker_keeps_count(database, run_id):
    ship(database, run_id, lines("a" * 8, "b" * 8), 10)
    later = ship(database, run_id, lines("c"), 10)  # would fit the 2 bytes left: still dropped
    with database.begin() as conn:
        reported = logs.record_dropped_logs(conn, run_id, LogsDropped(lines=100, bytes=5000),
                                            10, utcnow())

    found = stored(database, run_id)

    assert later.created == 0 and later.dropped == 1 and reported.spent
    assert [e.message for e in found[:1]] == ["a" * 8]
    assert len(found) == 2 and "102 later lines (5009 bytes) were dropped" in found[1].message
    assert usage(database, run_id) == (8, 102, 5009)


def test_lines_the_engine_dropped_itself_spend_the_budget(database, run_id):
    with database.begin() as conn:
        budget = logs.record_dropped_logs(conn, run_id, LogsDropped(lines=3, bytes=30), 1000,
                                          utcnow())
    later = ship(database, run_id, lines("after"), 1000)

    assert budget.spent and later.dropped == 1
    assert [e.source for e in stored(database, run_id)] == [logs.MARKER_SOURCE]
    assert usage(database, run_id) == (0, 4, 35)


def test_concurrent_batches_never_store_more_than_the_budget(database, run_id):
    batch, limit = lines(*["y" * 100] * 20), 10_000  # 8 writers x 2,000 bytes: 16,000 sent
    barrier = threading.Barrier(8)

    def writer():
        barrier.wait()
        ship(database, run_id, batch, limit)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    found = stored(database, run_id)
    markers = [e for e in found if e.source == logs.MARKER_SOURCE]
    assert usage(database, run_id) == (10_000, 60, 6000)
    assert len(found) == 101 and len(markers) == 1 and found[-1] is markers[0]
    assert "60 later lines (6000 bytes)" in markers[0].message


def test_long_lines_are_cut_and_nul_is_stored_as_a_replacement_character(database, run_id):
    ship(database, run_id, lines("z" * (MAX_LINE_BYTES + 1000), "a\x00b"), 10**6)

    long, nul = stored(database, run_id)

    assert long.message.startswith("z" * MAX_LINE_BYTES)
    assert long.message.endswith(f"line cut at {MAX_LINE_BYTES} bytes; 1000 more bytes not kept]")
    assert nul.message == "a\ufffdb"


def test_lines_of_an_unknown_run_are_refused(database):
    with pytest.raises(NotFound, match="flow run nope does not exist"):
        ship(database, "nope", lines("x"), 100)


def test_runs_of_a_database_made_before_the_budget_start_with_it_unspent(database):
    database.drop_schema()  # made again as flowpool before 0.1.0 made it: no revision recorded
    with database.engine.begin() as conn:
        baseline_schema.metadata.create_all(conn)
    run_id = write_an_older_run(database, None)
    drop_log_budget_columns(database)

    Database(database.url).create_schema()
    budget = ship(database, run_id, lines("after the upgrade"), 100)

    assert budget.created == 1 and usage(database, run_id) == (17, 0, 0)
