"""The web UI, measured in headless Chromium over a database of 10,000 runs; prints JSON.

For each page: the time from navigation start until its data is drawn (the first frame after
an element that only exists once the page's data is there, timed by the browser itself),
cold (a fresh browser profile: nothing cached) and warm (the same page again: stylesheet and
script cached), and the bytes transferred (the Resource Timing API's transferSize, headers
included); medians over --repeat visits.

    python bench/ui.py [--runs 10000] [--repeat 5]

Needs Debian's chromium (apt-get install chromium) and the playwright package (the test
extra); no browser is downloaded.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import LocalStack  # noqa: E402
from orchestrator.models import (DeploymentCreate, FlowRunCreate, LogCreate,  # noqa: E402
                                 WorkPoolCreate, WorkQueueCreate)
from orchestrator.schedules import DeploymentSchedule  # noqa: E402
from orchestrator.states import DEFAULT_NAMES, StateType  # noqa: E402
from orchestrator.store import deployments, logs, work_pools  # noqa: E402
from orchestrator.store.database import Database  # noqa: E402
from orchestrator.store.flow_runs import new_run_values  # noqa: E402
from orchestrator.store.deployment_schedules import insert_runs_once  # noqa: E402

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
# state, share of the runs
MIX = [(StateType.COMPLETED, 0.80), (StateType.FAILED, 0.07), (StateType.CRASHED, 0.02),
       (StateType.CANCELLED, 0.03), (StateType.RUNNING, 0.03), (StateType.PENDING, 0.01),
       (StateType.SCHEDULED, 0.04)]
SCHEMA = {"title": "Parameters", "type": "object", "additionalProperties": False,
          "properties": {"source": {"title": "Source", "type": "string", "default": "crm"},
                         "limit": {"title": "Limit", "type": "integer", "default": 100},
                         "dry_run": {"title": "Dry Run", "type": "boolean", "default": False},
                         "mode": {"$ref": "#/$defs/Mode", "default": "full"},
                         "tables": {"title": "Tables", "type": "array",
                                    "items": {"type": "string"}, "default": []}},
          "$defs": {"Mode": {"enum": ["full", "incremental"], "title": "Mode",
                             "type": "string"}}}


def seed(db: Database, total: int, now: datetime) -> dict[str, str]:
    """3 pools, 12 deployments, `total` runs over the last 24 hours; returns ids to visit."""
    rng = random.Random(7)
    with db.begin() as conn:
        deps = []
        for p in ("etl", "ml", "reports"):
            work_pools.create_work_pool(conn, WorkPoolCreate(name=p, type="process",
                                                             concurrency_limit=20), now)
            work_pools.create_work_queue(conn, p, WorkQueueCreate(name="critical", priority=1,
                                                                  concurrency_limit=5), now)
            for i in range(4):
                deps.append(deployments.upsert_deployment(conn, DeploymentCreate(
                    flow_name=f"{p}-flow", name=f"d{i}", entrypoint="flows.py:f",
                    work_pool_name=p, parameters={"source": f"s{i}"}, parameter_schema=SCHEMA,
                    tags=[p, f"team-{i % 2}"], job_variables={"env": {"API_TOKEN": "x"}},
                    schedules=[DeploymentSchedule.model_validate(
                        {"schedule": {"cron": f"{i * 5} * * * *"}})]), now))
        rows = [_run_row(rng, deps, now, n) for n in range(total)]
        for start in range(0, total, 1000):
            insert_runs_once(conn, rows[start:start + 1000])
        sample = next(r for r in rows if r["state_type"] == "COMPLETED")
        logs.create_logs(conn, sample["id"], [LogCreate(
            timestamp=now, level=20, message=f"line {i}: processed batch", source="flow")
            for i in range(200)], 10 * 2**20, now)
    return {"run": sample["id"], "deployment": f"{deps[0].flow_name}/{deps[0].name}",
            "pool": "etl"}


def _run_row(rng: random.Random, deps, now: datetime, n: int) -> dict:
    deployment = deps[n % len(deps)]
    created = now - timedelta(seconds=rng.uniform(0, 24 * 3600))
    state = rng.choices([s for s, _ in MIX], [w for _, w in MIX])[0]
    row = new_run_values(deployment, deployment.work_queue_name, FlowRunCreate(), {}, created)
    row.update(state_type=state.value, state_name=DEFAULT_NAMES[state], state_changed=created,
               start_time=None, end_time=None, worker_name=None, result=None)
    if state not in (StateType.SCHEDULED, StateType.PENDING):
        row.update(start_time=created + timedelta(seconds=1), attempt=1, worker_name="w1")
    if state in (StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
        row["end_time"] = created + timedelta(seconds=rng.uniform(2, 600))
    if state is StateType.COMPLETED:
        row["result"] = {"rows": rng.randint(0, 10_000)}
    return row


PAGES = [  # (name, path, selector visible once its data is drawn)
    ("dashboard", "/ui/", "svg.chart rect"),
    ("runs", "/ui/runs", "table.runs tbody tr"),
    ("run", "/ui/runs/{run}", "#logs .l"),
    ("deployments", "/ui/deployments", "main table tbody tr"),
    ("deployment", "/ui/deployments/{deployment}", "table.runs tbody tr"),
    ("work_pools", "/ui/work-pools", "main table tbody tr"),
    ("work_pool", "/ui/work-pools/{pool}", "main table tbody tr"),
]


# Runs in the page before its own scripts: notes, on the browser's clock (milliseconds since
# the navigation started), the first frame drawn after an element matching the selector
# exists. A frame is drawn only once the stylesheet has loaded, so that is when a person sees
# the data, without the automation's own round trips.
WATCH = """
(selector => {
  const seen = () => requestAnimationFrame(() => { window.__dataVisibleAt = performance.now(); });
  const observer = new MutationObserver(() => {
    if (document.querySelector(selector)) { observer.disconnect(); seen(); }
  });
  observer.observe(document, {childList: true, subtree: true});
})(%s);
"""


def measure(page, url: str, selector: str) -> tuple[float, int]:
    """(ms from navigation start to the data drawn, bytes transferred) of one visit."""
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.__dataVisibleAt !== undefined")
    visible_ms, transferred = page.evaluate(
        "() => [window.__dataVisibleAt, performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).reduce((n, e) => n + e.transferSize, 0)]")
    return float(visible_ms), int(transferred)


def run_pages(base: str, ids: dict[str, str], repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    figures: dict[str, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_FLAGS)
        for name, path, selector in PAGES:
            url = base + path.format(**ids)
            cold, warm = [], []
            for _ in range(repeat):
                context = browser.new_context()  # a fresh profile: nothing cached
                context.add_init_script(WATCH % json.dumps(selector))
                page = context.new_page()
                cold.append(measure(page, url, selector))
                warm.append(measure(page, url, selector))
                context.close()
            figures[name] = {
                "cold_ms": round(statistics.median(t for t, _ in cold), 1),
                "warm_ms": round(statistics.median(t for t, _ in warm), 1),
                "cold_kb": round(statistics.median(b for _, b in cold) / 1024, 1),
                "warm_kb": round(statistics.median(b for _, b in warm) / 1024, 1)}
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        stack = LocalStack(Path(home))
        db = Database(f"sqlite:///{Path(home) / 'flowpool.db'}")
        db.create_schema()
        ids = seed(db, args.runs, datetime.now(timezone.utc))
        db.dispose()
        stack.start_redis()
        stack.start_server()
        try:
            figures = run_pages(f"http://127.0.0.1:{stack.api_port}", ids, args.repeat)
        finally:
            stack.stop()
    print(json.dumps({"runs": args.runs, "repeat": args.repeat, "pages": figures}, indent=2))


if __name__ == "__main__":
    main()
