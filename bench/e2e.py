"""End-to-end latency and throughput of flowpool on one machine, printed as JSON.

- trigger->RUNNING and trigger->COMPLETED over sequential runs of a trivial flow
  (server-side state timestamps, so polling does not blur them);
- completed runs per minute for a burst of runs with one worker at --limit 2;
- in the same run, the round trip of a raw Celery no-op task on the same Redis, so the
  overhead reads as a ratio;
- the cost of `import orchestrator` in a fresh interpreter;
- with a container engine at DOCKER_HOST (`eval "$(.ci/container-engine.sh)"`), the same
  latencies for a docker pool next to the process pool.

    python bench/e2e.py [--sequential 100] [--burst 300] [--docker-sequential 20]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import LocalStack, wait_for  # noqa: E402
from orchestrator.models import FlowRunCreate  # noqa: E402
from orchestrator.states import FINAL_STATES  # noqa: E402

TRIVIAL_FLOW = "from orchestrator import flow\n\n@flow\ndef trivial(n: int = 0):\n    return n\n"


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "n": len(ordered)}


def wait_final(api, run_id: str, timeout_s: float = 60):
    return wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
        api.read_flow_run(run_id)), timeout_s, f"run {run_id} to finish", interval_s=0.005)


def sequential_latency(api, deployment: str, count: int) -> dict:
    to_running, to_completed = [], []
    for i in range(count):
        run = api.create_flow_run(deployment, FlowRunCreate(parameters={"n": i}))
        final = wait_final(api, run.id)
        stamps = {h.type.value: h.timestamp for h in final.history}
        assert final.state_type.value == "COMPLETED", final.state_message
        to_running.append((stamps["RUNNING"] - stamps["SCHEDULED"]).total_seconds())
        to_completed.append((stamps["COMPLETED"] - stamps["SCHEDULED"]).total_seconds())
    return {"trigger_to_running": percentiles(to_running),
            "trigger_to_completed": percentiles(to_completed)}


def burst_throughput(api, deployment: str, count: int) -> dict:
    started = time.monotonic()
    ids = [api.create_flow_run(deployment, FlowRunCreate(parameters={"n": i})).id
           for i in range(count)]
    finals = [wait_final(api, run_id, 600) for run_id in ids]
    elapsed_s = time.monotonic() - started
    completed = sum(1 for r in finals if r.state_type.value == "COMPLETED")
    return {"runs": count, "completed": completed, "elapsed_s": round(elapsed_s, 2),
            "completed_per_minute": round(completed / elapsed_s * 60, 1)}


def celery_round_trip(redis_url: str, count: int) -> dict:
    env = {**os.environ, "BENCH_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT / "bench")}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "noop_app", "worker",
                               "-P", "threads", "-c", "2", "-l", "WARNING", "--without-mingle",
                               "--without-gossip", "--without-heartbeat"],
                              env=env, cwd=ROOT / "bench", stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.environ["BENCH_REDIS_URL"] = redis_url
    sys.path.insert(0, str(ROOT / "bench"))
    from noop_app import noop

    try:
        noop.delay().get(timeout=30)  # warm up: the worker is connected once this returns
        samples = []
        for _ in range(count):
            t0 = time.perf_counter()
            noop.delay().get(timeout=30)
            samples.append(time.perf_counter() - t0)
        return percentiles(samples)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def import_cost_ms(repeats: int = 10) -> float:
    def run(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        return time.perf_counter() - t0
    base = statistics.median(run("pass") for _ in range(repeats))
    with_import = statistics.median(run("import orchestrator") for _ in range(repeats))
    return round((with_import - base) * 1000, 1)


def docker_latency(stack: LocalStack, project: Path, count: int) -> dict:
    """Sequential runs of the same flow in containers of the flowpool image."""
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as exc:
        return {"skipped": f"no container engine answers at DOCKER_HOST: {exc}"}
    build = subprocess.run([str(ROOT / ".ci" / "build-image.sh"), "flowpool:latest"],
                           capture_output=True, text=True)
    if build.returncode != 0:
        return {"skipped": f"the flowpool image could not be built: {build.stderr[-500:]}"}
    stack.cli("work-pool", "create", "bench-docker", "--type", "docker", check=True)
    stack.start_worker("bench-docker", "--limit", "2")
    variables = {"working_dir": "/flows", "volumes": [f"{project}:/flows:ro"]}
    stack.cli("deploy", "flows.py:trivial", "--name", "docker", "--pool", "bench-docker",
              *[f"--job-variable={k}={json.dumps(v)}" for k, v in variables.items()],
              cwd=project, check=True)
    with stack.client(retry_for_s=10) as api:
        wait_final(api, api.create_flow_run("trivial/docker", FlowRunCreate()).id, 120)  # warm up
        return sequential_latency(api, "trivial/docker", count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--docker-sequential", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowpool-bench-") as home:
        project = Path(home) / "project"
        project.mkdir()
        (project / "flows.py").write_text(TRIVIAL_FLOW)
        stack = LocalStack(Path(home) / "home")
        redis_url = stack.start_redis()
        try:
            stack.start_server("--host", "0.0.0.0")  # containers reach it through the host alias
            stack.cli("work-pool", "create", "bench", "--type", "process", check=True)
            stack.start_worker("bench", "--limit", "2")
            stack.cli("deploy", "flows.py:trivial", "--name", "bench", "--pool", "bench",
                      cwd=project, check=True)
            with stack.client(retry_for_s=10) as api:
                api.create_flow_run("trivial/bench", FlowRunCreate())  # warm up
                latency = sequential_latency(api, "trivial/bench", args.sequential)
                throughput = burst_throughput(api, "trivial/bench", args.burst)
            docker_figures = (docker_latency(stack, project, args.docker_sequential)
                              if args.docker_sequential else {"skipped": "--docker-sequential 0"})
            celery = celery_round_trip(redis_url, args.sequential)
        finally:
            stack.stop()
    report = {
        "process_worker": {**latency, "burst_limit_2": throughput},
        "docker_worker": docker_figures,
        "raw_celery_noop_round_trip": celery,
        "ratio_trigger_to_running_vs_celery_p50": round(
            latency["trigger_to_running"]["p50_ms"] / celery["p50_ms"], 1),
        "ratio_trigger_to_completed_vs_celery_p50": round(
            latency["trigger_to_completed"]["p50_ms"] / celery["p50_ms"], 1),
        "import_orchestrator_ms": import_cost_ms(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
