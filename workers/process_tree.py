"""Every process a flow run starts, found and killed so that none outlives the run.

A flow may start processes that leave its process group (`setsid`, daemons that fork twice),
so signalling the group is not enough. Where the worker may create a cgroup (v2), each run
gets one of its own: a process cannot leave its cgroup, so its member list is the run's
processes, whatever they do. Elsewhere (cgroup v1 only, a read-only /sys/fs/cgroup, or
`FLOWPOOL_PROCESS_CGROUPS=false`) the run's processes are found by walking /proc by parent
pid from the supervising process, which is a child subreaper: an orphan of the run is
reparented to it, not to init, so the walk still finds it.

The supervising process is the one that starts the run's process. In a worker of the
threads pool (the default where run cgroups can be made) it supervises every run of the
worker at once: a run's processes are told apart by their cgroup alone, moves between
cgroups are made one at a time (a move takes the whole process, every thread), and only the
orphans no one else waits for are reaped here. Without cgroups the worker uses Celery's
prefork pool, where a pool process supervises one run at a time: every child it has, apart
from the ones it had before the launch (its warm-start process among them), belongs to the
run it supervises; a warm start's main process is the warm-start process's child, and is
walked from its own pid. It is a subreaper in both modes (so orphans never pile up as
zombies under a worker that is pid 1 of a container), and it reaps the orphans reparented
to it.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from orchestrator.processes import (RUN_CGROUP_PREFIX, join_cgroup, own_cgroup,
                                    set_child_subreaper)

log = logging.getLogger("flowpool.worker")
KILL_TIMEOUT_S = 10.0
LEFTOVER_AGE_S = 60.0
_cgroups_unusable: str | None = None  # why this process cannot use cgroups, once known
_cgroup_moves_allowed = False  # this process moved itself into a run's cgroup once
# Held while a child of this process starts (until it is known whose it is to reap) and
# while this process is out of its own cgroup (a move takes every thread along, and a child
# started meanwhile would land in a run's cgroup).
starting = threading.RLock()
_waited_for: set[int] = set()  # children a Popen waits for: reap() leaves them alone
_live: set["RunProcesses"] = set()  # the runs being supervised here
_live_lock = threading.Lock()
# Several runs supervised at once (the threads pool): only a cgroup can tell them apart.
shared = False


def cgroups_usable(use_cgroups: bool) -> bool:
    """Whether this process can give each run a cgroup of its own (tried once, for real)."""
    if not use_cgroups:
        return False
    try:
        CgroupProcesses.create(f"{RUN_CGROUP_PREFIX}probe-{os.getpid()}").close()
    except OSError as exc:
        global _cgroups_unusable
        _cgroups_unusable = str(exc)
        return False
    return True


@functools.cache
def home_cgroup() -> Path:
    """This process's own cgroup, where it stays but for the instants of a cold start's
    move (read once, while no move is under way)."""
    with starting:
        return own_cgroup()


def track(run_id: str, attempt: int, use_cgroups: bool,
          start_brings_cgroup: bool = False) -> "RunProcesses":
    """Where the run about to start will be tracked: its own cgroup if possible
    (`start_brings_cgroup`: the one its start puts it in, as a warm start does; see spawn)."""
    global _cgroups_unusable
    set_child_subreaper()
    if use_cgroups and _cgroups_unusable is None:
        if start_brings_cgroup:
            return CgroupProcesses(None)
        try:
            return CgroupProcesses.create(f"{RUN_CGROUP_PREFIX}{run_id}-{attempt}")
        except OSError as exc:  # cgroup v1 only, read-only, not delegated to this user...
            if shared:  # the parent-pid walk cannot tell runs apart: the run cannot start
                raise
            _cgroups_unusable = str(exc)
            log.info("no cgroup for flow runs here (%s); tracking their processes by parent"
                     " pid, as a child subreaper", exc)
    return TreeProcesses()


def kill_every_run() -> None:
    """Kill the processes of every run supervised here (a worker's cold shutdown): each
    supervisor then sees its run's process exit."""
    with _live_lock:
        runs = list(_live)
    for run in runs:
        run.kill_all(timeout_s=1.0)


class RunProcesses:
    """The live processes of one run, whose main process `spawn()` starts."""

    main_pid: int | None = None

    def spawn(self, start: Callable[[], subprocess.Popen],
              start_joins: bool = False) -> subprocess.Popen:
        """Start the run's main process with `start()`, tracked from its first instruction
        (`start_joins`: `start()` starts it in a cgroup of its own, as the warm-start
        process does)."""
        with starting:
            popen = start()
            self.main_pid = popen.pid
            if isinstance(popen, subprocess.Popen):  # a cold start: Popen reaps it
                waited_for(popen.pid)
        with _live_lock:
            _live.add(self)
        return popen

    def pids(self) -> set[int]:
        raise NotImplementedError

    def _kill_once(self, pids: set[int]) -> None:
        _send(pids, signal.SIGKILL)

    def signal(self, sig: int) -> None:
        _send(self.pids(), sig)

    def kill_all(self, timeout_s: float = KILL_TIMEOUT_S) -> bool:
        """SIGKILL the run's processes until none is left: one may fork while it is killed."""
        deadline = time.monotonic() + timeout_s
        while pids := self.pids():
            if time.monotonic() > deadline:
                log.error("processes %s of a flow run survived SIGKILL", sorted(pids))
                return False
            self._kill_once(pids)
            time.sleep(0.01)
            self.reap()
        self.reap()
        return True

    def reap(self) -> None:
        """Reap the orphans reparented here that died: none is waited for by anyone else
        (a Popen waits for its own child, the warm-start process among them)."""
        reap_orphans()

    def close(self) -> None:
        _waited_for.discard(self.main_pid)
        with _live_lock:
            _live.discard(self)


def waited_for(pid: int) -> None:
    """`pid` is a child whose exit a Popen collects: never reap it here."""
    _waited_for.add(pid)


def reap_orphans() -> None:
    with starting:
        _reap_unwaited()


def _reap_unwaited() -> None:
    while True:
        try:  # the cheap look: one child that has exited, if any, left unreaped
            found = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if found is None:
            return
        if found.si_pid in _waited_for:  # a Popen's: look past it, at every exited child
            for pid in _zombie_children() - _waited_for:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            return
        with contextlib.suppress(ChildProcessError):  # another thread reaped it meanwhile
            os.waitpid(found.si_pid, os.WNOHANG)


def _zombie_children() -> set[int]:
    """This process's children that have exited and wait to be reaped."""
    me = os.getpid()
    return {pid for pid, (ppid, state) in process_table().items()
            if ppid == me and state == "Z"}


class TreeProcesses(RunProcesses):
    """The run's processes as the subtree of this (subreaper) process, read from /proc."""

    def __init__(self):
        self._before: set[int] = set()

    def spawn(self, start: Callable[[], subprocess.Popen],
              start_joins: bool = False) -> subprocess.Popen:
        me = os.getpid()
        self._before = {pid for pid, (ppid, _) in process_table().items() if ppid == me}
        return super().spawn(start)

    def pids(self) -> set[int]:
        table = process_table()
        me = os.getpid()
        roots = [pid for pid, (ppid, _) in table.items() if ppid == me and pid not in self._before]
        if self.main_pid in table:  # a warm start's main process is the zygote's child
            roots.append(self.main_pid)
        found = descendants(table, roots)
        return {pid for pid in found if table[pid][1] != "Z"}  # a zombie is already dead


class CgroupProcesses(RunProcesses):
    """The run's processes as the members of a cgroup of its own, under the worker's."""

    def __init__(self, path: Path | None):
        self.path = path  # None until the start of its run says where it is

    @classmethod
    def create(cls, name: str) -> "CgroupProcesses":
        home = home_cgroup()
        _remove_leftovers(home)
        path = home / name
        path.mkdir()
        if not _cgroup_moves_allowed:
            cls._try_moving_in(home, path)
        return cls(path)

    @staticmethod
    def _try_moving_in(home: Path, path: Path) -> None:
        """Moving a process in may be refused even where mkdir is not: try it once per
        process (a move costs milliseconds, the first into a new cgroup more)."""
        global _cgroup_moves_allowed
        try:
            with starting:
                join_cgroup(path)
                join_cgroup(home)
        except OSError:
            path.rmdir()
            raise
        _cgroup_moves_allowed = True

    def spawn(self, start: Callable[[], subprocess.Popen],
              start_joins: bool = False) -> subprocess.Popen:
        """Fork the run's process from inside its cgroup, so it is a member from its first
        instruction on, before it can start anything; this process moves back at once.
        (Moving costs milliseconds: not done when `start()` starts it in a cgroup of its
        own under this process's, which the process it returns names as `cgroup`.)"""
        if start_joins:
            def started() -> subprocess.Popen:
                popen = start()
                self.path = Path(popen.cgroup)
                return popen
            return super().spawn(started)
        with starting:
            home = home_cgroup()
            join_cgroup(self.path)
            try:
                popen = start()
            except BaseException:
                join_cgroup(home)
                self.close()
                raise
            join_cgroup(home)
        return super().spawn(lambda: popen)

    def pids(self) -> set[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except FileNotFoundError:
            return set()
        return {int(pid) for pid in text.split()} - {os.getpid()}  # never this process

    def _kill_once(self, pids: set[int]) -> None:
        kill_file = self.path / "cgroup.kill"  # Linux >= 5.14: the kernel kills them all
        if kill_file.exists() and own_cgroup() != self.path:  # never this process
            kill_file.write_text("1")
        else:
            super()._kill_once(pids)

    def close(self) -> None:
        super().close()
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:  # a process survived SIGKILL (logged): leave the cgroup
            log.warning("could not remove %s: %s", self.path, exc)


def _remove_leftovers(home: Path) -> None:
    """A worker killed outright leaves its run's cgroup behind: remove those now empty. (A
    young one may be a run about to start, not yet populated: leave it.)"""
    for path in home.glob(f"{RUN_CGROUP_PREFIX}*"):
        with contextlib.suppress(OSError):  # removed meanwhile, or not empty after all
            if ("populated 0" in (path / "cgroup.events").read_text()
                    and time.time() - path.stat().st_ctime > LEFTOVER_AGE_S):
                path.rmdir()


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process on the machine."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        fields = stat.rpartition(")")[2].split()  # after "pid (name)", which may hold spaces
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(table: dict[int, tuple[int, str]], roots: list[int]) -> set[int]:
    """`roots` and every process below them in `table` (a `process_table()`)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    frontier = list(roots)
    while frontier:
        pid = frontier.pop()
        found.add(pid)
        frontier.extend(children.get(pid, []))
    return found


def _send(pids: set[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
