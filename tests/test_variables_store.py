"""Variables in the store, on a real SQLite file and a real PostgreSQL server: set creates
or replaces, any JSON value (null included) comes back as it went in."""
from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.errors import NotFound
from orchestrator.models import utcnow
from orchestrator.store import variables


def test_set_creates_then_replaces_and_keeps_the_creation_time(database):
    first, later = utcnow(), utcnow() + timedelta(seconds=5)
    with database.begin() as conn:
        created, is_new = variables.set_variable(conn, "branch", "main", first)
    with database.begin() as conn:
        replaced, is_new_again = variables.set_variable(conn, "branch", {"name": "dev"}, later)

    assert is_new and not is_new_again
    assert replaced.id == created.id and replaced.created == created.created
    assert replaced.value == {"name": "dev"} and replaced.updated > created.updated


@pytest.mark.parametrize("value", [None, 0, False, "", [1, "two"], {"a": {"b": None}}])
def test_every_json_value_comes_back_as_it_went_in(database, value):
    with database.begin() as conn:
        variables.set_variable(conn, "v", value, utcnow())
    with database.connect() as conn:
        assert variables.read_variable(conn, "v").value == value


def test_variables_are_listed_by_name_and_deleted(database):
    with database.begin() as conn:
        for name in ("b", "a", "c"):
            variables.set_variable(conn, name, name, utcnow())
        variables.delete_variable(conn, "b")
    with database.connect() as conn:
        assert [v.name for v in variables.list_variables(conn)] == ["a", "c"]
        with pytest.raises(NotFound, match="variable 'b' does not exist"):
            variables.read_variable(conn, "b")
    with database.begin() as conn, pytest.raises(NotFound):
        variables.delete_variable(conn, "b")
