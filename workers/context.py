"""What every task of this worker process shares: its name, its pool, its API client."""
from __future__ import annotations

import os
from pathlib import Path
from dataclasses import dataclass, field

from orchestrator.client import FlowpoolClient


@dataclass
class WorkerContext:
    """Shared by the tasks of a worker; the HTTP client is made per process, after any fork."""

    name: str
    pool_name: str
    api_url: str
    api_key: str | None = field(default=None, repr=False)
    work_queues: list[str] = field(default_factory=list)
    limit: int = 1
    home: Path = Path(".")
    redis_url: str = field(default="", repr=False)  # carries the broker's password
    heartbeat_interval_s: float = 5.0
    crash_after_s: float = 30.0
    cancel_grace_s: float = 10.0
    process_cgroups: bool = True
    process_start: str = "fork"
    _redis: object = field(default=None, repr=False)
    _redis_pid: int = 0
    http_timeout_s: float = 30.0
    http_retry_for_s: float = 60.0
    _client: FlowpoolClient | None = field(default=None, repr=False)
    _client_pid: int = 0
    _beat_client: FlowpoolClient | None = field(default=None, repr=False)
    _beat_client_pid: int = 0

    @property
    def client(self) -> FlowpoolClient:
        if self._client is None or self._client_pid != os.getpid():
            self._client = FlowpoolClient(self.api_url, self.http_timeout_s, self.http_retry_for_s,
                                          self.api_key)
            self._client_pid = os.getpid()
        return self._client

    @property
    def beat_client(self) -> FlowpoolClient:
        """For the heartbeat's read of a run: it never waits for an API that is away (the
        next beat asks again), so the lease is renewed on time through an API restart."""
        if self._beat_client is None or self._beat_client_pid != os.getpid():
            timeout_s = min(self.http_timeout_s, max(self.heartbeat_interval_s, 1.0))
            self._beat_client = FlowpoolClient(self.api_url, timeout_s, 0.0, self.api_key)
            self._beat_client_pid = os.getpid()
        return self._beat_client

    @property
    def redis(self):
        """The broker's Redis, for leases and heartbeats; one client per process."""
        if self._redis is None or self._redis_pid != os.getpid():
            from orchestrator.broker import redis_client

            self._redis = redis_client(self.redis_url, timeout_s=5)
            self._redis_pid = os.getpid()
        return self._redis


_current: WorkerContext | None = None


def set_current(context: WorkerContext) -> None:
    global _current
    _current = context


def current() -> WorkerContext:
    if _current is None:
        raise RuntimeError("this process was not started by `flowpool worker start`")
    return _current
