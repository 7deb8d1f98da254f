"""A process run's engine receives its claimed run from the worker, over an inherited pipe:
no request to the API, nothing on the command line, nothing written to disk."""
from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import datetime, timezone

import pytest

from orchestrator.engine.run import receive_launch
from orchestrator.errors import FlowpoolError
from orchestrator.models import LAUNCH_FD_VARIABLE, ClaimedRun
from workers import process
from workers.context import WorkerContext

SECRET = "s3cr3t-" + uuid.uuid4().hex


def claimed_run(parameters: dict | None = None) -> ClaimedRun:
    now = datetime.now(timezone.utc)
    run_id, deployment_id = str(uuid.uuid4()), str(uuid.uuid4())
    return ClaimedRun.model_validate({
        "flow_run": {"id": run_id, "name": f"echo-{run_id[:8]}", "flow_name": "echo",
                     "deployment_id": deployment_id, "deployment_name": "test",
                     "work_pool_name": "pool", "work_queue_name": "default",
                     "parameters": parameters or {}, "state_type": "RUNNING",
                     "state_name": "Running", "state_changed": now, "attempt": 1,
                     "scheduled_time": now, "created": now, "updated": now},
        "deployment": {"id": deployment_id, "flow_name": "echo", "name": "test",
                       "entrypoint": "flows.py:echo", "work_pool_name": "pool",
                       "work_queue_name": "default", "job_variables": {"env": {"API_TOKEN": SECRET}},
                       "created": now, "updated": now},
        "work_pool": {"id": str(uuid.uuid4()), "name": "pool", "type": "process",
                      "base_job_template": {}, "created": now, "updated": now},
        "run_credential": "run-credential",
    })


class NoAPI:
    def read_launch_bundle(self, run_id: str):
        raise AssertionError("the engine asked the API for what the worker handed over")


def worker_context(home) -> WorkerContext:
    return WorkerContext(name="handoff-test", pool_name="pool", api_url="http://127.0.0.1:9/api",
                         home=home, process_cgroups=False)


def pipe_holding(data: bytes) -> int:
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return read


def test_the_engine_reads_the_claimed_run_from_the_pipe_and_forgets_the_variable():
    claimed = claimed_run()
    environ = {LAUNCH_FD_VARIABLE: str(pipe_holding(claimed.model_dump_json().encode()))}
    assert receive_launch(NoAPI(), claimed.flow_run.id, environ) == claimed
    assert LAUNCH_FD_VARIABLE not in environ


def test_the_engine_refuses_another_runs_launch():
    claimed = claimed_run()
    environ = {LAUNCH_FD_VARIABLE: str(pipe_holding(claimed.model_dump_json().encode()))}
    with pytest.raises(FlowpoolError, match="not other-run"):
        receive_launch(NoAPI(), "other-run", environ)


def test_without_a_pipe_the_engine_asks_the_api():
    claimed = claimed_run()

    class API:
        def read_launch_bundle(self, run_id: str) -> ClaimedRun:
            assert run_id == claimed.flow_run.id
            return claimed

    assert receive_launch(API(), claimed.flow_run.id, {}) == claimed


def test_a_process_run_gets_its_whole_claimed_run_on_the_pipe_and_no_secret_in_argv(tmp_path):
    # larger than a pipe's buffer, so the worker must not write it before the process reads
    claimed = claimed_run({"blob": "x" * 200_000})
    seen = tmp_path / "seen.json"
    reader = ("import json, os, sys\n"
              "fd = int(os.environ['FLOWPOOL_LAUNCH_FD'])\n"
              "data = b''.join(iter(lambda: os.read(fd, 65536), b''))\n"
              "json.dump({'launch': data.decode(), 'argv': sys.argv}, open(sys.argv[1], 'w'))\n")
    job = {"command": [sys.executable, "-c", reader, str(seen)], "stream_output": False}
    ctx = worker_context(tmp_path)
    handle = process.launch(job, claimed, "the-token", ctx)
    assert handle.wait() == 0
    found = json.loads(seen.read_text())
    assert ClaimedRun.model_validate_json(found["launch"]) == claimed
    assert not any(SECRET in arg for arg in found["argv"])


def test_a_command_that_never_reads_the_pipe_does_not_hold_up_the_worker(tmp_path):
    claimed = claimed_run({"blob": "x" * 200_000})
    job = {"command": [sys.executable, "-c", "pass"], "stream_output": False}
    ctx = worker_context(tmp_path)
    assert process.launch(job, claimed, "the-token", ctx).wait() == 0
