"""Task runs, maps and child flow runs of deployed runs, flowpool beside Prefect, as JSON.

The same file (`task_flows.py`, written against Prefect's API) runs on both: one flow calling
1,000 trivial tasks in sequence, one mapping a task over 1,000 items, one calling 100 subflows.
For each: the flow time (measured inside the run, first line to last) and trigger->COMPLETED
(seen by a client polling every 20 ms), the median of a few rounds after a warm-up.

flowpool runs on a real server, Redis and one process worker, recording every task run and
child run (checked). Prefect 3.9.1 runs in the same benchmark from its own virtualenv, which
is made on first use (`--prefect-venv`, default under ~/.cache), with its own local server;
when it cannot be installed its figures are skipped with the reason.

    python bench/tasks.py [--rounds 3] [--no-prefect]
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

from devstack import LocalStack, wait_for  # noqa: E402
from orchestrator.models import FlowRunCreate  # noqa: E402
from orchestrator.states import FINAL_STATES  # noqa: E402

PREFECT_VERSION = "3.9.1"
DEFAULT_VENV = Path.home() / ".cache" / "flowpool-bench" / f"prefect-{PREFECT_VERSION}"
FLOWS = {"sequential-tasks": ("sequential_tasks", 1000, 1000, 0),  # n, task runs, child runs
         "mapped-tasks": ("mapped_tasks", 1000, 1000, 0),
         "subflows": ("subflows", 100, 0, 100)}
POLL_S = 0.02


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# flowpool

def flowpool_samples(rounds: int) -> dict[str, list[tuple[float, float]]]:
    with tempfile.TemporaryDirectory(prefix="flowpool-tasks-") as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        shutil.copy(BENCH / "task_flows.py", project)
        stack = LocalStack(Path(scratch) / "home")
        stack.start_redis()
        try:
            stack.start_server()
            stack.cli("work-pool", "create", "bench", "--type", "process", check=True)
            stack.start_worker("bench")
            with stack.client(retry_for_s=10) as api:
                return {name: flowpool_flow(stack, api, project, name, rounds)
                        for name in FLOWS}
        finally:
            stack.stop()


def flowpool_flow(stack: LocalStack, api, project: Path, name: str, rounds: int) -> list:
    function, n, task_runs, child_runs = FLOWS[name]
    stack.cli("deploy", f"task_flows.py:{function}", "--name", "bench", "--pool", "bench",
              cwd=project, check=True)
    samples = []
    for i in range(rounds + 1):  # the first round warms up
        out = project / f"{function}-{i}.json"
        started = time.perf_counter()
        run = api.create_flow_run(f"{name}/bench",
                                  FlowRunCreate(parameters={"n": n, "out": str(out)}))
        final = wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
            api.read_flow_run(run.id)), 300, f"{name} to finish", interval_s=POLL_S)
        latency = time.perf_counter() - started
        assert final.state_type.value == "COMPLETED", final.state_message
        assert len(api.list_task_runs(run.id)) == task_runs
        assert len(api.list_child_runs(run.id)) == child_runs
        if i:
            samples.append((latency, json.loads(out.read_text())["flow_seconds"]))
    return samples


# Prefect

def prefect_python(venv: Path) -> Path:
    """The Python of a virtualenv holding Prefect, made on first use."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import prefect, sys; sys.exit(prefect.__version__ != "
             f"'{PREFECT_VERSION}')"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    if subprocess.run([*pip, f"prefect=={PREFECT_VERSION}"]).returncode != 0:
        install_without_certifi_floor(python, venv)
    subprocess.run(check, check=True)
    return python


def install_without_certifi_floor(python: Path, venv: Path) -> None:
    """Prefect 3.9.x asks for a certifi newer than some package indexes offer: install its
    dependencies with certifi's floor dropped, then Prefect itself without them."""
    wheels = venv / "wheels"
    subprocess.run([str(python), "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels),
                    f"prefect=={PREFECT_VERSION}"], check=True)
    wheel = next(wheels.glob(f"prefect-{PREFECT_VERSION}-*.whl"))
    metadata = zipfile.ZipFile(wheel).read(
        f"prefect-{PREFECT_VERSION}.dist-info/METADATA").decode()
    requirements = ["certifi" if line.split(":", 1)[1].strip().startswith("certifi")
                    else line.split(":", 1)[1].strip()
                    for line in metadata.splitlines()
                    if line.startswith("Requires-Dist:") and "extra ==" not in line]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True)


def prefect_samples(venv: Path, rounds: int) -> dict:
    try:
        python = prefect_python(venv)
    except (subprocess.CalledProcessError, StopIteration, OSError) as exc:
        return {"skipped": f"Prefect {PREFECT_VERSION} could not be installed in {venv}: {exc}"}
    done = subprocess.run([str(python), str(BENCH / "prefect_tasks.py"), str(free_port()),
                           str(rounds)], capture_output=True, text=True)
    if done.returncode != 0:
        return {"skipped": f"the Prefect side failed: {done.stderr[-2000:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# Report

def summary(samples: list[tuple[float, float]], n: int) -> dict:
    latency = statistics.median(s[0] for s in samples)
    flow_s = statistics.median(s[1] for s in samples)
    return {"trigger_to_completed_s": round(latency, 3), "flow_s": round(flow_s, 4),
            "flow_ms_per_item": round(flow_s / n * 1000, 3), "rounds": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-prefect", action="store_true")
    parser.add_argument("--prefect-venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args()

    ours = flowpool_samples(args.rounds)
    theirs = ({"skipped": "--no-prefect"} if args.no_prefect
              else prefect_samples(args.prefect_venv, args.rounds))
    report = {}
    for name, (_, n, _, _) in FLOWS.items():
        report[name] = {"flowpool": summary(ours[name], n)}
        if "samples" in theirs:
            prefect = summary(theirs["samples"][name], n)
            report[name]["prefect"] = prefect
            report[name]["prefect_over_flowpool"] = {
                key: round(prefect[key] / report[name]["flowpool"][key], 1)
                for key in ("trigger_to_completed_s", "flow_s")}
    report["prefect"] = ({"version": theirs["prefect_version"],
                          "requests_retried_after_503": theirs["retried_503"]}
                         if "samples" in theirs else theirs)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
