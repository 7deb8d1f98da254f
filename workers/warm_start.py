"""Warm starts of process runs: the supervising process keeps a warm-start process (the
zygote, `orchestrator/engine/zygote.py`) with the engine already imported, which forks each
run's process instead of starting an interpreter.

The run's process is then the zygote's child, not this process's: its exit code comes from
the zygote, and `WarmProcess` gives it the face of a `subprocess.Popen` (pid, stdout, wait,
poll), so `ProcessHandle` and the supervisor treat both the same. Orphans of the run are
still reparented to this process (the zygote is no subreaper), and where runs get cgroups
the run's process comes in a cgroup of its own (made ahead, before its run came), which
tracks the run's processes as on the cold path.

The cold path (`subprocess.Popen` of `python -m orchestrator.engine`) is taken when
`FLOWPOOL_PROCESS_START=spawn`, when the job names its own `command`, or when its `env` sets
a `PYTHON*` variable that only a new interpreter reads; and for one run whenever the zygote
cannot be started or does not answer.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Mapping

from orchestrator.masking import is_secret_name, mask_text
from orchestrator.warm_protocol import receive_message, send_message

from . import process_tree
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
    """This process's warm-start process, shared by every run this process supervises.

    One reader thread takes every message the zygote sends: the answer to a fork request
    goes to the thread that asked (by the request's id), an exit code is kept until the
    run's supervisor asks for it."""

    def __init__(self, process: "subprocess.Popen | ForkedZygote", sock: socket.socket):
        self.process = process
        self.sock = sock
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()  # an answer, an exit or the end came in
        self._answers: dict[str, dict] = {}  # request id -> answer, for the thread waiting
        self._abandoned: set[str] = set()  # requests whose asker gave up (a late fork dies)
        self.exits: dict[int, int] = {}  # pid -> exit code, of children not yet waited for
        self.ready = False
        self.gone = False
        threading.Thread(target=self._read, name="warm-start-reader", daemon=True).start()

    @classmethod
    def start(cls) -> "Zygote":
        """A zygote in a new interpreter, started with this process's environment minus
        its secrets."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {**zygote_environment(os.environ), "PYTHONUNBUFFERED": "1"}
        with process_tree.starting:  # in this process's cgroup, and its exit is Popen's
            process = subprocess.Popen(
                [sys.executable, "-m", "orchestrator.engine.zygote", str(theirs.fileno())],
                env=env, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),))
            process_tree.waited_for(process.pid)
        theirs.close()
        return cls(process, ours)

    def alive(self) -> bool:
        return not self.gone and self.process.poll() is None

    def check_ready(self) -> None:
        """A zygote still importing would delay the run (and its lease) by more than a
        cold start costs: that run starts cold."""
        if self.gone:
            raise WarmStartFailed("the warm-start process is gone")
        if not self.ready:
            raise WarmStartFailed("the warm-start process is still starting")

    def fork(self, run_id: str, cwd: str, env: Mapping[str, str], launch_fd: int,
             report_fd: int, cgroup_parent: Path | None) -> "WarmProcess":
        """The run's process, forked by the zygote (in a cgroup of its own under
        `cgroup_parent` if given: the process's `cgroup`)."""
        self.check_ready()
        request_id = f"{run_id}/{next(_request_ids)}"
        read_end, write_end = os.pipe()
        request = {"id": request_id, "run_id": run_id, "cwd": cwd, "env": dict(env),
                   "cgroup_parent": str(cgroup_parent) if cgroup_parent else None}
        try:
            with self._send_lock:
                send_message(self.sock, request, [write_end, launch_fd, report_fd])
        except OSError as exc:
            os.close(read_end)
            raise WarmStartFailed(f"the warm-start process is gone ({exc})") from exc
        finally:
            os.close(write_end)
        try:
            answer = self._answer(request_id, ANSWER_TIMEOUT_S)
        except WarmStartFailed:
            os.close(read_end)
            raise
        return WarmProcess(self, answer["pid"], os.fdopen(read_end, "rb"), answer.get("cgroup"))

    def exit_code(self, pid: int, timeout_s: float | None) -> int | None:
        """`pid`'s exit code once the zygote reports it within `timeout_s`; None before.
        Raises WarmStartFailed if the zygote ended first."""
        with self._changed:
            if not self._changed.wait_for(lambda: pid in self.exits or self.gone, timeout_s):
                return None
            if pid in self.exits:
                return self.exits.pop(pid)
        raise WarmStartFailed("the warm-start process ended")

    def kill(self) -> None:
        """End the zygote; a child it forked dies with it (or, not yet the engine, sees
        its parent gone and exits)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # the reader sees the end
        self.process.kill()
        self.process.wait()

    def _answer(self, request_id: str, timeout_s: float) -> dict:
        with self._changed:
            if not self._changed.wait_for(
                    lambda: request_id in self._answers or self.gone, timeout_s):
                self._abandoned.add(request_id)
                raise WarmStartFailed(f"no answer from the warm-start process in {timeout_s:g}s")
            if request_id not in self._answers:
                raise WarmStartFailed("the warm-start process ended")
            answer = self._answers.pop(request_id)
        if "error" in answer:
            raise WarmStartFailed(answer["error"])
        return answer

    def _read(self) -> None:
        """Every message, until the zygote is gone: then so are its children (it is their
        parent, and they die with it), each reported killed to whoever waits for it."""
        try:
            while True:
                message, _ = receive_message(self.sock)
                if message is None:
                    break
                self._take(message)
        except OSError:
            pass
        log.warning("the warm-start process ended (code %s); starting another for the next run",
                    self.process.poll())
        with self._changed:
            self.gone = True
            self._changed.notify_all()
        self.sock.close()

    def _take(self, message: dict) -> None:
        with self._changed:
            if "ready" in message:
                self.ready = True
            elif "exit" in message:
                self.exits[message["exit"]] = message["code"]
            elif message.get("id") in self._abandoned:
                self._abandoned.discard(message["id"])
                if "pid" in message:  # its asker started the run cold: this one must not run
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(message["pid"], signal.SIGKILL)
            elif "id" in message:
                self._answers[message["id"]] = message
            self._changed.notify_all()


class WarmProcess:
    """A run's process forked by the zygote, as much of a Popen as ProcessHandle uses."""

    def __init__(self, zygote: Zygote, pid: int, stdout, cgroup: str | None = None):
        self.zygote, self.pid, self.stdout, self.cgroup = zygote, pid, stdout, cgroup
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
_zygote_lock = threading.Lock()
_request_ids = itertools.count()
_starts: queue.Queue | None = None  # asks the starter thread for a new zygote
_starts_pid = 0  # the process whose starter thread that is


def zygote() -> Zygote | None:
    """This process's zygote, started if needed; None (logged) if it cannot start."""
    global _zygote, _zygote_pid
    with _zygote_lock:
        if _zygote is not None and _zygote_pid == os.getpid() and _zygote.alive():
            return _zygote
        try:
            _zygote, _zygote_pid = _start_zygote(), os.getpid()
        except OSError as exc:
            log.warning("could not start the warm-start process (%s); runs start cold", exc)
            _zygote = None
        return _zygote


def _start_zygote() -> Zygote:
    """A zygote started by a thread that lives as long as this process: its parent-death
    signal fires when the thread that started it ends, not the process, and a pool's thread
    may end (at shutdown) while other threads' runs still need it."""
    global _starts, _starts_pid
    if _starts is None or _starts_pid != os.getpid():
        _starts, _starts_pid = queue.Queue(), os.getpid()
        threading.Thread(target=_starter, args=(_starts,), name="warm-start-starter",
                         daemon=True).start()
    answer: queue.Queue = queue.Queue(1)
    _starts.put(answer)
    started = answer.get()
    if isinstance(started, OSError):
        raise started
    return started


def _starter(requests: queue.Queue) -> None:
    while True:
        answer = requests.get()
        try:
            answer.put(Zygote.start())
        except OSError as exc:
            answer.put(exc)


class ForkedZygote:
    """A zygote this process forked (`workers/clean_start.py`), as much of a Popen as
    `Zygote` uses."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        process_tree.waited_for(pid)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not this process's child any more
                self.returncode = -signal.SIGKILL
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self.returncode is None:
            try:
                self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
        return self.returncode


def adopt(pid: int, sock: socket.socket) -> None:
    """Make the zygote this process forked (child `pid`, on `sock`) its zygote."""
    global _zygote, _zygote_pid
    with _zygote_lock:
        _zygote, _zygote_pid = Zygote(ForkedZygote(pid), sock), os.getpid()


def prestart(**_signal) -> None:
    """Start the zygote as the supervising process starts, so the first run is warm too."""
    zygote()
