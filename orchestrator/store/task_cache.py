"""The task cache in the database: a JSON value per cache key, until it expires. A write
replaces what the key held; an expired entry reads as missing."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..errors import FieldError, NotFound
from ..models.task_cache import TaskCacheEntry, TaskCacheWrite
from .tables import task_cache
from .upserts import insert


def read_cache_entry(conn: sa.Connection, key: str, now: datetime) -> TaskCacheEntry:
    row = conn.execute(sa.select(task_cache).where(task_cache.c.key == key)).mappings().first()
    if row is None or (row["expires_at"] is not None and row["expires_at"] <= now):
        raise NotFound(f"no cached result under {key!r}", [FieldError(
            "key", "the task runs and caches its result under this key")])
    return TaskCacheEntry.model_validate(dict(row))


def write_cache_entry(conn: sa.Connection, key: str, entry: TaskCacheWrite,
                      now: datetime) -> TaskCacheEntry:
    statement = insert(conn, task_cache).values(key=key, value=entry.value,
                                                expires_at=entry.expires_at, created=now,
                                                updated=now)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[task_cache.c.key],
        set_={"value": entry.value, "expires_at": entry.expires_at, "updated": now}))
    row = conn.execute(sa.select(task_cache).where(task_cache.c.key == key)).mappings().one()
    return TaskCacheEntry.model_validate(dict(row))
