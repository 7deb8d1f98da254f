"""Task results cached across runs: a JSON value under a cache key, until it expires."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

from ..bounds import check_json_size
from .base import Model, Timestamp
from .json_values import finite_json

# Keys travel in the URL path: the HTTP reporter sends a hash of the SDK's cache key.
CACHE_KEY_PATTERN = r"^[A-Za-z0-9_.:-]+$"
CacheKey = Annotated[str, StringConstraints(pattern=CACHE_KEY_PATTERN, max_length=200)]
CachedValue = Annotated[Any, AfterValidator(finite_json), AfterValidator(check_json_size)]


class TaskCacheWrite(Model):
    """What `PUT /task_cache/KEY` sends: the value, and when it expires (null: never)."""

    value: CachedValue = None
    expires_at: Timestamp | None = None


class TaskCacheEntry(Model):
    key: str
    value: Any = None
    expires_at: datetime | None = None
    created: datetime
    updated: datetime
