"""Bring a database an older flowpool made up to a given set of tables, keeping every row.

Before versioned migrations, flowpool completed its schema in place at each start: created
missing tables, added missing columns, widened 32-bit ids, retyped SQLite JSON columns. The
first migration (migrations/versions/0001_baseline.py) does the same against the frozen
0.1.0 schema, so a database of any earlier release upgrades like an empty one.
"""
from __future__ import annotations

import sqlalchemy as sa

from .sqlite_rebuild import rebuild_json_columns


def complete_schema(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Create what `metadata` has and the database lacks; change nothing else."""
    metadata.create_all(conn, checkfirst=True)
    for table, column in _missing_columns(conn, metadata):
        _add_column(conn, table, column)
    for table, column in _narrow_columns(conn, metadata):
        _widen_column(conn, table, column)
    if conn.dialect.name == "sqlite":
        rebuild_json_columns(conn, metadata)
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _missing_columns(conn: sa.Connection, metadata: sa.MetaData) -> list[tuple[sa.Table, sa.Column]]:
    inspector = sa.inspect(conn)
    missing = []
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [(table, c) for c in table.columns if c.name not in present]
    return missing


def _add_column(conn: sa.Connection, table: sa.Table, column: sa.Column) -> None:
    """Additive: existing rows get the column's default (or NULL)."""
    type_sql = column.type.compile(dialect=conn.dialect)
    default = column.default.arg if column.default is not None and column.default.is_scalar else None
    clause = f" DEFAULT {_literal(default)}" if default is not None else ""
    conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {type_sql}{clause}')


def _narrow_columns(conn: sa.Connection, metadata: sa.MetaData) -> list[tuple[sa.Table, sa.Column]]:
    """PostgreSQL columns made 32-bit by an older version that are 64-bit now."""
    if conn.dialect.name != "postgresql":
        return []
    inspector = sa.inspect(conn)
    narrow = []
    for table in metadata.sorted_tables:
        present = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
        narrow += [(table, c) for c in table.columns
                   if isinstance(c.type.dialect_impl(conn.dialect), sa.BigInteger)
                   and type(present.get(c.name)) is sa.INTEGER]
    return narrow


def _widen_column(conn: sa.Connection, table: sa.Table, column: sa.Column) -> None:
    """Make a column (and the sequence that numbers it, if any) 64-bit."""
    conn.exec_driver_sql(f"ALTER TABLE {table.name} ALTER COLUMN {column.name} TYPE BIGINT")
    sequence = conn.exec_driver_sql(
        f"SELECT pg_get_serial_sequence('{table.name}', '{column.name}')").scalar()
    if sequence:
        conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} AS BIGINT")


def _literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
