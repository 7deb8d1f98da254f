"""Concurrency limits, measured; prints JSON.

- admission: one dispatch pass over 10,000 waiting runs in 50 prioritized queues with limits
  (a real SQLite file, messages recorded in memory): decisions per second;
- hand-off: with a pool limited to 1 and a real worker, the time from a run's final state
  (its slot freeing) to the next run being RUNNING, p50/p99.

    python bench/limits.py [--queues 50] [--waiting 10000] [--handoffs 50]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import LocalStack, wait_for  # noqa: E402
from orchestrator.models import (DeploymentCreate, FlowRunCreate, WorkPoolCreate,  # noqa: E402
                                 WorkQueueCreate)
from orchestrator.scheduler.dispatch import dispatch_once  # noqa: E402
from orchestrator.states import FINAL_STATES  # noqa: E402
from orchestrator.store import deployments, flow_runs, work_pools  # noqa: E402
from orchestrator.store.database import Database  # noqa: E402

SLEEPY_FLOW = "import time\nfrom orchestrator import flow\n\n@flow\ndef nap(s: float = 0.2):\n    time.sleep(s)\n"


class CountingPublisher:
    def __init__(self):
        self.count = 0

    def publish_many(self, messages):
        self.count += len(messages)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def populate(db: Database, queues: int, waiting: int) -> None:
    """One pool, `queues` queues (priority i, limit 100), one deployment per queue, runs spread."""
    now = utcnow()
    with db.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name="p", type="process"), now)
        deps = []
        for i in range(queues):
            work_pools.create_work_queue(conn, "p", WorkQueueCreate(
                name=f"q{i}", priority=i + 1, concurrency_limit=100), now)
            deps.append(deployments.upsert_deployment(conn, DeploymentCreate(
                flow_name="f", name=f"d{i}", entrypoint="f.py:f", work_pool_name="p",
                work_queue_name=f"q{i}", concurrency_limit=80 if i % 5 == 0 else None), now))
        pool = work_pools.read_work_pool(conn, "p")
        for n in range(waiting):
            flow_runs.create_flow_run(conn, deps[n % queues], pool, FlowRunCreate(), now)


def bench_admission(home: Path, queues: int, waiting: int) -> dict:
    db = Database(f"sqlite:///{home / 'admission.db'}")
    db.create_schema()
    populate(db, queues, waiting)
    publisher = CountingPublisher()
    started = time.perf_counter()
    dispatch_once(db, publisher, utcnow(), claim_timeout_s=3600, batch_size=waiting)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    dispatch_once(db, CountingPublisher(), utcnow(), claim_timeout_s=3600, batch_size=waiting)
    blocked_s = time.perf_counter() - started
    return {"queues": queues, "waiting_runs": waiting, "admitted": publisher.count,
            "pass_s": round(first_s, 3), "decisions_per_s": round(waiting / first_s),
            "pass_with_every_limit_full_s": round(blocked_s, 3)}


def bench_handoff(home: Path, count: int) -> dict:
    project = home / "project"
    project.mkdir()
    (project / "flows.py").write_text(SLEEPY_FLOW)
    stack = LocalStack(home / "stack")
    stack.start_redis()
    try:
        stack.start_server()
        stack.cli("work-pool", "create", "one", "--type", "process", "--concurrency-limit", "1",
                  check=True)
        stack.start_worker("one", "--limit", "2")
        stack.cli("deploy", "flows.py:nap", "--name", "n", "--pool", "one", cwd=project, check=True)
        with stack.client(retry_for_s=10) as api:
            ids = [api.create_flow_run("nap/n", FlowRunCreate()).id for _ in range(count)]
            runs = [wait_for(lambda r=r: (lambda x: x if x.state_type in FINAL_STATES else None)(
                api.read_flow_run(r)), 300, "runs to finish", interval_s=0.2) for r in ids]
    finally:
        stack.stop()
    return {"runs": count, "slot_freed_to_next_running": _handoffs(runs)}


def _handoffs(runs) -> dict:
    """For consecutive runs (ordered by start): the next RUNNING minus the previous final state."""
    def stamp(run, kind):
        return next(h.timestamp for h in reversed(run.history) if h.type.value == kind)
    ordered = sorted(runs, key=lambda r: stamp(r, "RUNNING"))
    gaps = sorted((stamp(b, "RUNNING") - stamp(a, a.state_type.value)).total_seconds() * 1000
                  for a, b in zip(ordered, ordered[1:]))
    return {"p50_ms": round(gaps[len(gaps) // 2], 1),
            "p99_ms": round(gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))], 1), "n": len(gaps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--handoffs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowpool-limits-") as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "h").mkdir()
        report = {"admission": bench_admission(Path(tmp) / "a", args.queues, args.waiting),
                  "handoff": bench_handoff(Path(tmp) / "h", args.handoffs)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
