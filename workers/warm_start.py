"""Warm starts of process runs: the supervising process keeps a warm-start process (the
zygote, `orchestrator/engine/zygote.py`) with the engine already imported, which forks each
run's process instead of starting an interpreter.

The run's process is then the zygote's child, not this process's: its exit code comes from
the zygote, and `WarmProcess` gives it the face of a `subprocess.Popen` (pid, stdout, wait,
poll), so `ProcessHandle` and the supervisor treat both the same. Orphans of the run are
still reparented to this process (the zygote is no subreaper), and in a cgroup the zygote
forks the run from inside it, so the run's processes are tracked as on the cold path.

The cold path (`subprocess.Popen` of `python -m orchestrator.engine`) is taken when
`FLOWPOOL_PROCESS_START=spawn`, when the job names its own `command`, or when its `env` sets
a `PYTHON*` variable that only a new interpreter reads; and for one run whenever the zygote
cannot be started or does not answer.
"""
from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping

from orchestrator.masking import is_secret_name, mask_text
from orchestrator.warm_protocol import receive_message, send_message

from .infrastructure import WORKER_ONLY_SETTINGS

log = logging.getLogger("flowpool.worker")
PROCESS_STARTS = ("fork", "spawn")
ANSWER_TIMEOUT_S = 2.0  # a fork answers in milliseconds; past this the run starts cold
# read by the interpreter as it starts: a warm child would not honour them
INTERPRETER_VARIABLES = "PYTHON"
ALWAYS_SET = {"PYTHONUNBUFFERED"}


class WarmStartFailed(Exception):
    """The zygote could not start the run's process; it is started cold instead."""


def cold_start_reason(job: dict, env: Mapping[str, str], process_start: str) -> str | None:
    """Why this run must start in a new interpreter, or None if it may be forked warm."""
    if process_start == "spawn":
        return "FLOWPOOL_PROCESS_START=spawn"
    if job.get("command"):
        return "the job sets its own command"
    changed = sorted(name for name, value in env.items()
                     if name.startswith(INTERPRETER_VARIABLES) and name not in ALWAYS_SET
                     and os.environ.get(name) != value)
    if changed:
        return f"the job's env sets {', '.join(changed)}, read when an interpreter starts"
    return None


def zygote_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The zygote's own environment: no secret of the worker's. Each run's process gets its
    run's environment, but a process can still read the one it was started with
    (/proc/self/environ), and a forked child shares it."""
    return {name: value for name, value in environ.items()
            if name not in WORKER_ONLY_SETTINGS and not is_secret_name(name)
            and mask_text(value) == value}


class Zygote:
    """This process's warm-start process, and the messages it sends."""

    def __init__(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {**zygote_environment(os.environ), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.engine.zygote", str(theirs.fileno())],
            env=env, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),))
        theirs.close()
        self.sock = ours
        self.exits: dict[int, int] = {}  # pid -> exit code, of children not yet waited for
        self.ready = False

    def alive(self) -> bool:
        return self.process.poll() is None and self.sock.fileno() >= 0

    def check_ready(self) -> None:
        """A zygote still importing would delay the run (and its lease) by more than a
        cold start costs: that run starts cold."""
        if not self.ready:
            try:
                self._next("ready", 0)
            except WarmStartFailed:
                if self.alive():
                    raise WarmStartFailed("the warm-start process is still starting") from None
                raise
            self.ready = True

    def fork(self, run_id: str, cwd: str, env: Mapping[str, str], launch_fd: int,
             report_fd: int, cgroup: Path | None) -> "WarmProcess":
        """The run's process, forked by the zygote (in `cgroup` if given)."""
        self.check_ready()
        read_end, write_end = os.pipe()
        request = {"run_id": run_id, "cwd": cwd, "env": dict(env),
                   "cgroup": str(cgroup) if cgroup else None}
        try:
            send_message(self.sock, request, [write_end, launch_fd, report_fd])
        except OSError as exc:
            os.close(read_end)
            raise WarmStartFailed(f"the warm-start process is gone ({exc})") from exc
        finally:
            os.close(write_end)
        try:
            answer = self._next("pid", ANSWER_TIMEOUT_S)
        except WarmStartFailed:
            os.close(read_end)
            self.kill()  # a late fork must not run the flow next to the cold start
            raise
        return WarmProcess(self, answer["pid"], os.fdopen(read_end, "rb"))

    def exit_code(self, pid: int, timeout_s: float | None) -> int | None:
        """`pid`'s exit code once the zygote reports it within `timeout_s`; None before."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while pid not in self.exits:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._receive(left):
                if deadline is not None and time.monotonic() >= deadline:
                    return None
        return self.exits.pop(pid)

    def kill(self) -> None:
        """End the zygote; a child it forked dies with it (or, not yet the engine, sees
        its parent gone and exits)."""
        self.sock.close()
        self.process.kill()
        self.process.wait()

    def _next(self, key: str, timeout_s: float) -> dict:
        """The next message holding `key` (exits met on the way are kept)."""
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._receive(max(0.0, deadline - time.monotonic()))
            if message and "error" in message:
                raise WarmStartFailed(message["error"])
            if message and key in message:
                return message
            if message is None and time.monotonic() >= deadline:
                raise WarmStartFailed(f"no answer from the warm-start process in {timeout_s:g}s")

    def _receive(self, timeout_s: float | None) -> dict | None:
        """One message within `timeout_s`, None if none came. If the zygote is gone, so are
        its children (it is their parent, and they die with it): each is reported killed."""
        if self.sock.fileno() < 0:
            raise WarmStartFailed("the warm-start process is gone")
        readable, _, _ = select.select([self.sock], [], [], timeout_s)
        if not readable:
            return None
        message, _ = receive_message(self.sock)
        if message is None:
            self._lost()
            raise WarmStartFailed("the warm-start process ended")
        if "exit" in message:
            self.exits[message["exit"]] = message["code"]
        return message

    def _lost(self) -> None:
        log.warning("the warm-start process ended (code %s); starting another for the next run",
                    self.process.poll())
        self.sock.close()


class WarmProcess:
    """A run's process forked by the zygote, as much of a Popen as ProcessHandle uses."""

    def __init__(self, zygote: Zygote, pid: int, stdout):
        self.zygote, self.pid, self.stdout = zygote, pid, stdout
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                code = self.zygote.exit_code(self.pid, timeout)
            except WarmStartFailed:
                code = -9  # killed with the zygote (its parent-death signal)
            if code is None:
                raise subprocess.TimeoutExpired(f"flow run process {self.pid}", timeout)
            self.returncode = code
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None


_zygote: Zygote | None = None
_zygote_pid = 0  # the process that started it: a forked process needs its own


def zygote() -> Zygote | None:
    """This process's zygote, started if needed; None (logged) if it cannot start."""
    global _zygote, _zygote_pid
    if _zygote is not None and _zygote_pid == os.getpid() and _zygote.alive():
        return _zygote
    try:
        _zygote, _zygote_pid = Zygote(), os.getpid()
    except OSError as exc:
        log.warning("could not start the warm-start process (%s); runs start cold", exc)
        _zygote = None
    return _zygote


def prestart(**_signal) -> None:
    """Start the zygote as the supervising process starts, so the first run is warm too."""
    zygote()
