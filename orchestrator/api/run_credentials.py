"""Run credentials: what a flow run's process uses instead of the API key.

A flow run executes user code, so it must not hold the key that can change pools and
deployments (a pool's job template decides which command workers run). When a worker claims a
run, the API hands it a credential for that run alone: `run.RUN_ID.SIGNATURE`, signed with the
API key (so every API replica can check it without shared state, and changing the key revokes
them all). It opens only the routes through which a run reports on itself: read the run and
what it was launched with, propose its states (which still need the attempt's dispatch
token), send its logs (and the count of lines it dropped), report what its flow code did
(child flow runs, task runs, logs, artifacts), take, renew and give back its slots on global
concurrency limits; and what flow code shares with other runs: read, set and unset variables
(`Variable.get/set/unset`), read and save blocks (`Secret.load`, `Block.save`, and the pull
steps' `{{ flowpool.blocks... }}`; never list or delete them) and read and write the task
cache.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "run."
_RUN_ROUTES = [
    ("GET", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)$")),
    ("GET", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/launch$")),
    ("POST", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/state$")),
    ("POST", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/logs$")),
    ("POST", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/logs/dropped$")),
    ("POST", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/reports$")),
    ("POST", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/slots$")),
    ("POST", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/slots/renew$")),
    ("POST", re.compile(r"^/api/flow_runs/(?P<run>[^/]+)/slots/release$")),
    ("GET", re.compile(r"^/api/variables/[^/]+$")),
    ("POST", re.compile(r"^/api/variables$")),
    ("PUT", re.compile(r"^/api/variables/[^/]+$")),
    ("DELETE", re.compile(r"^/api/variables/[^/]+$")),
    ("GET", re.compile(r"^/api/blocks/[^/]+/[^/]+$")),
    ("POST", re.compile(r"^/api/blocks$")),
    ("PUT", re.compile(r"^/api/blocks/[^/]+/[^/]+$")),
    ("GET", re.compile(r"^/api/task_cache/[^/]+$")),
    ("PUT", re.compile(r"^/api/task_cache/[^/]+$")),
    ("POST", re.compile(r"^/api/events$")),
]


def issue(api_key: str, run_id: str) -> str:
    return f"{PREFIX}{run_id}.{_signature(api_key, run_id)}"


def permits(api_key: str, credential: str, method: str, path: str) -> bool:
    """Whether `credential` is a valid run credential that opens `method path`."""
    run_id = _verified_run_id(api_key, credential)
    if run_id is None:
        return False
    for route_method, pattern in _RUN_ROUTES:
        match = pattern.match(path)
        if match and method == route_method:
            return match.groupdict().get("run", run_id) == run_id
    return False


def _verified_run_id(api_key: str, credential: str) -> str | None:
    if not credential.startswith(PREFIX):
        return None
    run_id, _, signature = credential[len(PREFIX):].rpartition(".")
    if not run_id or not hmac.compare_digest(signature, _signature(api_key, run_id)):
        return None
    return run_id


def _signature(api_key: str, run_id: str) -> str:
    digest = hmac.new(api_key.encode(), f"flow-run:{run_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
