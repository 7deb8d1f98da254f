"""A whole flowpool on one machine, in one directory: the bundled Redis, the server and
workers as real subprocesses. Used by the tests, the benchmarks and `make demo`; kept out of
the installed packages (it is tooling of this repository, not of flowpool)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from orchestrator.client import FlowpoolClient
from orchestrator.embedded_redis import EmbeddedRedis, free_port, port_is_free

READY_TIMEOUT_S = 60.0  # a deadline, not a wait: a loaded machine can take this long


def wait_for(condition: Callable[[], object], timeout_s: float, what: str,
             interval_s: float = 0.05) -> object:
    """Poll `condition` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


class LocalStack:
    """Server and workers for one FLOWPOOL_HOME; Redis is started here unless a URL is given."""

    def __init__(self, home: Path, api_port: int | None = None, redis_url: str | None = None,
                 database_url: str | None = None, extra_env: dict[str, str] | None = None):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.api_port = api_port or free_port()
        self.redis: EmbeddedRedis | None = None
        self.redis_url = redis_url
        self.database_url = database_url
        self.extra_env = extra_env or {}
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPOOL_")}
        env.update(FLOWPOOL_HOME=str(self.home), FLOWPOOL_API_URL=self.api_url,
                   PYTHONUNBUFFERED="1")
        if self.redis_url:
            env["FLOWPOOL_REDIS_URL"] = self.redis_url
        if self.database_url:
            env["FLOWPOOL_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def client(self, retry_for_s: float = 0.0) -> FlowpoolClient:
        return FlowpoolClient(self.api_url, retry_for_s=retry_for_s)

    # -- processes ---------------------------------------------------------------------
    def start_redis(self) -> str:
        self.redis = EmbeddedRedis(self.home / "redis", free_port()).start()
        self.redis_url = self.redis.url
        return self.redis_url

    def start_server(self, *args: str) -> subprocess.Popen:
        if not port_is_free("127.0.0.1", self.api_port):  # else another server would answer
            raise RuntimeError(f"port {self.api_port} is taken: the server cannot listen there")
        log = open(self.home / "server.log", "ab")
        self.server = subprocess.Popen(
            [*flowpool_command(), "server", "start", "--port", str(self.api_port), *args],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        client = self.client()
        try:
            wait_for(lambda: self._healthy(client), READY_TIMEOUT_S, "the server to answer")
        finally:
            client.close()
        return self.server

    def _healthy(self, client: FlowpoolClient) -> bool:
        if self.server.poll() is not None:
            tail = (self.home / "server.log").read_text(errors="replace")[-3000:]
            last = (tail.strip().splitlines() or [""])[-1]
            raise RuntimeError(f"server exited with {self.server.returncode}: {last}\n{tail}")
        try:
            return client.health()["status"] == "ok"
        except Exception:
            return False

    def start_worker(self, pool: str, *args: str, name: str | None = None,
                     env: dict[str, str] | None = None) -> subprocess.Popen:
        """A worker of `pool`; `env` adds to the stack's environment for this one."""
        name = name or f"{pool}-w{len(self.workers) + 1}"
        log_path = self.home / f"worker-{name}.log"
        log = open(log_path, "ab")
        worker = subprocess.Popen(
            [*flowpool_command(), "worker", "start", "--pool", pool, "--name", name, *args],
            env={**self.env(), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        log.close()
        worker.log_path = log_path  # type: ignore[attr-defined]
        self.workers.append(worker)
        wait_for(lambda: self._worker_ready(worker, log_path), READY_TIMEOUT_S,
                 f"worker {name} to be ready")
        return worker

    @staticmethod
    def _worker_ready(worker: subprocess.Popen, log_path: Path) -> bool:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode}:\n"
                               + log_path.read_text()[-3000:])
        return " ready." in log_path.read_text(errors="replace")

    def stop_worker(self, worker: subprocess.Popen, timeout_s: float = 30) -> None:
        """Stop one worker (its runs finish first) and forget it."""
        worker.terminate()
        try:
            worker.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        self.workers.remove(worker)

    def cli(self, *args: str, check: bool = False, cwd: Path | None = None,
            timeout_s: float = 120, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run `flowpool ARGS`; `input` is its stdin (none by default); `env` adds to the
        stack's environment for this one command."""
        result = subprocess.run([*flowpool_command(), *args], env={**self.env(), **(env or {})},
                                cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                                input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"flowpool {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def stop(self) -> None:
        # workers first: a worker finishing its runs still reports them to the server
        for group in (self.workers, [self.server]):
            for process in group:
                if process is not None and process.poll() is None:
                    process.terminate()
            for process in group:
                if process is not None:
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
        self.workers.clear()
        self.server = None
        if self.redis:
            self.redis.stop()


def flowpool_command() -> list[str]:
    """The `flowpool` console script of this interpreter's environment."""
    return [sys.executable, "-m", "orchestrator.cli.main"]
