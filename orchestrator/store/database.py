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
from . import schema
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
        """Migrate to the newest revision (store/schema.py): create the schema on an empty
        database, complete one an older flowpool made."""
        schema.upgrade(self.engine)

    def drop_schema(self) -> None:
        metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            schema.drop_version_table(conn)

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
