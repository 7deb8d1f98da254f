"""The cost of task runs, maps and child flow runs in one process, on the local reporter.

Prints JSON: flow wall time (seconds) and per-item cost (milliseconds) for 1,000 sequential
trivial tasks, a `.map()` over 1,000 items, and 100 child flow runs, each the best of a few
rounds after a warm-up (the first call also pays for imports). Every task run and child run
is recorded, exactly as in a real run; the reports are checked to be all there.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator import LocalReporter, flow, task  # noqa: E402

N_TASKS = 1000
N_MAPPED = 1000
N_SUBFLOWS = 100
ROUNDS = 5


@task
def increment(x: int) -> int:
    return x + 1


@flow
def sequential_tasks(n: int) -> int:
    value = 0
    for _ in range(n):
        value = increment(value)
    return value


@flow
def mapped_tasks(n: int) -> int:
    return sum(increment.map(range(n)).result())


@flow
def child(x: int) -> int:
    return increment(x)


@flow
def parent_of_children(n: int) -> int:
    return sum(child(i) for i in range(n))


def measure(flow_to_run, n: int, expected_task_runs: int, expected_flow_runs: int) -> dict:
    best = float("inf")
    for _ in range(ROUNDS + 1):  # the first round warms up
        with LocalReporter() as reporter:
            started = time.perf_counter()
            flow_to_run(n)
            elapsed = time.perf_counter() - started
        assert len(reporter.task_runs) == expected_task_runs, len(reporter.task_runs)
        assert len(reporter.flow_runs) == expected_flow_runs, len(reporter.flow_runs)
        best = min(best, elapsed)
    return {"flow_wall_s": round(best, 4), "per_item_ms": round(best / n * 1000, 4),
            "report_batches": reporter.batches}


def main() -> None:
    figures = {
        "sequential_1000_tasks": measure(sequential_tasks, N_TASKS, N_TASKS, 1),
        "map_over_1000_items": measure(mapped_tasks, N_MAPPED, N_MAPPED, 1),
        "100_subflows": measure(parent_of_children, N_SUBFLOWS, N_SUBFLOWS, N_SUBFLOWS + 1),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
