"""What every task of this worker process shares: its name, its pool, its API client."""
from __future__ import annotations

from dataclasses import dataclass

from orchestrator.client import FlowpoolClient


@dataclass
class WorkerContext:
    name: str
    pool_name: str
    client: FlowpoolClient
    api_url: str


_current: WorkerContext | None = None


def set_current(context: WorkerContext) -> None:
    global _current
    _current = context


def current() -> WorkerContext:
    if _current is None:
        raise RuntimeError("this process was not started by `flowpool worker start`")
    return _current
