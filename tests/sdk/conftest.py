"""Fixtures of the SDK tests: a LocalReporter of its own for each test (its own variables,
limits and task cache), and FLOWPOOL_HOME in the test's directory."""
from __future__ import annotations

import threading
import time

import pytest

from orchestrator.sdk.local_limits import LocalLimits
from orchestrator.sdk.local_reporter import LocalReporter
from orchestrator.sdk.task_cache import DiskCache


@pytest.fixture(autouse=True)
def flowpool_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWPOOL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def make_reporter(tmp_path) -> LocalReporter:
    return LocalReporter(variables={}, limits=LocalLimits(), cache=DiskCache(tmp_path / "cache"))


@pytest.fixture
def reporter(tmp_path):
    """Flows called directly in the test report here."""
    with make_reporter(tmp_path) as local:
        yield local


def wait_until(condition, timeout_s: float = 5.0, what: str = "the condition"):
    """Poll `condition` until it is true; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.005)


class Gate:
    """A point a task waits at until the test opens it (never longer than 10 s)."""

    def __init__(self):
        self._open = threading.Event()
        self.arrived = threading.Event()

    def wait(self) -> None:
        self.arrived.set()
        assert self._open.wait(10), "the gate was never opened"

    def open(self) -> None:
        self._open.set()
