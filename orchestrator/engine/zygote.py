"""The warm start of process runs: one interpreter with the engine already imported, which
forks a child per run instead of starting a new interpreter.

A worker starts it (`python -m orchestrator.engine.zygote FD`, or forks it: `run()`) and
talks to it over the Unix socket FD. Each request is the run's id, environment and working
directory, with three descriptors attached: where the run's output goes, the pipe its
claimed run comes from and the one its engine tells the worker its final report on. The
zygote keeps one child forked ahead (a spare), which takes the next request. Where runs get
cgroups (the request names the directory they are made in), the spare waits in a new cgroup
of its own, which becomes its run's: it is tracked from the run's first instruction, and the
move into a cgroup (which waits milliseconds on the kernel) is made before the run comes, not
on its way. The zygote answers with the child's pid and cgroup; when the child exits, it
reports its exit code (each answer names the request it answers, as several of the worker's
threads may be asking). The child starts a session of its own, takes the run's environment,
directory and output, and runs the engine exactly as `python -m orchestrator.engine` would.

Messages are those of `warm_protocol`. The zygote imports what every run needs and nothing
of the run's own code: each child is a copy of that clean state. It also imports, once, the
modules `FLOWPOOL_WARM_IMPORTS` names: libraries the worker's flows use, which a forked run
then finds imported.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import itertools
import os
import select
import signal
import socket
import sys
from pathlib import Path

from ..models import LAUNCH_FD_VARIABLE, REPORT_FD_VARIABLE
from ..processes import (RUN_CGROUP_PREFIX, join_cgroup, own_cgroup, set_parent_death_signal,
                         set_process_name)
from ..warm_protocol import receive_message, send_message
from .run import exit_process
from .run import main as run_engine

READY = "ready"
PROCESS_NAME = "flowpool-zygote"
RUN_PROCESS_NAME = "flowpool-run"  # not the zygote's name, which a fork keeps
SPARE_PROCESS_NAME = "flowpool-spare"
SPARE_ANSWER_TIMEOUT_S = 1.0  # it answers as soon as it is in the run's cgroup


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
    "localhost".encode("idna")  # the codec a first connect imports (stringprep, unicodedata)
    gc.collect()
    gc.freeze()  # a child's collections then leave these objects, and their pages, alone
    _preloaded = True


def import_warm_modules() -> None:
    """Import the modules FLOWPOOL_WARM_IMPORTS names. One that fails is left to the runs,
    which import it themselves and report what is wrong with it."""
    from config.settings import get_settings

    names = get_settings().warm_import_modules
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001  (a module may raise anything at import)
            print(f"{PROCESS_NAME}: could not import {name} ahead of the runs "
                  f"({type(exc).__name__}: {exc}); each run imports it itself",
                  file=sys.stderr, flush=True)
    if names:
        gc.collect()
        gc.freeze()


def serve(sock: socket.socket) -> None:
    """Start a child per request; report each child's exit. Ends when the worker goes."""
    children: dict[int, int] = {}  # pidfd -> pid
    spare: Spare | None = None
    cgroup_parent: str | None = None  # where the last request wanted its run's cgroup
    with contextlib.suppress(OSError):  # no cgroup v2: runs get none
        _home_cgroup()
    send_message(sock, {READY: os.getpid()})
    while True:
        if spare is None:  # between requests: the next run's fork is off its path
            spare = Spare.fork(sock, list(children), cgroup_parent)
        waiting = [sock, *children, *([spare.pidfd] if spare else [])]
        for ready in select.select(waiting, [], [])[0]:
            if ready is sock:
                request, fds = receive_message(sock, max_fds=3)
                if request is None:
                    return  # the supervising process is gone; its runs die with us
                answer = {"id": request.get("id")}  # several threads may be asking
                cgroup_parent = request.get("cgroup_parent")
                try:
                    if spare is not None:
                        pid, pidfd, cgroup = spare.take(request, fds)
                    else:
                        pid, cgroup = start_child(sock, request, fds, list(children))
                        pidfd = os.pidfd_open(pid)
                except OSError as exc:  # no fork, or no way into a cgroup
                    send_message(sock, {**answer, "error": str(exc)})
                    continue
                finally:
                    spare = None
                children[pidfd] = pid
                send_message(sock, {**answer, "pid": pid, "cgroup": cgroup})
            elif spare is not None and ready == spare.pidfd:
                spare.discard()  # it died waiting: another is forked
                spare = None
            else:
                pid = children.pop(ready)
                os.close(ready)
                _, status = os.waitpid(pid, 0)
                send_message(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


class Spare:
    """A child forked ahead of the next request and waiting for it, so that a run starts
    without a fork on its path; in a cgroup of its own when the last request wanted one (the
    first run's spare moves into one when its request comes). Given a run, it says which
    cgroup it is in and only then becomes the run: the worker learns its pid once it is
    tracked."""

    def __init__(self, pid: int, sock: socket.socket, cgroup_parent: str | None):
        self.pid, self.sock, self.pidfd = pid, sock, os.pidfd_open(pid)
        self.cgroup_parent = cgroup_parent

    @classmethod
    def fork(cls, zygote_sock: socket.socket, pidfds: list[int],
             cgroup_parent: str | None) -> "Spare | None":
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return None  # each request forks its own child meanwhile
        if pid == 0:
            zygote_sock.close()
            ours.close()
            for fd in pidfds:
                os.close(fd)
            wait_for_run(theirs, cgroup_parent)  # never returns
        theirs.close()
        ours.settimeout(SPARE_ANSWER_TIMEOUT_S)
        return cls(pid, ours, cgroup_parent)

    def take(self, request: dict, fds: list[int]) -> tuple[int, int, str | None]:
        """Hand the run to the spare: (its pid, its pidfd, its cgroup) once it is in the
        cgroup its run is tracked by."""
        try:
            send_message(self.sock, request, fds)
            reply, _ = receive_message(self.sock)
        except OSError:
            reply = None
        finally:
            for fd in fds:  # the spare's now
                os.close(fd)
        if reply is None or "error" in reply:
            self.discard(kill=True)
            raise OSError(reply["error"] if reply else "the spare process did not answer")
        self.sock.close()
        return self.pid, self.pidfd, reply.get("cgroup")

    def discard(self, kill: bool = False) -> None:
        if kill:
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.pidfd)
        self.sock.close()
        if self.cgroup_parent:  # the cgroup it waited in, now empty
            with contextlib.suppress(OSError):
                spare_cgroup(Path(self.cgroup_parent), self.pid).rmdir()


def wait_for_run(sock: socket.socket, cgroup_parent: str | None) -> None:
    """In a spare: move into a cgroup of its own if runs get one, wait for a run, make
    sure the cgroup is where the run wants it, confirm, become the run."""
    code = 0
    cgroup = None
    try:
        set_process_name(SPARE_PROCESS_NAME)
        with contextlib.suppress(OSError):  # else it moves when its run comes
            cgroup = enter_new_cgroup(Path(cgroup_parent)) if cgroup_parent else None
        request, fds = receive_message(sock, max_fds=3)
        if request is not None:
            cgroup = settle_cgroup(cgroup, request.get("cgroup_parent"))
            send_message(sock, {"joined": True, "cgroup": cgroup and str(cgroup)})
            sock.close()
            set_process_name(RUN_PROCESS_NAME)
            become_run(request, *fds)  # never returns
    except OSError as exc:
        code = 70
        with contextlib.suppress(OSError):
            send_message(sock, {"error": str(exc)})
    os._exit(code)


def spare_cgroup(parent: Path, pid: int) -> Path:
    """The cgroup that spare `pid` makes for itself and its run."""
    return parent / f"{RUN_CGROUP_PREFIX}warm-{pid}"


def enter_new_cgroup(parent: Path, path: Path | None = None) -> Path:
    """Make a cgroup under `parent` (this spare's own unless `path` is given) and move into
    it."""
    path = path or spare_cgroup(parent, os.getpid())
    with contextlib.suppress(OSError):  # a leftover of a killed worker, with a reused pid
        path.rmdir()
    path.mkdir()
    try:
        join_cgroup(path)
    except OSError:
        path.rmdir()
        raise
    return path


def settle_cgroup(cgroup: Path | None, wanted_parent: str | None) -> Path | None:
    """The cgroup this process's run will be in: the one it is in if that is under
    `wanted_parent`, a new one there otherwise; with no `wanted_parent`, none (back to the
    zygote's own)."""
    if cgroup is not None and str(cgroup.parent) == wanted_parent:
        return cgroup
    settled = enter_new_cgroup(Path(wanted_parent)) if wanted_parent else None
    if cgroup is not None:
        if settled is None:
            join_cgroup(_home_cgroup())
        with contextlib.suppress(OSError):  # else removed as a leftover, once old and empty
            cgroup.rmdir()
    return settled


@functools.cache
def _home_cgroup() -> Path:
    """The zygote's own cgroup: read before the first spare is forked (a spare, in a cgroup
    of its own, would read that), as the zygote only leaves it inside `start_child`."""
    return own_cgroup()


_forks = itertools.count()  # names the cgroups of children forked without a spare


def start_child(sock: socket.socket, request: dict, fds: list[int],
                pidfds: list[int]) -> tuple[int, str | None]:
    """Fork the run's process, inside a new cgroup when runs get one: (pid, cgroup)."""
    output_fd, launch_fd, report_fd = fds
    pid = -1
    parent = request.get("cgroup_parent")
    home = _home_cgroup() if parent else None
    cgroup = None
    if parent:  # named by this zygote's count: the child's pid is not known yet
        cgroup = enter_new_cgroup(Path(parent), Path(parent, f"{RUN_CGROUP_PREFIX}warm-"
                                                             f"{os.getpid()}-{next(_forks)}"))
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
    return pid, cgroup and str(cgroup)


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
    import_warm_modules()  # here, not in the worker it may be forked from
    serve(sock)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
