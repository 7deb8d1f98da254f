"""What `flowpool database` does: read the schema's revision, list the migrations, upgrade.

The database is the server's: FLOWPOOL_DATABASE_URL, else the SQLite file under FLOWPOOL_HOME.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from config.settings import Settings

from .errors import FieldError, InvalidInput
from .store import schema
from .store.database import Database
from .urls import masked_url


@contextlib.contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.effective_database_url)
    try:
        yield db
    finally:
        db.dispose()


def shown_url(db: Database) -> str:
    return masked_url(db.url)


def read_status(db: Database) -> schema.SchemaStatus:
    return schema.read_status(db.engine)


def upgrade(db: Database, revision: str) -> schema.SchemaStatus:
    """Migrate to `revision` ("head": the newest); several hosts may run it at once."""
    known = [r.revision for r in schema.history()]
    if revision != "head" and revision not in known:
        raise InvalidInput("no such revision", [FieldError(
            "--revision", f"{revision!r} is not a revision; use head or one of {', '.join(known)}"
                          " (see `flowpool database history`)")])
    current = schema.read_status(db.engine).current
    if current is not None and current not in known:
        raise schema.SchemaAhead(
            f"the database at {shown_url(db)} is at revision {current}, which this flowpool does"
            " not know: a newer flowpool upgraded it; run that version")
    if revision != "head" and current in known and known.index(revision) < known.index(current):
        raise InvalidInput("that revision is older than the database's", [FieldError(
            "--revision", f"the database is at {current} already; downgrades are not offered:"
                          " restore a backup instead")])
    return schema.upgrade(db.engine, revision)


def history() -> list[schema.Revision]:
    return schema.history()
