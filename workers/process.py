"""The process infrastructure: each flow run in its own subprocess and process group, with
every process it starts tracked (`process_tree`) and killed when the run ends.

The engine gets the claimed run (run, deployment, pool, secrets unmasked) from the worker
rather than from the API: as JSON on a pipe it inherits (`LAUNCH_FD_VARIABLE` names the
descriptor), so nothing secret is put on a command line or in a file.

The run's process is forked by this process's warm-start process, with the engine already
imported (`warm_start`), or started as a new interpreter where that cannot serve the run;
both give the same process: own session, the run's environment, directory and output."""
from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from orchestrator.masking import redact
from orchestrator.models import LAUNCH_FD_VARIABLE, REPORT_FD_VARIABLE, ClaimedRun

from . import process_tree, warm_start
from .context import WorkerContext
from .infrastructure import (OUTPUT_TAIL_LINES, echo_output, engine_command,
                             engine_environment, inherited_environment, run_secrets)

log = logging.getLogger("flowpool.worker")


class ProcessHandle:
    """A running flow run: its main process, and every process it started (`processes`).

    Whenever the main process ends, by itself or stopped, whatever it left behind is killed:
    a run's processes never outlive it (a flow that wants a lasting service must hand it to
    a service manager). The main process's output is echoed (if asked) and its tail kept."""

    def __init__(self, popen: subprocess.Popen | warm_start.WarmProcess,
                 processes: process_tree.RunProcesses, stream_output: bool,
                 secrets: set[str] = frozenset(), report_fd: int | None = None,
                 run_name: str = ""):
        self.popen = popen
        self.run_name = run_name
        self.processes = processes
        self.stream_output = stream_output
        self.secrets = secrets  # masked in the echo and the tail (which a crash report ships)
        self._report_fd = report_fd
        self._report: dict | None = None
        self._code: int | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL_LINES)
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    def _read_output(self) -> None:
        for raw in self.popen.stdout:
            line = redact(raw.decode(errors="replace").rstrip("\n"), self.secrets)
            self._tail.append(line)
            if self.stream_output:
                echo_output(f"flow run {self.run_name!r}", line)

    def poll(self, timeout_s: float) -> int | None:
        """The exit code if the main process ended within `timeout_s`, else None."""
        try:
            code = self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.processes.reap()  # orphans of the run that died meanwhile
            return None
        return self._finish(code)

    def wait(self) -> int:
        return self._finish(self.popen.wait())

    def stop(self, grace_s: float) -> int:
        """SIGTERM every process of the run, SIGKILL those left after `grace_s` (at once if
        it is 0); the main process's exit code."""
        if grace_s > 0:
            self.processes.signal(signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while self.popen.poll() is None or self.processes.pids():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
                self.processes.reap()
        self.processes.kill_all()
        return self.wait()

    def _finish(self, code: int) -> int:
        """The main process ended: what it left behind goes with it."""
        if self._code is None:
            self.processes.kill_all()
            self.processes.close()
            self._reader.join(timeout=5)  # children holding the output pipe are gone now
            self._report = self._read_report()
            self._code = code
        return self._code

    def _read_report(self) -> dict | None:
        """What the engine wrote on the report pipe before it exited, if anything."""
        if self._report_fd is None:
            return None
        try:
            os.set_blocking(self._report_fd, False)
            return json.loads(os.read(self._report_fd, 4096))
        except (OSError, ValueError):  # nothing written, or cut short
            return None
        finally:
            os.close(self._report_fd)
            self._report_fd = None

    def engine_report(self) -> dict | None:
        """The state the API answered to the engine's final report ({"state", "token"}), once
        the main process has ended; None if the engine did not get that far."""
        return self._report

    def output_tail(self) -> list[str]:
        return list(self._tail)


def launch(job: dict, claimed: ClaimedRun, token: str, ctx: WorkerContext) -> ProcessHandle:
    run = claimed.flow_run
    cwd = job.get("working_dir") or _default_directory(claimed, ctx)
    env = {**inherited_environment(os.environ, claimed), **(job.get("env") or {}),
           **engine_environment(claimed, token, ctx.api_url),
           "FLOWPOOL_SUPERVISOR_PID": str(os.getpid())}
    cold_reason = warm_start.cold_start_reason(job, env, ctx.process_start)
    zygote = warm_start.zygote() if cold_reason is None else None
    processes = process_tree.track(run.id, run.attempt, ctx.process_cgroups,
                                   start_brings_cgroup=zygote is not None)

    def start_warm(launch_read: int, report_write: int) -> warm_start.WarmProcess:
        in_cgroup = isinstance(processes, process_tree.CgroupProcesses)
        return zygote.fork(run.id, cwd, env, launch_read, report_write,
                           process_tree.home_cgroup() if in_cgroup else None)

    def start_cold(launch_read: int, report_write: int) -> subprocess.Popen:
        command = engine_command(job.get("command"), run.id, python=sys.executable)
        return subprocess.Popen(
            command, cwd=cwd, env={**env, LAUNCH_FD_VARIABLE: str(launch_read),
                                   REPORT_FD_VARIABLE: str(report_write)},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, pass_fds=(launch_read, report_write))

    started = None
    if zygote is not None:
        try:
            started = _start(processes, start_warm, start_joins=True)
        except warm_start.WarmStartFailed as exc:
            log.warning("run %s: no warm start (%s); starting it cold", run.id, exc)
            processes = process_tree.track(run.id, run.attempt, ctx.process_cgroups)
    if started is None:  # new pipes: a late warm child holds the first ones, and exits on them
        started = _start(processes, start_cold)
    popen, launch_write, report_read = started
    hand_over(launch_write, claimed)
    return ProcessHandle(popen, processes, bool(job.get("stream_output", True)),
                         run_secrets(job, claimed, env), report_read, run_name=run.name)


def _start(processes: process_tree.RunProcesses, start, start_joins: bool = False):
    """(the run's main process, the write end of its launch pipe, the read end of its
    report pipe), started by `start(launch_read, report_write)`."""
    launch_read, launch_write = os.pipe()
    report_read, report_write = os.pipe()
    try:
        popen = processes.spawn(lambda: start(launch_read, report_write), start_joins)
    except BaseException:
        os.close(launch_write)
        os.close(report_read)
        raise
    finally:
        os.close(launch_read)
        os.close(report_write)
    return popen, launch_write, report_read


def hand_over(fd: int, claimed: ClaimedRun) -> None:
    """Write the claimed run to the engine's pipe from a thread: a large run fills the pipe
    until the engine reads it, and a custom command that never reads it must not block the
    worker (its write fails when the process ends)."""
    def write() -> None:
        data = claimed.model_dump_json().encode()
        try:
            while data:
                data = data[os.write(fd, data):]
        except BrokenPipeError:
            pass  # the run's process ended, or never read it
        finally:
            os.close(fd)

    threading.Thread(target=write, name=f"launch-{claimed.flow_run.id}", daemon=True).start()


def _default_directory(claimed: ClaimedRun, ctx: WorkerContext) -> str:
    """Without pull steps the code is where deploy ran. With them, the steps fetch it, into a
    directory of this worker's own per deployment, so a clone is reused by the next run and
    never lands in somebody's checkout."""
    deployment = claimed.deployment
    if not deployment.pull_steps:
        return deployment.path or os.getcwd()
    directory = ctx.home / "deployments" / deployment.id
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory)

