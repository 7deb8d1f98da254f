"""Small process helpers shared by the server, the workers and the engine."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

RUN_CGROUP_PREFIX = "flowpool-run-"  # the name of every cgroup made for a flow run begins so


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send `sig` to this process when its parent thread dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig))
    except OSError:
        pass


def set_process_name(name: str) -> None:
    """The name `ps -o comm`, `top` and /proc/PID/comm show (15 bytes at most; Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    PR_SET_NAME = 15
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_NAME, name.encode()[:15])
    except OSError:
        pass


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally:` blocks run and children are stopped."""
    def _raise(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _raise)


def set_child_subreaper() -> None:
    """Become the parent of every orphan among this process's descendants, instead of init,
    so that they can still be found (and must be reaped) here. Linux only; a no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass


def own_cgroup() -> Path:
    return cgroup_dir("self")


def cgroup_dir(pid: int | str) -> Path:
    """The cgroup v2 directory of process `pid`; OSError where there is no cgroup v2."""
    relative = _cgroup_v2_path(pid)
    mount_root, mount_point = _cgroup_v2_mount()
    if os.path.commonpath([relative, mount_root]) != mount_root:
        raise OSError(f"cgroup {relative} is outside the cgroup2 mount at {mount_point}")
    return Path(mount_point) / os.path.relpath(relative, mount_root)


def _cgroup_v2_path(pid: int | str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise OSError(f"process {pid} is in no cgroup v2 hierarchy")


def _cgroup_v2_mount() -> tuple[str, str]:
    """(root of the hierarchy that is mounted, where) of the cgroup2 mount."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, rest = line.partition(" - ")
        if rest.split()[0] == "cgroup2":
            parts = fields.split()
            return parts[3], parts[4]
    raise OSError("no cgroup2 file system is mounted")


def join_cgroup(cgroup: Path) -> None:
    """Move this process into `cgroup` (its children start there from then on)."""
    (cgroup / "cgroup.procs").write_text(str(os.getpid()))
