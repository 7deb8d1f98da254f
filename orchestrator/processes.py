"""Small process helpers shared by the server, the workers and the engine."""
from __future__ import annotations

import signal
import sys


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
