"""Helpers for the project-file tests: project directories, real git repositories (a bare
remote and a working clone, both reached by file:// URLs) and running deployments."""
from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

from orchestrator.errors import NotFound

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def write_files(directory: Path, files: dict[str, str]) -> Path:
    """Write dedented files under `directory` (created); returns `directory`."""
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return directory


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **GIT_IDENTITY}, check=True)
    return result.stdout.strip()


class GitRepository:
    """A bare repository (the remote) and a working clone of it on branch main."""

    def __init__(self, root: Path, name: str = "flows"):
        self.bare = root / f"{name}.git"
        self.work = root / "work"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git("clone", "--quiet", self.url, str(self.work))
        git("checkout", "--quiet", "-B", "main", cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()  # file:///...

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        """Commit `files` and push them to the remote; the new commit's sha."""
        write_files(self.work, files)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", "HEAD:main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def run_deployment(stack, full_name: str, *args: str) -> dict:
    """Run a deployment to its final state through the real CLI; the run as JSON."""
    result = stack.cli("deployment", "run", full_name, "--watch", "--timeout", "60",
                       "--output", "json", *args)
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def run_logs(stack, run_id: str) -> str:
    return stack.cli("flow-run", "logs", run_id, check=True).stdout


def is_registered(stack, full_name: str) -> bool:
    with stack.client() as api:
        try:
            api.read_deployment(full_name)
            return True
        except NotFound:
            return False
