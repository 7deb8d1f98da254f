"""Ports of `flowpool server start` and of `make demo`: a taken API port ends the start in one
line before anything is touched, the bundled Redis goes beside the API port so `--port` alone
runs a second server, one data directory is never served by two Redis servers, and a clean
stop says nothing about lost connections."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import LocalStack, flowpool_command

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60


class Listener:
    """A process that is not flowpool, listening on a port."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


def clean_env(home: Path) -> dict[str, str]:
    """This environment without flowpool's settings, and `home` (not made) as FLOWPOOL_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPOOL_")}
    return {**env, "FLOWPOOL_HOME": str(home)}


def test_a_taken_api_port_fails_the_start_in_one_line_and_touches_nothing(tmp_path):
    home = tmp_path / "home"
    with Listener() as port:
        result = subprocess.run([*flowpool_command(), "server", "start", "--port", str(port)],
                                env=clean_env(home),
                                capture_output=True, text=True, timeout=START_TIMEOUT_S)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: port {port} is taken, so the API cannot listen on 127.0.0.1:{port}:"
        " stop what listens there, or give another --port"]
    assert not home.exists()  # no Redis started, no database made


def test_port_alone_runs_a_second_server_and_a_home_is_served_once(tmp_path):
    first, second = LocalStack(tmp_path / "one"), LocalStack(tmp_path / "two")
    same_home = LocalStack(tmp_path / "one")
    try:
        first.start_server()
        second.start_server()
        with first.client() as one, second.client() as two:
            assert one.health()["status"] == two.health()["status"] == "ok"
            assert f":{first.api_port + 1}/" in one.broker_url()
            assert f":{second.api_port + 1}/" in two.broker_url()

        with pytest.raises(RuntimeError) as refused:
            same_home.start_server()
        assert "another flowpool server" in str(refused.value).splitlines()[0]
        assert "FLOWPOOL_HOME" in str(refused.value).splitlines()[0]
    finally:
        for stack in (same_home, first, second):
            stack.stop()

    for stack in (first, second):
        log = (stack.home / "server.log").read_text()
        assert "lost Redis" not in log and "Traceback" not in log


def test_the_demo_ends_in_one_line_when_its_port_is_taken(tmp_path):
    with Listener() as port:
        by_option = subprocess.run(
            [sys.executable, "examples/tutorial.py", "--port", str(port)], cwd=ROOT,
            env=clean_env(tmp_path / "home"), capture_output=True, text=True,
            timeout=START_TIMEOUT_S)
        by_url = subprocess.run(
            [sys.executable, "examples/tutorial.py"], cwd=ROOT,
            env={**clean_env(tmp_path / "home"),
                 "FLOWPOOL_API_URL": f"http://127.0.0.1:{port}/api"},
            capture_output=True, text=True, timeout=START_TIMEOUT_S)

    for result in (by_option, by_url):
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"demo failed: port {port} is taken: stop what listens there, or give the demo"
            " another port (--port, or FLOWPOOL_API_URL)"]
        assert "Traceback" not in result.stdout


def test_the_demo_picks_free_ports_when_its_default_is_taken(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    monkeypatch.delenv("FLOWPOOL_API_URL", raising=False)
    import tutorial

    with Listener() as taken:
        monkeypatch.setattr(tutorial, "DEFAULT_API_PORT", taken)
        chosen = tutorial.chosen_api_port([])
        assert chosen != taken
        assert tutorial.port_is_free("127.0.0.1", chosen)
        assert tutorial.chosen_api_port(["--port", str(chosen)]) == chosen
