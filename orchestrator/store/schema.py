"""Versioned migrations of the schema, on Alembic: upgrade under a lock, read the revision.

The migrations live in `migrations/versions/`, one file per revision; the database records
the revision it is at in Alembic's `alembic_version` table. An upgrade runs in one
transaction, which on PostgreSQL first takes an advisory lock and on SQLite is a BEGIN
IMMEDIATE: two servers that upgrade at once queue, and the second finds nothing left to do.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from ..errors import FlowpoolError

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
# pg_advisory_xact_lock key of schema upgrades: any fixed number, the same in every process
UPGRADE_LOCK_KEY = 0x666C6F77706F6F6C  # "flowpool"
UPGRADE_COMMAND = "flowpool database upgrade"


class SchemaBehind(FlowpoolError):
    """The database's schema is older than this flowpool's."""


class SchemaAhead(FlowpoolError):
    """The database was upgraded by a newer flowpool than this one."""


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    description: str


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # None: no revision recorded (an empty database, or one made before 0.2)
    head: str
    has_tables: bool

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.current is None:
            return ("no revision: made by flowpool 0.1 (before versioned migrations)"
                    if self.has_tables else "empty: no flowpool tables yet")
        return self.current + (" (head)" if self.is_current else f" (head is {self.head})")


def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def history() -> list[Revision]:
    """Every revision, oldest first."""
    return [Revision(r.revision, r.down_revision, (r.doc or "").strip())
            for r in reversed(list(_script().walk_revisions()))]


def head_revision() -> str:
    return _script().get_current_head()


def read_status(engine: sa.Engine) -> SchemaStatus:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        has_tables = sa.inspect(conn).has_table("work_pools")
    return SchemaStatus(current, head_revision(), has_tables)


def upgrade(engine: sa.Engine, revision: str = "head") -> SchemaStatus:
    """Migrate to `revision` under the upgrade lock; the status after."""
    from alembic import command
    from alembic.config import Config

    with _upgrade_transaction(engine) as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return read_status(engine)


def ensure_current(engine: sa.Engine, url: str, upgrade_if_behind: bool) -> SchemaStatus:
    """Refuse a database this flowpool cannot use as it is; an empty one is created, and one
    that is behind is upgraded only when asked."""
    status = read_status(engine)
    if status.is_current:
        return status
    if status.current is not None and status.current not in {r.revision for r in history()}:
        raise SchemaAhead(
            f"the database at {url} is at revision {status.current}, which this flowpool does"
            f" not know (its newest is {status.head}): a newer flowpool upgraded it; run that"
            " version")
    if not status.has_tables or upgrade_if_behind:
        return upgrade(engine)
    raise SchemaBehind(
        f"the database at {url} is behind this flowpool: {status.describe()}, needs"
        f" {status.head}. Run `{UPGRADE_COMMAND}` (back it up first), or start with --upgrade")


@contextlib.contextmanager
def _upgrade_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One write transaction holding the upgrade lock. On SQLite, foreign keys are off while
    it lasts (a table rebuild must not cascade) and checked before the commit."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: before BEGIN
        conn.info["write"] = True  # SQLite: BEGIN IMMEDIATE, the lock itself
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": UPGRADE_LOCK_KEY})
                yield conn
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the upgrade broke foreign keys; nothing was changed")
        finally:
            conn.info["write"] = False
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def drop_version_table(conn: sa.Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {VERSION_TABLE}")
