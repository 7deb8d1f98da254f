"""Completed runs per minute of the compose stack (docker-compose.yml) with 1 and with N process
workers, printed as JSON: the scaling figure of the scale-out path.

The stack runs for real on the container engine at DOCKER_HOST with the Docker Compose CLI
(`eval "$(.ci/container-engine.sh)"` sets both up on this machine; the images must exist:
.ci/build-image.sh flowpool-compose:latest, and .ci/build-service-images.sh on Podman). For
each worker count, a fresh stack runs `--runs` runs of a flow that holds its slot `--hold`
seconds, within the pool's limit; the rate is counted from the first run's creation to the
last one's end (server timestamps).

    python bench/compose_scaling.py [--workers 1,3] [--runs 200] [--hold 0.5] [--pool-limit 6]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docker  # noqa: E402

from composestack import ComposeStack  # noqa: E402
from devstack import wait_for  # noqa: E402
from orchestrator.models import FlowRunCreate  # noqa: E402
from orchestrator.states import StateType  # noqa: E402

DEPLOYMENT = "hold/compose-bench"


def measure(engine, workers: int, runs: int, hold_s: float, pool_limit: int) -> dict:
    stack = ComposeStack(engine, f"flowpool-bench-{os.getpid()}-{workers}", pool_limit=pool_limit)
    try:
        up_s = stack.up(workers=workers)
        stack.wait_healthy(0)
        stack.run("flowpool", "deploy", "tests/compose/flows.py:hold", "--name", "compose-bench",
                  "--pool", "compose-pool", "-p", f"seconds={hold_s}")
        with stack.client() as client:
            ids = [client.create_flow_run(DEPLOYMENT, FlowRunCreate()).id for _ in range(runs)]
            wait_for(lambda: _completed(client) >= runs, 30 * 60, f"{runs} runs", interval_s=1)
            done = [client.read_flow_run(run_id) for run_id in ids]
        assert all(r.state_type is StateType.COMPLETED for r in done)
        seconds = (max(r.end_time for r in done) - min(r.created for r in done)).total_seconds()
        return {"workers": workers, "runs": runs, "up_s": round(up_s, 1),
                "seconds": round(seconds, 1), "runs_per_min": round(runs * 60 / seconds, 1)}
    finally:
        stack.down()


def _completed(client) -> int:
    return len(client.list_flow_runs(state="COMPLETED", limit=None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,3")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--hold", type=float, default=0.5)
    parser.add_argument("--pool-limit", type=int, default=6)
    args = parser.parse_args()
    engine = docker.from_env(timeout=120)
    results = [measure(engine, int(n), args.runs, args.hold, args.pool_limit)
               for n in args.workers.split(",")]
    print(json.dumps({"hold_s": args.hold, "pool_limit": args.pool_limit,
                      "loadavg": os.getloadavg(), "results": results}, indent=2))


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"took {time.monotonic() - started:.0f} s", file=sys.stderr)
