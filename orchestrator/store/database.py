"""Connections to the database: an SQLite file by default, PostgreSQL by URL.

The caller owns the transaction: `db.begin()` for writes, `db.connect()` for reads; store
functions take the connection and never commit. On SQLite a write transaction starts with
BEGIN IMMEDIATE, so two writers queue on the lock instead of failing to upgrade it.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event

from ..private_files import DIRECTORY_MODE, private_file
from .sqlite_rebuild import rebuild_json_columns
from .tables import metadata

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = self._create_engine(url)

    def _create_engine(self, url: str) -> sa.Engine:
        if not self.is_sqlite:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
            return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            # results, variables and job variables live here: owner only. SQLite gives its
            # -wal and -shm files the database file's mode.
            Path(path).parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
            private_file(Path(path))
        engine = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                     "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                                  pool_size=10, max_overflow=20)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine

    def create_schema(self) -> None:
        """Create what is missing: tables, and columns added to existing tables since; on an
        SQLite file of an older flowpool, retype its JSON columns (which rebuilds tables, so
        the indexes are made last)."""
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            for table, column in _missing_columns(conn):
                _add_column(conn, table, column)
            for table, column in _narrow_columns(conn):
                _widen_column(conn, table, column)
        if self.is_sqlite:
            rebuild_json_columns(self.engine)
        with self.engine.begin() as conn:
            for table in metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)

    def drop_schema(self) -> None:
        metadata.drop_all(self.engine)

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction, committed on success and rolled back on error."""
        with self.engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info["write"] = False

    @contextlib.contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite_connection(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" hook issue BEGIN itself
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_sqlite_transaction(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")


def _missing_columns(conn: sa.Connection) -> list[tuple[sa.Table, sa.Column]]:
    inspector = sa.inspect(conn)
    missing = []
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [(table, c) for c in table.columns if c.name not in present]
    return missing


def _add_column(conn: sa.Connection, table: sa.Table, column: sa.Column) -> None:
    """Additive migration: existing rows get the column's default (or NULL)."""
    type_sql = column.type.compile(dialect=conn.dialect)
    default = column.default.arg if column.default is not None and column.default.is_scalar else None
    clause = f" DEFAULT {_literal(default)}" if default is not None else ""
    conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {type_sql}{clause}')


def _narrow_columns(conn: sa.Connection) -> list[tuple[sa.Table, sa.Column]]:
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
