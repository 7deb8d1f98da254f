"""Chaos: many runs across two limited pools while workers are SIGKILLed and restarted,
Redis is restarted once and the API server once. Prints JSON.

Each run appends `start` and `end` records (run id, attempt, pid, time) to a file; from them
and the final states: runs lost (not final 60 s after the chaos stops), attempts of the same
run that overlapped in time, and the peak concurrency of each pool against its limit.

    python bench/chaos.py [--runs 1000] [--chaos-s 240]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import LocalStack  # noqa: E402
from orchestrator.embedded_redis import EmbeddedRedis  # noqa: E402
from orchestrator.models import FlowRunCreate  # noqa: E402
from orchestrator.states import FINAL_STATES  # noqa: E402

POOLS = {"chaos-a": 4, "chaos-b": 3}  # pool -> concurrency limit
WORKERS_PER_POOL, WORKER_LIMIT = 2, 3
TIMINGS = {"FLOWPOOL_CRASH_AFTER_S": "5", "FLOWPOOL_HEARTBEAT_INTERVAL_S": "1",
           "FLOWPOOL_CLAIM_TIMEOUT_S": "5", "FLOWPOOL_WORKER_OFFLINE_AFTER_S": "5",
           "FLOWPOOL_CANCEL_GRACE_S": "2", "FLOWPOOL_DISPATCH_INTERVAL_S": "0.5"}

FLOW = '''
import json, os, time
from orchestrator import flow

@flow(retries=5, retry_delay_seconds=0.5)
def work(journal: str, pool: str, duration_s: float):
    def note(event):
        with open(journal, "a") as f:
            f.write(json.dumps({"run": os.environ["FLOWPOOL_RUN_ID"], "pool": pool,
                                "attempt": int(os.environ["FLOWPOOL_RUN_ATTEMPT"]),
                                "pid": os.getpid(), "event": event, "t": time.time(),
                                "duration_s": duration_s}) + "\\n")
    note("start")
    time.sleep(duration_s)
    note("end")
'''


class Chaos:
    def __init__(self, stack: LocalStack, rng: random.Random):
        self.stack, self.rng = stack, rng
        self.workers = {pool: [] for pool in POOLS}
        self.kills = 0

    def start_workers(self) -> None:
        for pool in POOLS:
            while len(self.workers[pool]) < WORKERS_PER_POOL:
                self.workers[pool].append(self.stack.start_worker(
                    pool, "--limit", str(WORKER_LIMIT), name=f"{pool}-{time.monotonic_ns()}"))

    def kill_a_worker(self) -> None:
        pool = self.rng.choice(list(POOLS))
        victim = self.workers[pool].pop(self.rng.randrange(len(self.workers[pool])))
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        self.stack.workers.remove(victim)
        self.kills += 1
        self.start_workers()

    def restart_redis(self) -> None:
        data_dir, port = self.stack.redis.data_dir, self.stack.redis.port
        self.stack.redis.stop()
        self.stack.redis = EmbeddedRedis(data_dir, port).start()

    def restart_server(self) -> None:
        self.stack.server.terminate()
        self.stack.server.wait(timeout=30)
        self.stack.start_server()


def submit(api, runs: int, journal: Path, rng: random.Random) -> list[str]:
    pools = list(POOLS)
    return [api.create_flow_run(f"work/{pools[i % len(pools)]}", FlowRunCreate(parameters={
        "journal": str(journal), "pool": pools[i % len(pools)],
        "duration_s": round(rng.uniform(0.05, 0.5), 3)})).id for i in range(runs)]


def unfinished(api, run_ids: list[str]) -> list[str]:
    final = {s.value for s in FINAL_STATES}
    states = {}
    for state in final:
        for run in api.list_flow_runs(state=state, limit=100_000):
            states[run.id] = run.state_type.value
    return [r for r in run_ids if r not in states]


def run_chaos(stack: LocalStack, api, run_ids: list[str], chaos_s: float,
              rng: random.Random) -> dict:
    chaos = Chaos(stack, rng)
    chaos.start_workers()
    deadline = time.monotonic() + chaos_s
    redis_at, server_at = time.monotonic() + chaos_s * 0.3, time.monotonic() + chaos_s * 0.6
    events = []
    while time.monotonic() < deadline and unfinished(api, run_ids):
        time.sleep(rng.uniform(2, 5))
        chaos.kill_a_worker()
        if redis_at and time.monotonic() > redis_at:
            chaos.restart_redis()
            events.append("redis restarted")
            redis_at = 0
        if server_at and time.monotonic() > server_at:
            chaos.restart_server()
            events.append("API server restarted")
            server_at = 0
    if redis_at:
        chaos.restart_redis()
        events.append("redis restarted")
    if server_at:
        chaos.restart_server()
        events.append("API server restarted")
    return {"worker_kills": chaos.kills, "events": events}


def attempts(journal: Path) -> list[dict]:
    """One interval per attempt; a killed attempt ends at most at start + its duration."""
    by_key = {}
    for line in journal.read_text().splitlines():
        rec = json.loads(line)
        key = (rec["run"], rec["attempt"], rec["pid"])
        entry = by_key.setdefault(key, {"run": rec["run"], "pool": rec["pool"]})
        entry[rec["event"]] = rec["t"]
        entry["duration_s"] = rec["duration_s"]
    for entry in by_key.values():
        entry.setdefault("end", entry.get("start", 0) + entry["duration_s"])
    return [e for e in by_key.values() if "start" in e]


def peak_overlap(intervals: list[dict]) -> int:
    events = sorted([(i["start"], 1) for i in intervals] + [(i["end"], -1) for i in intervals],
                    key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def analyse(api, run_ids: list[str], journal: Path) -> dict:
    finals = collections.Counter()
    for run_id in run_ids:
        finals[api.read_flow_run(run_id).state_type.value] += 1
    intervals = attempts(journal)
    per_run = collections.defaultdict(list)
    for interval in intervals:
        per_run[interval["run"]].append(interval)
    overlapping = sum(peak_overlap(group) > 1 for group in per_run.values())
    return {
        "runs_submitted": len(run_ids),
        "final_states": dict(finals),
        "runs_lost": sum(n for state, n in finals.items()
                         if state not in {s.value for s in FINAL_STATES}),
        "runs_with_overlapping_attempts": overlapping,
        "attempts_started": len(intervals),
        "peak_concurrency": {pool: {"observed": peak_overlap([i for i in intervals if i["pool"] == pool]),
                                    "limit": limit} for pool, limit in POOLS.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--chaos-s", type=float, default=240)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="flowpool-chaos-") as tmp:
        project, journal = Path(tmp) / "project", Path(tmp) / "journal.jsonl"
        project.mkdir()
        (project / "flows.py").write_text(FLOW)
        stack = LocalStack(Path(tmp) / "home", extra_env=TIMINGS)
        stack.start_redis()
        try:
            stack.start_server()
            for pool, limit in POOLS.items():
                stack.cli("work-pool", "create", pool, "--type", "process",
                          "--concurrency-limit", str(limit), check=True)
                stack.cli("deploy", "flows.py:work", "--name", pool, "--pool", pool,
                          cwd=project, check=True)
            with stack.client(retry_for_s=60) as api:
                started = time.monotonic()
                run_ids = submit(api, args.runs, journal, rng)
                chaos = run_chaos(stack, api, run_ids, args.chaos_s, rng)
                settle_deadline = time.monotonic() + 60
                while unfinished(api, run_ids) and time.monotonic() < settle_deadline:
                    time.sleep(1)
                report = {**analyse(api, run_ids, journal), **chaos,
                          "elapsed_s": round(time.monotonic() - started, 1)}
        finally:
            stack.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
