"""The messages between a worker's supervising process and its warm-start process
(`engine/zygote.py`): JSON over a Unix stream socket, each preceded by its length in 8 hex
digits, with descriptors attached to the header when a request passes some."""
from __future__ import annotations

import json
import os
import socket

HEADER_BYTES = 8


def send_message(sock: socket.socket, message: dict, fds: list[int] = ()) -> None:
    body = json.dumps(message).encode()
    header = f"{len(body):08x}".encode()
    if fds:
        socket.send_fds(sock, [header], list(fds))
    else:
        sock.sendall(header)
    sock.sendall(body)


def receive_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict | None, list[int]]:
    """The next message and the descriptors sent with it; (None, []) once the peer is gone."""
    if max_fds:
        header, fds, _, _ = socket.recv_fds(sock, HEADER_BYTES, max_fds)
    else:
        header, fds = sock.recv(HEADER_BYTES), []
    while header and len(header) < HEADER_BYTES:  # a stream may split the header
        more = sock.recv(HEADER_BYTES - len(header))
        if not more:
            break
        header += more
    if len(header) < HEADER_BYTES:
        for fd in fds:
            os.close(fd)
        return None, []
    left, chunks = int(header, 16), []
    while left:
        chunk = sock.recv(min(left, 1 << 16))
        if not chunk:
            return None, []
        chunks.append(chunk)
        left -= len(chunk)
    return json.loads(b"".join(chunks)), fds
