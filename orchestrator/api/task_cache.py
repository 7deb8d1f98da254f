"""Routes of the task cache: task results (JSON) cached across runs by cache key."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from ..models.task_cache import CACHE_KEY_PATTERN, TaskCacheEntry, TaskCacheWrite
from ..store import task_cache as store
from ..store.database import Database
from .checks import CheckedRoute
from .dependencies import get_db, utcnow
from .errors import ERROR_RESPONSES

router = APIRouter(prefix="/task_cache", tags=["task cache"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)
CacheKeyPath = Path(pattern=CACHE_KEY_PATTERN, max_length=200)


@router.get("/{key}")
def read_cache_entry(key: str = CacheKeyPath, db: Database = Depends(get_db)) -> TaskCacheEntry:
    """The value cached under `key`; 404 when there is none or it has expired."""
    with db.connect() as conn:
        return store.read_cache_entry(conn, key, utcnow())


@router.put("/{key}")
def write_cache_entry(entry: TaskCacheWrite, key: str = CacheKeyPath,
                      db: Database = Depends(get_db)) -> TaskCacheEntry:
    """Cache a value under `key` (replacing what it held), until `expires_at` if given."""
    with db.begin() as conn:
        return store.write_cache_entry(conn, key, entry, utcnow())
