"""The process infrastructure: each flow run in its own subprocess and process group."""
from __future__ import annotations

import collections
import os
import shlex
import signal
import subprocess
import sys
import threading

from orchestrator.models import ClaimedRun

from .context import WorkerContext
from .infrastructure import engine_environment, inherited_environment

OUTPUT_TAIL_LINES = 50


class ProcessHandle:
    """A running flow-run process; its output is echoed (if asked) and its tail kept."""

    def __init__(self, popen: subprocess.Popen, stream_output: bool):
        self.popen = popen
        self.stream_output = stream_output
        self._tail: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL_LINES)
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    def _read_output(self) -> None:
        for raw in self.popen.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self._tail.append(line)
            if self.stream_output:
                print(line, file=sys.stdout, flush=True)

    def poll(self, timeout_s: float) -> int | None:
        """The exit code if the process ended within `timeout_s`, else None."""
        try:
            code = self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(timeout=5)
        return code

    def wait(self) -> int:
        code = self.popen.wait()
        self._reader.join(timeout=5)
        return code

    def stop(self, grace_s: float) -> int:
        """SIGTERM the whole process group, SIGKILL it after `grace_s`; the exit code."""
        self._signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        self._signal_group(signal.SIGKILL)  # also children that outlived their parent
        return self.wait()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def output_tail(self) -> list[str]:
        return list(self._tail)


def launch(job: dict, claimed: ClaimedRun, token: str, ctx: WorkerContext) -> ProcessHandle:
    run = claimed.flow_run
    command = _command(job.get("command"), run.id)
    cwd = job.get("working_dir") or _default_directory(claimed, ctx)
    env = {**inherited_environment(os.environ, claimed), **(job.get("env") or {}),
           **engine_environment(claimed, token, ctx.api_url),
           "FLOWPOOL_SUPERVISOR_PID": str(os.getpid())}
    popen = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    return ProcessHandle(popen, bool(job.get("stream_output", True)))


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


def _command(configured: str | list | None, run_id: str) -> list[str]:
    if not configured:
        return [sys.executable, "-m", "orchestrator.engine", run_id]
    return shlex.split(configured) if isinstance(configured, str) else list(configured)
