"""The scheduler's own figures, printed as JSON.

- materialize: one pass over N deployments with a per-minute cron (61 runs each, all new),
  the pass a minute later (one new run each) and a pass with nothing to do, on SQLite;
- dispatch: scheduler ticks until N due runs are PENDING with one Celery message each in
  Redis. Dispatch never exceeds the online workers' capacity, so a worker heartbeat with a
  limit above N is recorded first (no worker consumes: this times the scheduler alone);
- lateness: actual start (the RUNNING state's timestamp) minus scheduled time, p50/p99, for
  N runs of an interval schedule at one-second spacing, served by a real server, scheduler
  and process worker at --limit 4 (takes about N seconds).

    python bench/scheduler.py [--deployments 1000] [--due-runs 10000] [--lateness-runs 200]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from devstack import LocalStack, wait_for  # noqa: E402
from orchestrator.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from orchestrator.keys import celery_queue  # noqa: E402
from orchestrator.leases import WorkerBeat, record_worker_beat  # noqa: E402
from orchestrator.models import DeploymentCreate, FlowRunCreate, WorkPoolCreate  # noqa: E402
from orchestrator.scheduler.materializer import materialize  # noqa: E402
from orchestrator.scheduler.publisher import CeleryPublisher  # noqa: E402
from orchestrator.scheduler.service import Scheduler  # noqa: E402
from orchestrator.schedules import CronSchedule, DeploymentSchedule  # noqa: E402
from orchestrator.states import FINAL_STATES, StateType  # noqa: E402
from orchestrator.store import deployments, work_pools  # noqa: E402
from orchestrator.store.database import Database  # noqa: E402
from orchestrator.store.deployment_schedules import insert_runs_once  # noqa: E402
from orchestrator.store.flow_runs import new_run_values  # noqa: E402

TRIVIAL_FLOW = "from orchestrator import flow\n\n@flow\ndef trivial(n: int = 0):\n    return n\n"
POOL = "bench"


def new_database(home: Path) -> Database:
    db = Database(f"sqlite:///{home / 'bench.db'}")
    db.create_schema()
    with db.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name=POOL, type="process"), utcnow())
    return db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return round(time.perf_counter() - started, 3), result


def bench_materialize(home: Path, count: int) -> dict:
    db = new_database(home)
    every_minute = [DeploymentSchedule(schedule=CronSchedule(cron="* * * * *"))]
    with db.begin() as conn:
        for i in range(count):
            deployments.upsert_deployment(conn, DeploymentCreate(
                flow_name="f", name=f"d{i}", entrypoint="flows.py:f", work_pool_name=POOL,
                schedules=every_minute), utcnow())
    now = utcnow().replace(second=30, microsecond=0)
    first_s, first = timed(lambda: materialize(db, now))
    idle_s, _ = timed(lambda: materialize(db, now + timedelta(seconds=5)))
    next_minute_s, later = timed(lambda: materialize(db, now + timedelta(minutes=1)))
    db.dispose()
    return {"deployments": count, "first_pass_s": first_s, "runs_created": first.created,
            "pass_a_minute_later_s": next_minute_s, "runs_created_a_minute_later": later.created,
            "pass_with_nothing_to_do_s": idle_s}


def insert_due_runs(db: Database, count: int) -> None:
    with db.begin() as conn:
        deployment = deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name="due", entrypoint="flows.py:f", work_pool_name=POOL), utcnow())
        due = utcnow() - timedelta(seconds=1)
        rows = [new_run_values(deployment, "default", FlowRunCreate(scheduled_time=due), {},
                               due, idempotency_key=f"bench {i}") for i in range(count)]
        insert_runs_once(conn, rows)


def bench_dispatch(home: Path, count: int) -> dict:
    db = new_database(home)
    insert_due_runs(db, count)
    redis_server = EmbeddedRedis(home / "redis", free_port()).start()
    publisher = CeleryPublisher(redis_server.url)
    scheduler = Scheduler(db, publisher, Settings(), redis_server.url)
    record_worker_beat(scheduler.redis, WorkerBeat(name="bench", pool=POOL, limit=count * 2))
    try:
        elapsed_s, ticks = timed(lambda: _tick_until_dispatched(scheduler, count))
        queued = scheduler.redis.llen(celery_queue(POOL, "default"))
    finally:
        publisher.close()
        redis_server.stop()
        db.dispose()
    return {"due_runs": count, "dispatched_to_redis": queued, "elapsed_s": elapsed_s,
            "ticks": ticks, "runs_per_s": round(count / elapsed_s),
            "capacity": "one worker heartbeat recorded with limit %d, no consumer" % (count * 2)}


def _tick_until_dispatched(scheduler: Scheduler, count: int) -> int:
    """Tick until every due run's message is in its Redis list; how many ticks it took."""
    queue = celery_queue(POOL, "default")
    ticks = 0
    while scheduler.redis.llen(queue) < count:
        scheduler.tick(utcnow())
        ticks += 1
    return ticks


def bench_lateness(home: Path, count: int, limit: int) -> dict:
    project = home / "project"
    project.mkdir()
    (project / "flows.py").write_text(TRIVIAL_FLOW)
    stack = LocalStack(home / "stack")
    stack.start_redis()
    try:
        stack.start_server()
        stack.cli("work-pool", "create", POOL, "--type", "process", check=True)
        stack.start_worker(POOL, "--limit", str(limit))
        anchor = (utcnow() + timedelta(seconds=10)).replace(microsecond=0)
        stack.cli("deploy", "flows.py:trivial", "--name", "every-second", "--pool", POOL,
                  "--interval", "1", "--anchor-date", anchor.isoformat(), cwd=project, check=True)
        with stack.client(retry_for_s=10) as api:
            lateness = _wait_and_measure(api, anchor, count)
            api.set_deployment_paused("trivial/every-second", True)
    finally:
        stack.stop()
    return {"runs": count, "spacing_s": 1, "worker_limit": limit, **lateness}


def _wait_and_measure(api, anchor: datetime, count: int) -> dict:
    last = anchor + timedelta(seconds=count - 1)
    deployment = api.read_deployment("trivial/every-second")
    time.sleep(max((last - utcnow()).total_seconds(), 0))

    def measured_runs():
        runs = [r for r in api.list_flow_runs(None, deployment.id, limit=count + 200)
                if anchor <= r.scheduled_time <= last]
        done = [r for r in runs if r.state_type in FINAL_STATES]
        return done if len(done) == count else None

    runs = wait_for(measured_runs, 120, f"{count} scheduled runs to finish", interval_s=1)
    samples = [(api.read_flow_run(r.id), r.scheduled_time) for r in runs]
    lateness_s = sorted((_started(run) - when).total_seconds() for run, when in samples)
    completed = sum(1 for run, _ in samples if run.state_type is StateType.COMPLETED)
    return {"completed": completed, "lateness_p50_s": _quantile(lateness_s, 0.50),
            "lateness_p99_s": _quantile(lateness_s, 0.99),
            "lateness_max_s": round(lateness_s[-1], 3),
            "lateness_mean_s": round(statistics.mean(lateness_s), 3)}


def _started(run) -> datetime:
    running = [h.timestamp for h in run.history if h.type is StateType.RUNNING]
    return running[0] if running else run.start_time


def _quantile(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000, help="0 skips it")
    parser.add_argument("--due-runs", type=int, default=10_000, help="0 skips it")
    parser.add_argument("--lateness-runs", type=int, default=200, help="0 skips it")
    parser.add_argument("--worker-limit", type=int, default=4)
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory(prefix="flowpool-bench-") as tmp:
        tmp = Path(tmp)
        parts = (("materialize", args.deployments, lambda home: bench_materialize(
                      home, args.deployments)),
                 ("dispatch", args.due_runs, lambda home: bench_dispatch(home, args.due_runs)),
                 ("lateness", args.lateness_runs, lambda home: bench_lateness(
                     home, args.lateness_runs, args.worker_limit)))
        for name, count, part in parts:
            if count:
                (tmp / name).mkdir()
                report[name] = part(tmp / name)
    print(json.dumps({**report, "targets": targets(report)}, indent=2))


def targets(report: dict) -> dict:
    found = {}
    if "dispatch" in report:
        found["dispatch_10000_due_runs_le_5_s"] = report["dispatch"]["elapsed_s"] <= 5.0
    if "lateness" in report:
        found["lateness_p99_le_1_s"] = report["lateness"]["lateness_p99_s"] <= 1.0
    return found


if __name__ == "__main__":
    main()
