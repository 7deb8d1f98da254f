"""The warm start of process runs: one interpreter with the engine already imported, which
forks a child per run instead of starting a new interpreter.

A worker's supervising process starts it (`python -m orchestrator.engine.zygote FD`) and
talks to it over the Unix socket FD. Each request is the run's id, environment, working
directory and cgroup, with three descriptors attached: where the run's output goes, the pipe
its claimed run comes from and the one its engine tells the worker its final report on. The zygote forks the run's process inside the run's cgroup (so
it is tracked from its first instruction), answers with its pid and, when it exits, its exit
code (each answer names the request it answers, as several of the worker's threads may
be asking). The child starts a session of its own, takes the run's environment, directory and
output, and runs the engine exactly as `python -m orchestrator.engine` would.

Messages are those of `warm_protocol`. The zygote imports what every
run needs and nothing of the run's own code: each child is a copy of that clean state.
"""
from __future__ import annotations

import gc
import os
import select
import signal
import socket
import sys
from pathlib import Path

from ..models import LAUNCH_FD_VARIABLE, REPORT_FD_VARIABLE
from ..processes import join_cgroup, own_cgroup, set_parent_death_signal, set_process_name
from ..warm_protocol import receive_message, send_message
from .run import exit_process
from .run import main as run_engine

READY = "ready"
PROCESS_NAME = "flowpool-zygote"
RUN_PROCESS_NAME = "flowpool-run"  # not the zygote's name, which a fork keeps


_preloaded = False


def preload() -> None:
    """Import and build, once, what every run's engine needs; the children share it."""
    global _preloaded
    if _preloaded:
        return
    from .. import client
    from ..compat import finder, modules  # noqa: F401  (loading a flow file may use them)
    from ..sdk import (flow_engine, flow_parameters, hooks, live_runs,  # noqa: F401
                       run_session)

    from config.settings import get_settings

    get_settings()  # each child builds its own (from its run's environment), faster after this
    client.default_ssl_context()  # loading the CA bundle is the slow part of a client
    client.FlowpoolClient("http://127.0.0.1:9/api").close()  # imports its transport's modules
    gc.collect()
    gc.freeze()  # a child's collections then leave these objects, and their pages, alone
    _preloaded = True


def serve(sock: socket.socket) -> None:
    """Fork a child per request; report each child's exit. Ends when the worker goes."""
    children: dict[int, int] = {}  # pidfd -> pid
    send_message(sock, {READY: os.getpid()})
    while True:
        readable, _, _ = select.select([sock, *children], [], [])
        for ready in readable:
            if ready is sock:
                request, fds = receive_message(sock, max_fds=3)
                if request is None:
                    return  # the supervising process is gone; its runs die with us
                answer = {"id": request.get("id")}  # several threads may be asking
                try:
                    pid = start_child(sock, request, fds, list(children))
                except OSError as exc:  # no fork, or no way into the run's cgroup
                    for fd in fds:
                        os.close(fd)
                    send_message(sock, {**answer, "error": str(exc)})
                    continue
                children[os.pidfd_open(pid)] = pid
                send_message(sock, {**answer, "pid": pid})
            else:
                pid = children.pop(ready)
                os.close(ready)
                _, status = os.waitpid(pid, 0)
                send_message(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def start_child(sock: socket.socket, request: dict, fds: list[int], pidfds: list[int]) -> int:
    """Fork the run's process, inside the run's cgroup when it has one."""
    output_fd, launch_fd, report_fd = fds
    pid = -1
    cgroup = request.get("cgroup")
    home = own_cgroup() if cgroup else None
    if cgroup:
        join_cgroup(Path(cgroup))
    try:
        pid = os.fork()
    finally:
        if cgroup and pid != 0:
            join_cgroup(home)
    if pid == 0:
        set_process_name(RUN_PROCESS_NAME)
        sock.close()
        for fd in pidfds:
            os.close(fd)
        become_run(request, output_fd, launch_fd, report_fd)  # never returns
    for fd in fds:  # the child's now: its output ends when the child's processes do
        os.close(fd)
    return pid


def become_run(request: dict, output_fd: int, launch_fd: int, report_fd: int) -> None:
    """In the child: turn into the run's process, as a fresh interpreter would start it."""
    code = 70
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(null)
        os.close(output_fd)
        os.chdir(request["cwd"])
        env = dict(request["env"], FLOWPOOL_SUPERVISOR_PID=str(os.getppid()))
        env.update({LAUNCH_FD_VARIABLE: str(launch_fd), REPORT_FD_VARIABLE: str(report_fd)})
        os.environ.clear()
        os.environ.update(env)
        sys.path[0] = os.getcwd()  # as `python -m` sets it
        sys.argv = [sys.argv[0], request["run_id"]]
        from config.settings import get_settings

        get_settings.cache_clear()  # settings come from this run's environment
        code = run_engine([request["run_id"]])
    except BaseException as exc:  # noqa: BLE001  (the child must never return to the loop)
        if isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            import traceback

            traceback.print_exc()
    exit_process(code)


def main(argv: list[str]) -> int:
    run(socket.socket(fileno=int(argv[0])))
    return 0


def run(sock: socket.socket) -> None:
    """Be the zygote on `sock`: in a new interpreter, or in a process forked from a worker
    that had imported what runs need (and read none of its secrets yet)."""
    set_parent_death_signal()  # gone with the supervising process, and so are its runs
    set_process_name(PROCESS_NAME)  # forked, it would show as its worker does
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the worker, which ends us
    preload()  # nothing to do if it was forked after one
    serve(sock)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
