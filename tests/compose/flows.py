"""The small flow the compose stack test runs: it holds its slot a moment, then says where it ran."""
import socket
import time

from orchestrator import flow


@flow
def hold(seconds: float = 1.0) -> str:
    time.sleep(seconds)
    return socket.gethostname()
