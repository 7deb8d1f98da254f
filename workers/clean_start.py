"""A threads-pool worker of process runs, started clean: `python -m workers.clean_start`.

`flowpool worker start` checks its arguments, then replaces itself (same pid, same output)
with this fresh interpreter, started without the worker's secrets. It imports what every
run's engine needs and forks the warm-start process from that state, before anything
secret is in its memory: the two processes then share those pages instead of holding a
copy each. Only then does it read its whole environment and its arguments from the pipe
`CLEAN_START_FD_VARIABLE` names, and become the Celery worker.
"""
from __future__ import annotations

import json
import os
import socket
import sys

from orchestrator.engine import zygote

from . import warm_start

from .main import CLEAN_START_FD_VARIABLE


def main() -> int:
    start_fd = int(os.environ.pop(CLEAN_START_FD_VARIABLE))
    zygote.preload()
    fork_zygote(start_fd)
    with os.fdopen(start_fd, "rb") as start:
        started = json.loads(start.read())
    os.environ.clear()
    os.environ.update(started["environ"])
    from config.settings import get_settings

    from .main import start_worker

    get_settings.cache_clear()  # the zygote's preload read the environment without secrets
    return start_worker(get_settings(), **started["arguments"], clean=True)


def fork_zygote(start_fd: int) -> None:
    """Fork the warm-start process from this process, which holds no secret yet."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(start_fd)  # the secrets are in there
            ours.close()
            zygote.run(theirs)
            code = 0
        finally:
            os._exit(code)
    theirs.close()
    warm_start.adopt(pid, ours)


if __name__ == "__main__":
    sys.exit(main())
