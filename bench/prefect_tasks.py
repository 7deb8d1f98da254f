"""Prefect's side of `bench/tasks.py`, run by the Python of a virtualenv holding Prefect: a
local Prefect server on its own SQLite home, a process work pool, the three flows of
`task_flows.py` deployed from this folder, one process worker polling every second (Prefect's
default is 10 s: one second favours Prefect), and each flow triggered `rounds` times.

    PYTHON_OF_PREFECT bench/prefect_tasks.py PORT ROUNDS  -> JSON on stdout
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOWS = {"sequential-tasks": ("sequential_tasks", 1000), "mapped-tasks": ("mapped_tasks", 1000),
         "subflows": ("subflows", 100)}
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
POLL_S = 0.02


def prefect_env(home: Path, port: int) -> dict[str, str]:
    return {**os.environ, "PREFECT_HOME": str(home),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "PREFECT_CLI_PROMPT": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PYTHONUNBUFFERED": "1"}


def wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the Prefect server did not listen on {port} within {timeout_s} s")


def prefect_cli(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "prefect"), *args]


def trigger_and_wait(deployment: str, parameters: dict) -> tuple[float, str]:
    from prefect import get_client
    from prefect.deployments import run_deployment

    started = time.perf_counter()
    run = patiently(lambda: run_deployment(deployment, parameters=parameters, timeout=0))
    with get_client(sync_client=True) as client:
        while True:
            state = patiently(lambda: client.read_flow_run(run.id)).state
            if state is not None and state.type.value in FINAL:
                return time.perf_counter() - started, state.type.value
            time.sleep(POLL_S)


def patiently(call, tries: int = 10):
    """Prefect's server on SQLite answers 503 ("database is locked") while it writes a burst
    of task-run events; a client tries again, so does this one (the wait counts)."""
    from prefect.exceptions import PrefectHTTPStatusError

    for attempt in range(tries):
        try:
            return call()
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 503 or attempt == tries - 1:
                raise
            RETRIED_503[0] += 1
            time.sleep(0.5)


RETRIED_503 = [0]


def measure(rounds: int, scratch: Path) -> dict:
    from prefect import flow

    figures = {}
    for flow_name, (function, n) in FLOWS.items():
        flow.from_source(source=str(HERE), entrypoint=f"task_flows.py:{function}").deploy(
            name="bench", work_pool_name="bench", print_next_steps=False)
        samples = []
        for i in range(rounds + 1):  # the first round warms up
            out = scratch / f"{function}-{i}.json"
            latency, state = trigger_and_wait(f"{flow_name}/bench", {"n": n, "out": str(out)})
            if state != "COMPLETED":
                raise RuntimeError(f"{flow_name} ended {state}")
            if i:
                samples.append((latency, json.loads(out.read_text())["flow_seconds"]))
        figures[flow_name] = samples
    return figures


def main() -> None:
    port, rounds = int(sys.argv[1]), int(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="prefect-tasks-") as scratch:
        env = prefect_env(Path(scratch) / "home", port)
        os.environ.update(env)
        logs = open(Path(scratch) / "prefect.log", "w")
        server = subprocess.Popen(prefect_cli("server", "start", "--host", "127.0.0.1",
                                              "--port", str(port)),
                                  env=env, stdout=logs, stderr=subprocess.STDOUT)
        worker = None
        try:
            wait_for_port(port, 180)
            subprocess.run(prefect_cli("work-pool", "create", "bench", "--type", "process"),
                           env=env, check=True, stdout=logs, stderr=subprocess.STDOUT)
            worker = subprocess.Popen(prefect_cli("worker", "start", "--pool", "bench",
                                                  "--type", "process"),
                                      env=env, stdout=logs, stderr=subprocess.STDOUT)
            figures = measure(rounds, Path(scratch))
        finally:
            for process in (worker, server):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=60)
    import prefect

    print(json.dumps({"prefect_version": prefect.__version__, "samples": figures,
                      "retried_503": RETRIED_503[0]}))


if __name__ == "__main__":
    main()
