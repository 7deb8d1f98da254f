"""Fixtures for project files and steps: real git repositories (a bare remote and a working
clone reached by file:// URLs) and project directories with a flow in them."""
from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **GIT_IDENTITY}, check=True)
    return result.stdout.strip()


class GitRemote:
    """A bare repository and a working clone of it, to commit and push from."""

    def __init__(self, root: Path):
        self.bare = root / "remote.git"
        self.work = root / "work"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git("clone", "--quiet", str(self.bare), str(self.work))
        git("checkout", "--quiet", "-B", "main", cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()  # file:///...

    def commit(self, files: dict[str, str], message: str = "change", branch: str = "main") -> str:
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", f"HEAD:{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture
def git_remote(tmp_path) -> GitRemote:
    return GitRemote(tmp_path / "git")


@pytest.fixture
def in_directory(tmp_path):
    """Run the test from a directory (restored afterwards): steps work in the working directory."""
    before = os.getcwd()

    def enter(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        os.chdir(path)
        return path
    yield enter
    os.chdir(before)


@pytest.fixture
def project_dir(tmp_path):
    """A project directory with the given files (a YAML project file, flows, ...)."""
    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return root
    return make
