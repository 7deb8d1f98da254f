"""The `git_clone` step: put a repository's code in a directory under the working directory.

Idempotent: when the directory already holds a clone of the same repository (the second run
on a reused machine), the step fetches and resets it instead of failing. Network hiccups are
retried with backoff. A token is handed to git as an HTTP header through the environment, so
it never lands in the clone's `.git/config`, in a process's arguments, or in a message.
"""
from __future__ import annotations

import base64
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from .commands import run_command, tail
from .errors import StepFailed
from .redaction import redact, url_password, url_without_credentials
from .retry import call_with_retries

RETRY_DELAYS_S = (1.0, 3.0, 9.0)
TRANSIENT_MARKERS = (
    "could not resolve host", "connection refused", "connection timed out", "timed out",
    "connection reset", "early eof", "the remote end hung up", "rpc failed", "failed to connect",
    "couldn't connect", "network is unreachable", "temporary failure", "gnutls", "ssl",
    "returned error: 5", "returned error: 429",
)
# The user name that goes with a bare token on each well-known host.
TOKEN_USERS = {"gitlab": "oauth2", "bitbucket": "x-token-auth"}
DEFAULT_TOKEN_USER = "x-access-token"


@dataclass(frozen=True)
class GitAuth:
    """How to authenticate to the remote: a token (with its user name) or nothing."""

    url: str  # the repository URL without any credentials in it
    token: str | None = None
    username: str | None = None

    @property
    def secrets(self) -> list[str]:
        if not self.token:
            return []
        return [self.token, self._basic_credentials()]

    def env(self) -> dict[str, str]:
        """git configuration passed through the environment: no prompts, the auth header."""
        env = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        if self.token:
            count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
            env.update({"GIT_CONFIG_COUNT": str(count + 1),
                        f"GIT_CONFIG_KEY_{count}": "http.extraHeader",
                        f"GIT_CONFIG_VALUE_{count}":
                            f"Authorization: Basic {self._basic_credentials()}"})
        return env

    def _basic_credentials(self) -> str:
        return base64.b64encode(f"{self.username}:{self.token}".encode()).decode()


@dataclass(frozen=True)
class CloneSpec:
    """What to check out: a branch (or the default one), optionally one commit, some folders."""

    branch: str | None = None
    commit_sha: str | None = None
    include_submodules: bool = False
    directories: list[str] = field(default_factory=list)


def git_clone(repository: str, branch: str | None = None, commit_sha: str | None = None,
              include_submodules: bool = False, access_token: str | None = None,
              credentials: dict[str, Any] | str | None = None,
              directories: list[str] | None = None,
              clone_directory_name: str | None = None) -> dict[str, str]:
    """Clone `repository` (or update the clone already there); outputs `directory`, `commit_sha`.

    `directory` is relative to the working directory: `clone_directory_name`, or the
    repository's name followed by `-BRANCH` when a branch is given.
    """
    auth = git_auth(repository, access_token, credentials)
    spec = CloneSpec(branch or None, commit_sha or None, bool(include_submodules),
                     list(directories or []))
    target = Path.cwd() / (clone_directory_name or default_directory_name(auth.url, branch))
    with exclusive_access(target.parent):
        call_with_retries(lambda: clone_or_update(auth, spec, target),
                          what=f"git clone of {auth.url}", is_transient=is_transient_failure,
                          delays_s=RETRY_DELAYS_S)
        sha = _git(["rev-parse", "HEAD"], auth, cwd=target)
    return {"directory": os.path.relpath(target, Path.cwd()), "commit_sha": sha}


@contextmanager
def exclusive_access(directory: Path) -> Iterator[None]:
    """One clone or update at a time in `directory`: runs of one deployment on one machine
    share the clone, and two gits in one repository fail on its index lock."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock, as before
        yield
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def git_auth(repository: str, access_token: str | None,
             credentials: dict[str, Any] | str | None) -> GitAuth:
    """The token from `access_token`, `credentials` or the URL itself, and its user name."""
    if not isinstance(repository, str) or not repository.strip():
        raise StepFailed("git_clone needs a repository URL")
    repository = repository.strip()
    if isinstance(credentials, str):
        credentials = {"token": credentials}
    credentials = credentials or {}
    token = (access_token or credentials.get("access_token") or credentials.get("token")
             or credentials.get("password") or url_password(repository))
    url = url_without_credentials(repository)
    if not token:
        return GitAuth(url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise StepFailed(f"git_clone of {url}: an access token works with http(s) URLs only; "
                         "for ssh use a deploy key, or give the https URL")
    username = credentials.get("username") or _url_username(repository) or _token_user(url)
    return GitAuth(url, str(token), username)


def _url_username(url: str) -> str | None:
    parts = urlsplit(url)
    return parts.username if parts.password else None


def _token_user(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return next((user for name, user in TOKEN_USERS.items() if name in host), DEFAULT_TOKEN_USER)


def default_directory_name(url: str, branch: str | None) -> str:
    """`https://host/org/repo.git` + branch `main` -> `repo-main`."""
    name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = name[:-4] if name.endswith(".git") else name
    return f"{name}-{branch.replace('/', '-')}" if branch else name


def is_transient_failure(error: StepFailed) -> bool:
    text = error.message.lower()
    return any(marker in text for marker in TRANSIENT_MARKERS)


def clone_or_update(auth: GitAuth, spec: CloneSpec, target: Path) -> None:
    if (target / ".git").exists():
        _check_same_repository(auth, target)
        update_clone(auth, spec, target)
    elif target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise StepFailed(f"git_clone: {target} exists and is not a clone of {auth.url}; "
                         "remove it or set clone_directory_name to another directory")
    else:
        fresh_clone(auth, spec, target)


def fresh_clone(auth: GitAuth, spec: CloneSpec, target: Path) -> None:
    """Clone into a scratch directory, then move it into place: a failure leaves nothing."""
    scratch = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _git(_clone_arguments(auth, spec, scratch), auth)
        if spec.directories:
            _git(["sparse-checkout", "set", *spec.directories], auth, cwd=scratch)
        if spec.commit_sha:
            _checkout_commit(auth, spec, scratch)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _clone_arguments(auth: GitAuth, spec: CloneSpec, destination: Path) -> list[str]:
    args = ["clone", "--quiet"]
    if not spec.commit_sha:  # one commit is enough, unless we must reach an older one
        args += ["--depth", "1"]
    if spec.branch:
        args += ["--branch", spec.branch]
    if spec.include_submodules:
        args += ["--recurse-submodules"]
    if spec.directories:
        args += ["--sparse"]
    return args + [auth.url, str(destination)]


def update_clone(auth: GitAuth, spec: CloneSpec, target: Path) -> None:
    """Bring an existing clone to the requested code; local edits in it are discarded."""
    ref = spec.branch or "HEAD"
    if spec.commit_sha:
        _git(["fetch", "--quiet", *_unshallow(auth, target), "origin", ref], auth, cwd=target)
        _checkout_commit(auth, spec, target)
        return
    _git(["fetch", "--quiet", "--depth", "1", "origin", ref], auth, cwd=target)
    if spec.branch:
        _git(["checkout", "--quiet", "--force", "-B", spec.branch, "FETCH_HEAD"], auth, cwd=target)
    else:
        _git(["reset", "--quiet", "--hard", "FETCH_HEAD"], auth, cwd=target)
    if spec.directories:
        _git(["sparse-checkout", "set", *spec.directories], auth, cwd=target)
    if spec.include_submodules:
        _git(["submodule", "update", "--init", "--recursive"], auth, cwd=target)


def _unshallow(auth: GitAuth, target: Path) -> list[str]:
    shallow = _git(["rev-parse", "--is-shallow-repository"], auth, cwd=target) == "true"
    return ["--unshallow"] if shallow else []


def _checkout_commit(auth: GitAuth, spec: CloneSpec, repo: Path) -> None:
    _git(["checkout", "--quiet", "--force", "--detach", spec.commit_sha], auth, cwd=repo)
    if spec.include_submodules:
        _git(["submodule", "update", "--init", "--recursive"], auth, cwd=repo)


def _check_same_repository(auth: GitAuth, target: Path) -> None:
    origin = _git(["config", "--get", "remote.origin.url"], auth, cwd=target, check=False)
    if _comparable(origin) != _comparable(auth.url):
        raise StepFailed(f"git_clone: {target} is a clone of {url_without_credentials(origin)}, "
                         f"not of {auth.url}; remove it or set clone_directory_name")


def _comparable(url: str) -> str:
    url = url_without_credentials(url.strip()).rstrip("/")
    return url[:-4] if url.endswith(".git") else url


def _git(args: list[str], auth: GitAuth, cwd: Path | None = None, check: bool = True) -> str:
    result = run_command(["git", *args], cwd=cwd, env={**os.environ, **auth.env()},
                         secrets=auth.secrets)
    if check and result.returncode != 0:
        detail = tail(result.stderr or result.stdout) or f"exit code {result.returncode}"
        raise StepFailed(redact(f"git {args[0]} of {auth.url} failed: {detail}", auth.secrets))
    return result.stdout
