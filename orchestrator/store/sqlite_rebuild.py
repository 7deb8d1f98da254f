"""SQLite files made by an older flowpool: JSON columns declared `JSON` become TEXT.

SQLite gives a column declared JSON NUMERIC affinity, which turns the stored text `3.0` into
the integer 3 and `2**70` into a float. SQLite cannot change a column's type in place, so each
such table is rebuilt, as its documentation prescribes
(https://www.sqlite.org/lang_altertable.html#otheralter): create the new table, copy the rows,
drop the old one, rename the new one, check the foreign keys. The caller runs it in one
transaction with foreign keys off (store/schema.py does), so dropping a table cascades
nothing. Values an older flowpool already rounded stay as they were stored.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from .tables import JSONValue


def rebuild_json_columns(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Rebuild the tables of `metadata` whose JSON columns are still declared JSON; their
    names. Their indexes go with them: the caller creates the missing indexes afterwards."""
    tables = [t for t in metadata.sorted_tables if _declared_json(conn, t)]
    for table in tables:
        _rebuild(conn, table)
    _check_foreign_keys(conn)
    return [t.name for t in tables]


def _json_columns(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, JSONValue)]


def _declared_json(conn: sa.Connection, table: sa.Table) -> bool:
    declared = {row[1]: row[2].upper()
                for row in conn.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
    return any(declared.get(name) == "JSON" for name in _json_columns(table))


def _rebuild(conn: sa.Connection, table: sa.Table) -> None:
    new = f"{table.name}__rebuilt"
    ddl = str(CreateTable(table).compile(dialect=conn.dialect))
    head = f"CREATE TABLE {table.name} ("
    if head not in ddl:
        raise RuntimeError(f"unexpected DDL for table {table.name}: {ddl[:80]}")
    conn.exec_driver_sql(ddl.replace(head, f"CREATE TABLE {new} (", 1))
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    conn.exec_driver_sql(f'INSERT INTO "{new}" ({columns}) SELECT {columns} FROM "{table.name}"')
    _copy_floats_exactly(conn, table, new)
    conn.exec_driver_sql(f'DROP TABLE "{table.name}"')  # its indexes go with it; recreated later
    conn.exec_driver_sql(f'ALTER TABLE "{new}" RENAME TO "{table.name}"')


def _copy_floats_exactly(conn: sa.Connection, table: sa.Table, new: str) -> None:
    """SQLite turns a REAL into text with 15 significant digits; Python's repr keeps all."""
    key = table.primary_key.columns.values()[0].name
    for column in _json_columns(table):
        rows = conn.exec_driver_sql(
            f'SELECT "{key}", "{column}" FROM "{table.name}" WHERE typeof("{column}") = \'real\'')
        exact = [(json.dumps(value), ident) for ident, value in rows]
        if exact:
            conn.exec_driver_sql(f'UPDATE "{new}" SET "{column}" = ? WHERE "{key}" = ?', exact)


def _check_foreign_keys(conn: sa.Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"rebuilding the JSON columns broke foreign keys: {broken[:5]}")
