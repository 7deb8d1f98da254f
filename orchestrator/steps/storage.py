"""Ship code through remote storage with fsspec: `push_to_remote_storage` at deploy time,
`pull_from_remote_storage` at the start of each run.

Any fsspec URL works: `file://` out of the box, `s3://`, `gs://`, `az://` once the matching
fsspec package (s3fs, gcsfs, adlfs) is installed; s3fs comes with the `flowpool[s3]` extra.
Extra keyword arguments are the filesystem's storage options (credentials, endpoint, ...).
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

from .errors import StepFailed

IGNORE_FILES = (".flowpoolignore", ".prefectignore")
S3_PROTOCOLS = ("s3", "s3a")  # s3fs serves both


def push_to_remote_storage(url: str, directory: str | None = None, ignore_file: str | None = None,
                           **storage_options: Any) -> dict[str, str]:
    """Upload the files of `directory` (default: the working directory) under `url`.

    Paths matching the patterns of `ignore_file` (default: `.flowpoolignore`, else
    `.prefectignore`) are skipped. Outputs `url` and `directory`.
    """
    source = Path(directory) if directory else Path.cwd()
    if not source.is_dir():
        raise StepFailed(f"push_to_remote_storage: {source} is not a directory")
    fs, root = _filesystem(url, storage_options)
    patterns = ignore_patterns(source, ignore_file)
    for relative in files_to_push(source, patterns):
        remote = f"{root.rstrip('/')}/{relative}"
        _call(url, lambda: (fs.makedirs(remote.rpartition("/")[0], exist_ok=True),
                            fs.put_file(str(source / relative), remote)))
    return {"url": url, "directory": str(source)}


def pull_from_remote_storage(url: str, directory: str | None = None,
                             **storage_options: Any) -> dict[str, str]:
    """Download everything under `url` into `directory` (default: the working directory).

    Outputs `url` and `directory`. Nothing under `url` is an error, not an empty checkout.
    """
    destination = Path(directory) if directory else Path.cwd()
    fs, root = _filesystem(url, storage_options)
    remote_files = _call(url, lambda: fs.find(root))
    if not remote_files:
        raise StepFailed(f"pull_from_remote_storage: there are no files at {url}; "
                         "push the code there first (push_to_remote_storage at deploy)")
    prefix = root.rstrip("/") + "/"
    for remote in remote_files:
        local = destination / remote[len(prefix):]
        local.parent.mkdir(parents=True, exist_ok=True)
        _call(url, lambda: fs.get_file(remote, str(local)))
    return {"url": url, "directory": str(destination)}


def files_to_push(source: Path, patterns: list[str]) -> list[str]:
    """Relative POSIX paths of the files under `source` that no pattern ignores, sorted."""
    found = []
    for folder, subfolders, files in os.walk(source):
        base = Path(folder).relative_to(source)
        subfolders[:] = [d for d in subfolders if not is_ignored((base / d).as_posix(), patterns)]
        found += [(base / f).as_posix() for f in files
                  if not is_ignored((base / f).as_posix(), patterns)]
    return sorted(found)


def ignore_patterns(source: Path, ignore_file: str | None) -> list[str]:
    names = [ignore_file] if ignore_file else list(IGNORE_FILES)
    for name in names:
        path = source / name
        if path.is_file():
            lines = (line.strip() for line in path.read_text().splitlines())
            return [line.rstrip("/") for line in lines if line and not line.startswith("#")]
    return []


def is_ignored(relative: str, patterns: list[str]) -> bool:
    """gitignore-like: a pattern matches the whole relative path or any one of its parts."""
    parts = relative.split("/")
    return any(fnmatch.fnmatch(relative, p) or any(fnmatch.fnmatch(part, p) for part in parts)
               for p in patterns)


def _filesystem(url: str, storage_options: dict[str, Any]):
    import fsspec

    if not url or not isinstance(url, str):
        raise StepFailed("a storage step needs a url, such as s3://bucket/folder or file:///path")
    try:
        return fsspec.core.url_to_fs(url, **storage_options)
    except ImportError as exc:
        raise StepFailed(f"cannot reach {url}: {exc}. {install_advice(url)}") from None
    except ValueError as exc:
        raise StepFailed(f"cannot reach {url}: {exc}") from None


def install_advice(url: str) -> str:
    """What to install for the fsspec package of `url`'s protocol: s3 has a flowpool extra."""
    if url.partition("://")[0] in S3_PROTOCOLS:
        return "Install flowpool's s3 extra where the step runs: pip install 'flowpool[s3]'"
    return ("Install the fsspec package for this protocol where the step runs "
            "(or add `requires:` to the step)")


def _call(url: str, action):
    try:
        return action()
    except (OSError, ValueError) as exc:
        raise StepFailed(f"storage at {url}: {type(exc).__name__}: {exc}") from None
