"""`flowpool server start --host 0.0.0.0` without FLOWPOOL_API_KEY warns that the API is open
to anyone who can reach it; with a key, or on loopback, it does not."""
from __future__ import annotations

import pytest

from devstack import LocalStack

pytestmark = pytest.mark.integration

WARNING = "without an API key: anyone who can reach it"


def server_output(home, redis_url: str, *args: str, env: dict | None = None) -> str:
    """What `flowpool server start ARGS` prints (without a scheduler: it would join the
    session's leader election on the shared Redis)."""
    stack = LocalStack(home, redis_url=redis_url, extra_env=env)
    try:
        stack.start_server("--no-scheduler", *args)
    finally:
        stack.stop()
    return (home / "server.log").read_text()


def test_an_open_host_without_a_key_is_warned_about(tmp_path, redis_server):
    output = server_output(tmp_path / "open", redis_server.url, "--host", "0.0.0.0")

    assert WARNING in output and "Set FLOWPOOL_API_KEY" in output


def test_no_warning_on_loopback_or_with_a_key(tmp_path, redis_server):
    loopback = server_output(tmp_path / "loopback", redis_server.url, "--host", "127.0.0.1")
    keyed = server_output(tmp_path / "keyed", redis_server.url, "--host", "0.0.0.0",
                          env={"FLOWPOOL_API_KEY": "s3cret"})

    assert WARNING not in loopback and WARNING not in keyed
