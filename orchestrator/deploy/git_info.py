"""What a directory's git checkout says: its remote and current branch (for init and deploy)."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..steps.redaction import url_without_credentials


@dataclass(frozen=True)
class GitCheckout:
    remote_url: str  # without any credentials that were in it
    branch: str | None  # None on a detached HEAD


def git_checkout(directory: Path) -> GitCheckout | None:
    """The checkout's `origin` (else first) remote and branch; None when it has no remote."""
    if _git(directory, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    remotes = (_git(directory, "remote") or "").split()
    if not remotes:
        return None
    remote = "origin" if "origin" in remotes else remotes[0]
    url = _git(directory, "remote", "get-url", remote)
    if not url:
        return None
    branch = _git(directory, "symbolic-ref", "--quiet", "--short", "HEAD")  # None when detached
    return GitCheckout(url_without_credentials(url), branch or None)


def _git(directory: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", "-C", str(directory), *args], capture_output=True,
                                text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:  # no git installed: not a checkout we can use
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_clone_pull_steps(checkout: GitCheckout) -> list[dict]:
    """The pull section that makes each run clone this checkout's remote and branch (the
    wizard's "pull your code from the git remote when a run starts?")."""
    inputs = {"repository": checkout.remote_url}
    if checkout.branch:
        inputs["branch"] = checkout.branch
    return [{"flowpool.steps.git_clone": inputs}]
