"""End-to-end latency, throughput and memory of flowpool on one machine, printed as JSON.

For process runs started warm (forked from the worker's zygote, the default) and cold
(`FLOWPOOL_PROCESS_START=spawn`, a new interpreter per run), in the same run:

- trigger->RUNNING, trigger->COMPLETED and RUNNING->COMPLETED p50/p95/p99 over sequential
  runs of a trivial flow (server-side state timestamps, so polling does not blur them);
- completed runs per minute for a burst of runs with one worker at each `--limits`;
- PSS of the server, of the worker's process tree idle at --limit 4, and of one run's
  processes at their peak (and their private memory: what a run adds above the zygote);
- RUNNING->COMPLETED of a flow importing a library (sqlalchemy.orm), forked warm with and
  without `--warm-import`;

and once: the round trip of a raw Celery no-op task on the same Redis, a bare `os.fork()` +
exit, a warm start + exit of a run's process with the engine left out (what a run costs as a
process), an API read, so the overhead reads against each part; the CPU time per run of the
server and of the worker's tree during each burst; the cost of `import orchestrator` and of
what a run's engine imports; with a container engine at DOCKER_HOST
(`eval "$(.ci/container-engine.sh)"`), the latencies of a docker pool; and with
`--prefect-bench DIR` (the Prefect baseline scripts, whose venv must already exist under
`--prefect-root`), Prefect's own figures from the same run: its worker unlimited (its default)
and at `--prefect-limit`, so the rates compare at the same limit too.

The server listens on 127.0.0.1, except in the docker phase, whose containers reach it
through the host's address.

    python bench/e2e.py [--sequential 200] [--burst 600] [--limits 1,2,4,8]
        [--warm-import-runs 40] [--docker-sequential 20]
        [--prefect-bench DIR --prefect-root DIR --prefect-limit 4]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import LocalStack, wait_for  # noqa: E402
from orchestrator.embedded_redis import free_port  # noqa: E402
from orchestrator.models import FlowRunCreate  # noqa: E402
from orchestrator.states import FINAL_STATES  # noqa: E402

FLOWS = """import time
from orchestrator import flow


@flow
def trivial(n: int = 0):
    return n


@flow
def hold(seconds: float = 1.0):
    time.sleep(seconds)


@flow
def uses_sqlalchemy(n: int = 0):
    import sqlalchemy.orm  # noqa: F401  (a library that takes a while to import)
    return n
"""
STARTS = ("fork", "spawn")
MEMORY_LIMIT = 4  # the idle worker tree is measured at this --limit


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "n": len(ordered)}


POLL_S = 0.02  # a read costs the server milliseconds: polling faster slows what it measures


def wait_final(api, run_id: str, timeout_s: float = 60):
    return wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
        api.read_flow_run(run_id)), timeout_s, f"run {run_id} to finish", interval_s=POLL_S)


def sequential_latency(api, deployment: str, count: int) -> dict:
    """Per stage, from the server's state timestamps: the scheduler's dispatch (SCHEDULED ->
    PENDING), delivery and claim (PENDING -> RUNNING), the run's process (RUNNING ->
    COMPLETED); and what the client saw: its create call and trigger -> seen COMPLETED (which
    polling every POLL_S blurs)."""
    spans: dict[str, list[float]] = {name: [] for name in (
        "trigger_to_running", "trigger_to_completed", "running_to_completed",
        "scheduled_to_pending", "pending_to_running", "create_call", "client_seen_completed")}
    for i in range(count):
        t0 = time.perf_counter()
        run = api.create_flow_run(deployment, FlowRunCreate(parameters={"n": i}))
        created = time.perf_counter()
        final = wait_final(api, run.id)
        seen = time.perf_counter()
        stamps = {h.type.value: h.timestamp for h in final.history}
        assert final.state_type.value == "COMPLETED", final.state_message
        for name, (start, end) in {"trigger_to_running": ("SCHEDULED", "RUNNING"),
                                   "trigger_to_completed": ("SCHEDULED", "COMPLETED"),
                                   "running_to_completed": ("RUNNING", "COMPLETED"),
                                   "scheduled_to_pending": ("SCHEDULED", "PENDING"),
                                   "pending_to_running": ("PENDING", "RUNNING")}.items():
            spans[name].append((stamps[end] - stamps[start]).total_seconds())
        spans["create_call"].append(created - t0)
        spans["client_seen_completed"].append(seen - t0)
    return {name: percentiles(samples) for name, samples in spans.items()}


def burst_throughput(api, deployment: str, count: int, server_pid: int, worker_pid: int) -> dict:
    """Completed runs per minute, and the CPU time each run cost the server (this client's
    calls included) and the worker's tree (its runs included): steadier than the rate on a
    busy machine."""
    cpu_before = cpu_seconds(server_pid), cpu_seconds(worker_pid)
    started = time.monotonic()
    ids = [api.create_flow_run(deployment, FlowRunCreate(parameters={"n": i})).id
           for i in range(count)]
    finals = [wait_final(api, run_id, 600) for run_id in ids]
    elapsed_s = time.monotonic() - started
    server_s, worker_s = (after - before for before, after in
                          zip(cpu_before, (cpu_seconds(server_pid), cpu_seconds(worker_pid))))
    completed = sum(1 for r in finals if r.state_type.value == "COMPLETED")
    return {"runs": count, "completed": completed, "elapsed_s": round(elapsed_s, 2),
            "completed_per_minute": round(completed / elapsed_s * 60, 1),
            "cpu_ms_per_run": {"server": round(server_s / count * 1000, 2),
                               "worker_tree": round(worker_s / count * 1000, 2)}}


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


def memory_kib(pid: int) -> dict[str, int]:
    """PSS and private memory of one process, in KiB (0 if it is gone)."""
    figures = {"pss": 0, "private": 0}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return figures
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "Pss":
            figures["pss"] = int(value.split()[0])
        elif name in ("Private_Clean", "Private_Dirty"):
            figures["private"] += int(value.split()[0])
    return figures


def process_tree(root: int) -> set[int]:
    """`root` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, frontier = set(), [root]
    while frontier:
        pid = frontier.pop()
        found.add(pid)
        frontier.extend(children.get(pid, []))
    return found


def cpu_seconds(root: int) -> float:
    """User and system time of `root` and its live descendants, with that of the children
    they reaped."""
    ticks = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # it exited meanwhile (its parent's figures hold it once reaped)
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_pss_mib(root: int) -> float:
    return round(sum(memory_kib(pid)["pss"] for pid in process_tree(root)) / 1024, 1)


def one_run_memory(api, worker_pid: int, deployment: str) -> dict:
    """Peak PSS and private memory of a run's own processes (those of the worker's tree that
    were not there idle), sampled while it holds for a second."""
    idle = process_tree(worker_pid)
    run_id = api.create_flow_run(deployment, FlowRunCreate(parameters={"seconds": 1.0})).id
    peak = {"pss": 0, "private": 0}
    deadline = time.monotonic() + 60
    while api.read_flow_run(run_id).state_type not in FINAL_STATES and time.monotonic() < deadline:
        run_pids = process_tree(worker_pid) - idle
        now = [memory_kib(pid) for pid in run_pids]
        peak = {key: max(peak[key], sum(m[key] for m in now)) for key in peak}
        time.sleep(0.02)
    return {"run_peak_pss_mib": round(peak["pss"] / 1024, 1),
            "run_peak_private_mib": round(peak["private"] / 1024, 1)}


def wait_idle_tree(worker_pid: int, timeout_s: float = 60) -> None:
    """The worker's slots and its zygote are up: the tree stops growing for two seconds."""
    sizes = []

    def settled() -> bool:
        sizes.append(len(process_tree(worker_pid)))
        return len(sizes) > 10 and sizes[-1] == sizes[-10]

    wait_for(settled, timeout_s, "the worker's processes to settle", interval_s=0.2)


def start_path(stack: LocalStack, project: Path, start: str, args) -> dict:
    """Every figure of one start path: latency, throughput per --limit, memory."""
    pool = f"bench-{start}"
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)
    for flow_name in ("trivial", "hold"):
        stack.cli("deploy", f"flows.py:{flow_name}", "--name", pool, "--pool", pool,
                  cwd=project, check=True)
    env = {"FLOWPOOL_PROCESS_START": start}
    figures: dict = {}
    with stack.client(retry_for_s=10) as api:
        for limit in args.limits:
            worker = stack.start_worker(pool, "--limit", str(limit), env=env)
            wait_idle_tree(worker.pid)
            for _ in range(limit):  # every slot has run once
                wait_final(api, api.create_flow_run(f"trivial/{pool}", FlowRunCreate()).id)
            if limit == MEMORY_LIMIT:
                time.sleep(1)  # the last run's process is gone
                figures["memory"] = {f"worker_tree_idle_limit_{limit}_pss_mib":
                                     tree_pss_mib(worker.pid),
                                     **one_run_memory(api, worker.pid, f"hold/{pool}")}
            if limit == args.latency_limit:
                figures.update(sequential_latency(api, f"trivial/{pool}", args.sequential))
            figures[f"burst_limit_{limit}"] = burst_throughput(
                api, f"trivial/{pool}", args.burst, stack.server.pid, worker.pid)
            stack.stop_worker(worker)
    return figures


def warm_import_latency(stack: LocalStack, project: Path, count: int) -> dict:
    """A flow that imports a library (sqlalchemy.orm), forked warm, with the warm-start
    process importing it ahead (`--warm-import`) and without: RUNNING->COMPLETED."""
    pool = "bench-warm-import"
    stack.cli("work-pool", "create", pool, "--type", "process", check=True)
    stack.cli("deploy", "flows.py:uses_sqlalchemy", "--name", pool, "--pool", pool,
              cwd=project, check=True)
    figures = {}
    with stack.client(retry_for_s=10) as api:
        for label, extra in (("without", []), ("with", ["--warm-import", "sqlalchemy.orm"])):
            worker = stack.start_worker(pool, "--limit", "1", *extra)
            wait_idle_tree(worker.pid)
            wait_final(api, api.create_flow_run(f"uses-sqlalchemy/{pool}", FlowRunCreate()).id)
            latency = sequential_latency(api, f"uses-sqlalchemy/{pool}", count)
            figures[f"{label}_warm_import_running_to_completed"] = latency["running_to_completed"]
            stack.stop_worker(worker)
    return figures


def bare_fork_ms(count: int = 200) -> dict:
    """`os.fork()`, the child's immediate exit and its reaping, from this process."""
    samples = []
    for _ in range(count):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        samples.append(time.perf_counter() - t0)
    return percentiles(samples)


NO_OP_ZYGOTE = """import sys
from orchestrator.engine import zygote
zygote.run_engine = lambda argv: 0  # the engine left out: each child exits at once
zygote.main(sys.argv[1:])
"""


def warm_start_and_exit_ms(count: int = 200) -> dict:
    """A run's process started warm and ended, as a worker sees it, with the engine left
    out: the fork request to a zygote (started as a worker starts it, with everything a run
    imports), the spare taking it (session, output, environment, directory), its exit and
    the zygote's report of its exit code. What a run costs as a process, against
    bare_fork_and_exit; the engine's own work and its API calls come on top."""
    from workers.warm_start import Zygote

    logging.getLogger("flowpool.worker").setLevel(logging.ERROR)  # its end, when killed, is ours
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    process = subprocess.Popen([sys.executable, "-c", NO_OP_ZYGOTE, str(theirs.fileno())],
                               pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, cwd=ROOT)
    theirs.close()
    zygote = Zygote(process, ours)
    wait_for(lambda: zygote.ready, 60, "the warm-start process to be ready")
    samples = []
    try:
        with tempfile.TemporaryDirectory(prefix="flowpool-bench-run-") as cwd:
            for i in range(count + 1):  # the first one only warms up
                launch_read, launch_write = os.pipe()
                report_read, report_write = os.pipe()
                t0 = time.perf_counter()
                child = zygote.fork(f"bench-{i}", cwd, {"PATH": os.environ["PATH"]},
                                    launch_read, report_write, None)
                code = child.wait(10)
                samples.append(time.perf_counter() - t0)
                assert code == 0, f"the no-op run exited with {code}"
                for fd in (launch_read, launch_write, report_read, report_write):
                    os.close(fd)
                child.stdout.close()
    finally:
        zygote.kill()
    return percentiles(samples[1:])


def api_calls(api, deployment: str, count: int = 100) -> dict:
    """An API read (HTTP + a database read) and a run's creation (HTTP + a database write)."""
    run_id = api.create_flow_run(deployment, FlowRunCreate()).id
    reads = []
    for _ in range(count):
        t0 = time.perf_counter()
        api.read_flow_run(run_id)
        reads.append(time.perf_counter() - t0)
    return {"read_flow_run": percentiles(reads)}


def run_imports_ms(repeats: int = 5) -> dict:
    """What a cold run's engine imports before it runs a flow, against the package root."""
    def best(statement: str) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
        return min(times)
    base = best("pass")
    return {"import_orchestrator_engine_run_ms": round((best(
        "import orchestrator.engine.run, orchestrator.sdk.flow_engine") - base) * 1000, 1)}


def prefect_figures(args) -> dict:
    """Prefect's baseline from its own scripts, run now, on this machine."""
    if not args.prefect_bench:
        return {"skipped": "no --prefect-bench DIR (the Prefect baseline scripts)"}
    venv_python = Path(args.prefect_root) / "venv" / "bin" / "python"
    if not venv_python.exists():
        return {"skipped": f"no Prefect venv at {venv_python.parent.parent}: run the baseline's"
                           " run.sh once with BENCH_ROOT set to --prefect-root to install it"}
    results = Path(args.prefect_root) / "results" / "e2e-side-by-side.json"
    env = {**os.environ, "BENCH_ROOT": args.prefect_root, "RESULTS": str(results),
           "N_RUNS": str(args.prefect_runs), "REPS": "1", "REPS_LATENCY": "3", "FASTPOLL": "0",
           "WORKER_LIMIT": str(args.prefect_limit),
           "PHASES": "mem_before,single,throughput,throughput_limited",
           "PORT": str(free_port())}
    done = subprocess.run(["bash", str(Path(args.prefect_bench) / "run.sh")], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0 or not results.exists():
        return {"skipped": f"the Prefect baseline failed: {done.stderr[-800:]}"}
    data = json.loads(results.read_text())
    limited = f"throughput_worker_limit_{args.prefect_limit}"
    return {"throughput": data.get("throughput"), limited: data.get(limited),
            "single_run": data.get("single_run"), "mem_rest_before": data.get("mem_rest_before")}


def restart_server(stack: LocalStack, *args: str) -> None:
    stack.server.terminate()
    stack.server.wait(timeout=30)
    stack.start_server(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--burst", type=int, default=600)
    parser.add_argument("--limits", default="1,2,4,8",
                        type=lambda text: [int(x) for x in text.split(",")])
    parser.add_argument("--latency-limit", type=int, default=2,
                        help="the --limit of the worker the sequential runs are measured with")
    parser.add_argument("--starts", default=",".join(STARTS), type=lambda text: text.split(","))
    parser.add_argument("--docker-sequential", type=int, default=20)
    parser.add_argument("--warm-import-runs", type=int, default=40,
                        help="sequential runs of a flow importing a library, with and without"
                             " --warm-import (0 skips)")
    parser.add_argument("--prefect-bench", help="the directory of the Prefect baseline's run.sh")
    parser.add_argument("--prefect-root", help="its BENCH_ROOT, holding the Prefect venv")
    parser.add_argument("--prefect-runs", type=int, default=20)
    parser.add_argument("--prefect-limit", type=int, default=4,
                        help="the --limit of Prefect's worker in its second batch")
    args = parser.parse_args()
    if args.latency_limit not in args.limits:
        parser.error(f"--latency-limit {args.latency_limit} must be one of --limits")
    with tempfile.TemporaryDirectory(prefix="flowpool-bench-") as home:
        project = Path(home) / "project"
        project.mkdir()
        (project / "flows.py").write_text(FLOWS)
        stack = LocalStack(Path(home) / "home")
        redis_url = stack.start_redis()
        try:
            stack.start_server()  # 127.0.0.1
            paths = {}
            for start in args.starts:
                paths[start] = start_path(stack, project, start, args)
                print(json.dumps({start: paths[start]}), file=sys.stderr, flush=True)  # as it goes
            if args.warm_import_runs:
                paths["warm_imports"] = warm_import_latency(stack, project, args.warm_import_runs)
            server = {"server_idle_pss_mib": tree_pss_mib(stack.server.pid)}
            with stack.client(retry_for_s=10) as api:
                parts = {**api_calls(api, f"trivial/bench-{args.starts[0]}"),
                         "bare_fork_and_exit": bare_fork_ms(),
                         "warm_start_and_exit": warm_start_and_exit_ms()}
            celery = celery_round_trip(redis_url, args.sequential)
            if args.docker_sequential:
                restart_server(stack, "--host", "0.0.0.0")  # containers reach it by the host alias
                docker_figures = docker_latency(stack, project, args.docker_sequential)
            else:
                docker_figures = {"skipped": "--docker-sequential 0"}
        finally:
            stack.stop()
    prefect = prefect_figures(args)
    report = {
        "process_worker": paths,
        "server": server,
        "parts": {**parts, "raw_celery_noop_round_trip": celery},
        "docker_worker": docker_figures,
        "prefect": prefect,
        "import_orchestrator_ms": import_cost_ms(),
        **run_imports_ms(),
    }
    report["ratios"] = ratios(report)
    print(json.dumps(report, indent=2))


def ratios(report: dict) -> dict:
    """The warm path against cold, raw Celery, a bare fork and Prefect."""
    found = {}
    paths, parts = report["process_worker"], report["parts"]
    celery_p50 = parts["raw_celery_noop_round_trip"]["p50_ms"]
    fork_p50 = parts["bare_fork_and_exit"]["p50_ms"]
    for start, figures in paths.items():
        if "trigger_to_completed" in figures:
            found[f"{start}_trigger_to_completed_vs_celery_p50"] = round(
                figures["trigger_to_completed"]["p50_ms"] / celery_p50, 1)
            found[f"{start}_running_to_completed_vs_bare_fork_p50"] = round(
                figures["running_to_completed"]["p50_ms"] / fork_p50, 1)
    found["warm_start_and_exit_vs_bare_fork_p50"] = round(
        parts["warm_start_and_exit"]["p50_ms"] / fork_p50, 1)
    found.update(prefect_ratios(paths.get("fork", {}), report["prefect"]))
    return found


def prefect_ratios(fork: dict, prefect: dict) -> dict:
    """Warm runs/min against Prefect's: best against its best (unlimited worker), and at the
    same worker limit."""
    def rate(figures) -> float | None:
        return ((figures or {}).get("client_runs_per_min") or {}).get("median")
    found = {}
    bursts = {int(key.rsplit("_", 1)[1]): figures["completed_per_minute"]
              for key, figures in fork.items() if key.startswith("burst_limit_")}
    if bursts and rate(prefect.get("throughput")):
        found["fork_best_runs_per_min_vs_prefect_unlimited"] = round(
            max(bursts.values()) / rate(prefect["throughput"]), 1)
    for key, figures in prefect.items():
        if key.startswith("throughput_worker_limit_") and rate(figures):
            limit = int(key.rsplit("_", 1)[1])
            if limit in bursts:
                found[f"fork_limit_{limit}_runs_per_min_vs_prefect_limit_{limit}"] = round(
                    bursts[limit] / rate(figures), 1)
    return found


if __name__ == "__main__":
    main()
