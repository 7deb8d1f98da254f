"""docker-compose.yml, run for real: the Docker Compose CLI brings the whole stack up on the
container engine (PostgreSQL, Redis, migrate, two API replicas, two schedulers, setup, process
workers), and it survives what production throws at it.

1. three workers run 300 runs within the pool's limit of 6, all of them on every worker;
2. a worker container and the leading scheduler's are killed in a second batch of 200: the
   standby leads within 10 s, the killed worker's runs end CRASHED and are retried, nothing
   is lost and no run ever runs twice at once;
3. an API replica is stopped mid-batch: clients and workers carry on through the other;
4. `down -v` leaves nothing behind.

Each step's time, and the completed runs per minute with 1 and 3 workers, are printed.
"""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest

from composestack import ComposeStack
from devstack import wait_for
from orchestrator import keys
from orchestrator.models import FlowRunCreate
from orchestrator.states import AWAITING_RETRY, StateType

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

POOL_LIMIT = 6
HOLD_S = 0.5  # how long each run holds its slot
DEPLOYMENT = "hold/compose-test"
TAKEOVER_LIMIT_S = 10
CRASH_AFTER_S = 10  # a killed worker's runs are CRASHED this long after their last heartbeat
BATCH_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def compose_stack(compose_engine):
    stack = ComposeStack(compose_engine, f"flowpool-test-{os.getpid()}", pool_limit=POOL_LIMIT,
                         extra_env={"FLOWPOOL_CRASH_AFTER_S": str(CRASH_AFTER_S)})
    yield stack
    if stack.containers(all=True):  # the test failed before its own `down -v`
        stack.down()


def test_the_compose_stack_scales_and_survives_failures(compose_stack, capsys):
    stack = compose_stack
    timings: dict[str, float] = {}
    timings["up (1 worker)"] = stack.up(workers=1)
    for replica in (0, 1):
        stack.wait_healthy(replica)
    stack.run("flowpool", "deploy", "tests/compose/flows.py:hold", "--name", "compose-test",
              "--pool", "compose-pool", "--retries", "2", "-p", f"seconds={HOLD_S}")
    client = stack.client(replica=1)

    started = time.monotonic()
    one_worker = finished_runs(client, create_runs(client, 100))
    timings["100 runs, 1 worker"] = time.monotonic() - started
    assert {r.state_type for r in one_worker} == {StateType.COMPLETED}

    timings["scale to 3 workers"] = stack.up(workers=3)
    started = time.monotonic()
    first = finished_runs(client, create_runs(client, 300))
    timings["300 runs, 3 workers"] = time.monotonic() - started
    assert {r.state_type for r in first} == {StateType.COMPLETED}
    per_worker = Counter(r.worker_name for r in first)
    assert len(per_worker) == 3, per_worker
    assert min(per_worker.values()) >= 15, f"runs were not spread over the workers: {per_worker}"
    assert most_at_once(first) <= POOL_LIMIT

    timings.update(kill_a_worker_and_the_leader(stack, client))
    timings.update(stop_an_api_replica(stack))

    timings["down -v"] = stack.down()
    assert stack.containers(all=True) == []
    assert stack.docker.volumes.list(filters={"label": f"com.docker.compose.project={stack.name}"}) == []

    rates = {"1 worker": runs_per_minute(one_worker), "3 workers": runs_per_minute(first)}
    with capsys.disabled():
        print("\ncompose stack timings (s):",
              ", ".join(f"{step} {seconds:.1f}" for step, seconds in timings.items()))
        print("completed runs/min:", ", ".join(f"{k} {v:.0f}" for k, v in rates.items()),
              f"(loadavg {os.getloadavg()[0]:.1f}); 300 runs per worker:",
              sorted(per_worker.values()))


def kill_a_worker_and_the_leader(stack: ComposeStack, client) -> dict[str, float]:
    started = time.monotonic()
    run_ids = create_runs(client, 200)
    wait_for(lambda: count_running(client, run_ids) >= POOL_LIMIT, 120, "runs to start",
             interval_s=0.2)
    victim = busiest_worker(stack, client)
    leader = stack.redis_get(keys.SCHEDULER_LEADER_LOCK)
    leader_container = next(c for c in stack.containers("scheduler")
                            if leader.startswith(c.attrs["Config"]["Hostname"] + ":"))
    killed_at = time.monotonic()
    victim.kill()
    leader_container.kill()

    def new_leader():
        current = stack.redis_get(keys.SCHEDULER_LEADER_LOCK)
        return current if current and current != leader else None
    takeover = wait_for(new_leader, 30, "the standby scheduler to lead", interval_s=0.2)
    takeover_s = time.monotonic() - killed_at
    assert takeover_s <= TAKEOVER_LIMIT_S, f"{takeover} took over after {takeover_s:.1f} s"
    # seconds after the kill, whatever the dead worker still holds as RUNNING died with it
    stranded = {r.id for r in client.list_flow_runs(state="RUNNING", limit=1000)
                if (r.worker_name or "").startswith(victim.attrs["Config"]["Hostname"] + "-")}

    runs = finished_runs(client, run_ids)
    assert {r.state_type for r in runs} == {StateType.COMPLETED}, "runs were lost"
    assert stranded, "the killed worker was running none of the runs"
    for run in runs:
        assert_one_attempt_at_a_time(run)
        if run.id in stranded:
            assert ended_crashed(run), run.history
            assert run.attempt >= 2
    assert most_at_once(runs) <= POOL_LIMIT
    return {"takeover": takeover_s, "200 runs, worker + leader killed": time.monotonic() - started}


def busiest_worker(stack: ComposeStack, client):
    """The worker container running the most runs right now (its runs are named after it)."""
    running = Counter((r.worker_name or "").rsplit("-", 1)[0]
                      for r in client.list_flow_runs(state="RUNNING", limit=1000))
    return max(stack.containers("worker"),
               key=lambda c: running[c.attrs["Config"]["Hostname"]])


def stop_an_api_replica(stack: ComposeStack) -> dict[str, float]:
    started = time.monotonic()
    client = stack.client(replica=1)
    run_ids = create_runs(client, 100)
    wait_for(lambda: count_done(client, run_ids) >= 20, 120, "20 runs to finish", interval_s=0.2)
    replica = stack.api_replicas()[0]
    replica.stop(timeout=10)
    # through the other replica: the host's client, the CLI in the stack's network (by the
    # service name), and the workers
    more = create_runs(client, 50)
    assert "compose-pool" in stack.run("flowpool", "work-pool", "ls")
    runs = finished_runs(client, run_ids + more)
    assert {r.state_type for r in runs} == {StateType.COMPLETED}
    replica.start()
    stack.wait_healthy(0)
    return {"150 runs, an API replica stopped": time.monotonic() - started}


# -- runs -------------------------------------------------------------------------------------
def create_runs(client, count: int) -> list[str]:
    return [client.create_flow_run(DEPLOYMENT, FlowRunCreate()).id for _ in range(count)]


def read_runs(client, run_ids: list[str]) -> list:
    return [client.read_flow_run(run_id) for run_id in run_ids]


def count_running(client, run_ids: list[str]) -> int:
    return sum(r.state_type is StateType.RUNNING for r in client.list_flow_runs(
        state="RUNNING", limit=1000) if r.id in set(run_ids))


def count_done(client, run_ids: list[str]) -> int:
    ids = set(run_ids)
    return sum(r.id in ids for r in client.list_flow_runs(state="COMPLETED", limit=10_000))


def finished_runs(client, run_ids: list[str]) -> list:
    """The runs, once every one is COMPLETED or the deadline passed (then as they are)."""
    try:
        wait_for(lambda: count_done(client, run_ids) == len(run_ids), BATCH_TIMEOUT_S,
                 f"{len(run_ids)} runs to complete", interval_s=1)
    except TimeoutError:
        pass  # the caller's assertion names the states
    return read_runs(client, run_ids)


def attempts(run) -> list[tuple]:
    """(start, end) of each attempt from the run's state history: RUNNING to the next state."""
    spans, started = [], None
    for record in run.history:
        if record.type is StateType.RUNNING:
            assert started is None, f"run {run.id} went RUNNING twice without ending: {run.history}"
            started = record.timestamp
        elif started is not None:
            spans.append((started, record.timestamp))
            started = None
    return spans


def ended_crashed(run) -> bool:
    """Whether an attempt ended CRASHED: as such, or as the AwaitingRetry of a retried crash."""
    return any(h.type is StateType.CRASHED
               or (h.name == AWAITING_RETRY and "crashed" in (h.message or "").lower())
               for h in run.history)


def assert_one_attempt_at_a_time(run) -> None:
    spans = attempts(run)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, f"run {run.id} ran twice at once: {run.history}"


def most_at_once(runs) -> int:
    events = sorted((moment, delta) for run in runs for start, end in attempts(run)
                    for moment, delta in ((start, 1), (end, -1)))
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def runs_per_minute(runs) -> float:
    first_created = min(r.created for r in runs)
    last_end = max(r.end_time for r in runs)
    return len(runs) * 60 / (last_end - first_created).total_seconds()
