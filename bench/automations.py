"""Events and automations, printed as JSON.

- evaluate: N stored events through K enabled automations (one of them matching every event
  and creating a run), the leader's evaluation alone on SQLite: events per second;
- reaction: a real server, scheduler and process worker; an automation runs B when A
  completes. p50/p95 of A's Completed event to B's run created (server-side timestamps), and
  to B's RUNNING;
- proactive: how late past its window's end a proactive trigger fires (window 2 s), for a few
  windows in a row. The target is 10 s.

    python bench/automations.py [--events 5000] [--automations 20] [--reactions 20] [--windows 5]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import LocalStack, wait_for  # noqa: E402
from orchestrator.models import DeploymentCreate, FlowRunCreate, WorkPoolCreate  # noqa: E402
from orchestrator.models.automations import AutomationCreate  # noqa: E402
from orchestrator.models.events import EventCreate  # noqa: E402
from orchestrator.scheduler.automations import Automator  # noqa: E402
from orchestrator.states import FINAL_STATES, StateType  # noqa: E402
from orchestrator.store import automations, deployments, events, work_pools  # noqa: E402
from orchestrator.store.database import Database  # noqa: E402

FLOWS = "from orchestrator import flow\n\n@flow\ndef a(n: int = 0):\n    return n\n\n" \
        "@flow\ndef b(x: int = 0):\n    return x\n"


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa
    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": round(ordered[-1] * 1000, 1),
            "n": len(ordered)}


def bench_evaluate(home: Path, event_count: int, automation_count: int) -> dict:
    db = Database(f"sqlite:///{home / 'bench.db'}")
    db.create_schema()
    now = datetime.now(timezone.utc)
    with db.begin() as conn:
        work_pools.create_work_pool(conn, WorkPoolCreate(name="p", type="process"), now)
        deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="b", name="b", entrypoint="flows.py:b", work_pool_name="p"), now)
        for n in range(automation_count):
            expect = "bench.done" if n == 0 else f"other.{n}"
            automations.create_automation(conn, AutomationCreate.model_validate({
                "name": f"a{n}", "trigger": {"expect": [expect],
                                             "match": {"flowpool.resource.id": "bench.*"}},
                "actions": [{"type": "run-deployment", "deployment": "b/b"}]}), now)
        for n in range(event_count):
            events.emit_event(conn, EventCreate(
                event="bench.done", resource={"flowpool.resource.id": f"bench.{n}"}), now)
    automator = Automator(db, None, 7 * 86400)
    started = time.perf_counter()
    while automator.run(datetime.now(timezone.utc)):
        pass
    elapsed = time.perf_counter() - started
    db.dispose()
    return {"events": event_count, "automations": automation_count,
            "runs_created": event_count, "elapsed_s": round(elapsed, 2),
            "events_per_s": round(event_count / elapsed)}


def _stack(home: Path) -> LocalStack:
    stack = LocalStack(home / "home")
    stack.start_redis()
    stack.start_server()
    (home / "flows.py").write_text(FLOWS)
    stack.cli("work-pool", "create", "p", "--type", "process", check=True)
    stack.start_worker("p", "--limit", "4")
    for flow in ("a", "b"):
        stack.cli("deploy", f"flows.py:{flow}", "--name", flow, "--pool", "p", cwd=home,
                  check=True)
    return stack


def bench_reaction(home: Path, reactions: int) -> dict:
    stack = _stack(home)
    try:
        api = stack.client()
        api.create_automation(AutomationCreate.model_validate({
            "name": "b-after-a", "trigger": {"expect": ["flowpool.flow-run.Completed"],
                                             "match_related": {"flowpool.resource.name": "a"}},
            "actions": [{"type": "run-deployment", "deployment": "b/b",
                         "parameters": {"x": "{{ event.payload.result }}"}}]}))
        b_id = api.read_deployment("b/b").id
        to_created, to_running = [], []
        for n in range(reactions):
            run = api.create_flow_run("a/a", FlowRunCreate(parameters={"n": n}))
            a_done = wait_for(lambda: _final(api, run.id), 60, "A to finish")
            b_run = wait_for(lambda: _b_run(api, b_id, n), 60, "B to be created")
            b_detail = wait_for(lambda: _final(api, b_run.id), 60, "B to finish")
            running = next(s.timestamp for s in b_detail.history if s.type is StateType.RUNNING)
            to_created.append((b_run.created - a_done.end_time).total_seconds())
            to_running.append((running - a_done.end_time).total_seconds())
        return {"a_completed_to_b_created": percentiles_ms(to_created),
                "a_completed_to_b_running": percentiles_ms(to_running)}
    finally:
        stack.stop()


def _final(api, run_id: str):
    run = api.read_flow_run(run_id)
    return run if run.state_type in FINAL_STATES else None


def _b_run(api, deployment_id: str, x: int):
    return next((r for r in api.list_flow_runs(deployment_id=deployment_id, limit=50)
                 if r.parameters == {"x": x}), None)


def bench_proactive(home: Path, windows: int) -> dict:
    within_s = 2.0
    stack = _stack(home)
    try:
        api = stack.client()
        created = api.create_automation(AutomationCreate.model_validate({
            "name": "quiet-a", "trigger": {"posture": "Proactive", "within": within_s,
                                           "expect": ["flowpool.flow-run.Completed"],
                                           "match_related": {"flowpool.resource.name": "a"}},
            "actions": [{"type": "pause-work-pool", "work_pool": "p"}]}))
        wait_for(lambda: len(api.read_automation("quiet-a")["firings"]) >= windows,
                 windows * within_s + 60, f"{windows} firings")
        api.set_automation_enabled("quiet-a", False)
        fired = sorted(datetime.fromisoformat(f["fired"])
                       for f in api.read_automation("quiet-a")["firings"])[:windows]
        ends = [created.created + timedelta(seconds=within_s * (k + 1)) for k in range(windows)]
        late = [(f - e).total_seconds() for f, e in zip(fired, ends)]
        return {"window_s": within_s, "late_after_window_end": percentiles_ms(late),
                "target_le_10_s": max(late) <= 10.0}
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="0 skips it")
    parser.add_argument("--automations", type=int, default=20)
    parser.add_argument("--reactions", type=int, default=20, help="0 skips it")
    parser.add_argument("--windows", type=int, default=5, help="0 skips it")
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory(prefix="flowpool-bench-") as tmp:
        parts = (("evaluate", args.events, lambda h: bench_evaluate(h, args.events,
                                                                     args.automations)),
                 ("reaction", args.reactions, lambda h: bench_reaction(h, args.reactions)),
                 ("proactive", args.windows, lambda h: bench_proactive(h, args.windows)))
        for name, count, part in parts:
            if count:
                (Path(tmp) / name).mkdir()
                report[name] = part(Path(tmp) / name)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
