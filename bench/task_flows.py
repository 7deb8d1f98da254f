"""The flows `bench/tasks.py` times, written against Prefect's Python API so that this one file
runs unchanged under flowpool (through its Prefect-compatible imports) and under Prefect.

Each flow times itself from its first line to its last and writes the figure to `out`, so the
"flow time" of both systems is measured the same way, inside the run."""
import json
import time

from prefect import flow, task


@task
def increment(x: int) -> int:
    return x + 1


def record(out: str, started: float, value: int) -> int:
    if out:
        with open(out, "w") as figures:
            json.dump({"flow_seconds": time.perf_counter() - started, "value": value}, figures)
    return value


@flow(name="sequential-tasks")
def sequential_tasks(n: int = 1000, out: str = "") -> int:
    started = time.perf_counter()
    value = 0
    for _ in range(n):
        value = increment(value)
    return record(out, started, value)


@flow(name="mapped-tasks")
def mapped_tasks(n: int = 1000, out: str = "") -> int:
    started = time.perf_counter()
    return record(out, started, sum(increment.map(range(n)).result()))


@flow(name="child")
def child(x: int) -> int:
    return increment(x)


@flow(name="subflows")
def subflows(n: int = 100, out: str = "") -> int:
    started = time.perf_counter()
    return record(out, started, sum(child(i) for i in range(n)))
