"""INSERT ... ON CONFLICT for the two databases flowpool runs on (SQLite, PostgreSQL): both
speak the same clause, through their own SQLAlchemy dialect."""
from __future__ import annotations

import sqlalchemy as sa


def insert(conn: sa.Connection, table: sa.Table):
    """An INSERT into `table` that takes `.on_conflict_do_update()` / `_do_nothing()`."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise NotImplementedError(f"no upsert for {conn.dialect.name}")
    return dialect_insert(table)
