"""Task results cached on local disk, so a cached task is served across runs and processes.

One file per cache key under `FLOWPOOL_HOME/task-cache/` (the file name is a hash of the key,
so any key is a safe name), holding the expiry and the pickled value. Written to a temporary
file first and renamed, so a reader never sees half a value.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from .reporting import CacheEntry


def flowpool_home() -> Path:
    """`FLOWPOOL_HOME`, read now (as config.settings does, without importing pydantic)."""
    return Path(os.environ.get("FLOWPOOL_HOME") or Path.home() / ".flowpool")


class DiskCache:
    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else flowpool_home() / "task-cache"

    def _path(self, key: str) -> Path:
        return self.directory / hashlib.sha256(key.encode()).hexdigest()

    def read(self, key: str) -> CacheEntry | None:
        try:
            with open(self._path(key), "rb") as file:
                expires_at, value = pickle.load(file)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a damaged or foreign entry is a cache miss
            return None
        return CacheEntry(value, expires_at)

    def write(self, key: str, value: Any, expires_at: float | None) -> bool:
        try:
            data = pickle.dumps((expires_at, value))
        except Exception:  # noqa: BLE001 - not every value pickles; then it is not cached
            return False
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".writing-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, self._path(key))
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            return False
        return True
