"""Priorities and concurrency limits with real Celery workers and real subprocess runs."""
from __future__ import annotations

import json
import os
import signal

import pytest

from devstack import wait_for
from orchestrator.models import FlowRunCreate, StateProposal
from orchestrator.states import FINAL_STATES, StateType

pytestmark = pytest.mark.integration

RECORDING_FLOW = '''
import json, os, time
from orchestrator import flow

@flow
def record(log: str, label: str = "", hold_s: float = 0.0):
    start = time.time()
    time.sleep(hold_s)
    with open(log, "a") as f:
        f.write(json.dumps({"run": os.environ["FLOWPOOL_RUN_ID"], "label": label,
                            "start": start, "end": time.time()}) + "\\n")
'''


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def max_overlap(intervals):
    events = sorted([(r["start"], 1) for r in intervals] + [(r["end"], -1) for r in intervals],
                    key=lambda e: (e[0], e[1]))
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def all_final(api, run_ids, timeout_s):
    def check():
        runs = [api.read_flow_run(r) for r in run_ids]
        return runs if all(r.state_type in FINAL_STATES for r in runs) else None
    return wait_for(check, timeout_s, f"{len(run_ids)} runs to finish", interval_s=0.5)


def test_thirty_runs_respect_the_pool_limit_and_queue_priorities(
        stack, unique_name, flow_file, tmp_path):
    pool = unique_name("prio")
    stack.cli("work-pool", "create", pool, "--type", "process", "--concurrency-limit", "3", check=True)
    for name, priority in (("critical", 1), ("normal", 2), ("bulk", 3)):
        stack.cli("work-queue", "create", name, "--pool", pool, "--priority", str(priority), check=True)
    project, entrypoint = flow_file(RECORDING_FLOW, "record")
    stack.cli("deploy", entrypoint, "--name", "rec", "--pool", pool, cwd=project, check=True)
    log = tmp_path / "runs.jsonl"
    api = stack.client(retry_for_s=10)
    stack.cli("work-pool", "pause", pool, check=True)  # every run waits at the same time
    run_ids = [api.create_flow_run("record/rec", FlowRunCreate(
        parameters={"log": str(log), "label": queue}, work_queue_name=queue)).id
        for queue in ("bulk", "normal", "critical") * 10]  # bench/chaos.py goes to 1,000
    stack.start_worker(pool, "--limit", "2")
    stack.start_worker(pool, "--limit", "2")

    stack.cli("work-pool", "resume", pool, check=True)

    runs = all_final(api, run_ids, 240)
    assert {r.state_type for r in runs} == {StateType.COMPLETED}
    done = records(log)
    assert len(done) == 30
    assert max_overlap(done) <= 3
    starts = {label: [r["start"] for r in done if r["label"] == label]
              for label in ("critical", "normal", "bulk")}
    assert max(starts["critical"]) < min(starts["bulk"])
    # dispatch itself is strictly in priority order (process start-up may reorder neighbours)
    dispatched = {label: [_dispatched_at(r) for r in runs if r.parameters["label"] == label]
                  for label in ("critical", "normal", "bulk")}
    assert max(dispatched["critical"]) <= min(dispatched["normal"])
    assert max(dispatched["normal"]) <= min(dispatched["bulk"])


def _dispatched_at(run):
    return next(h.timestamp for h in run.history if h.type is StateType.PENDING)


def test_a_deployment_limit_of_one_never_overlaps_while_others_keep_flowing(
        stack, process_pool, flow_file, tmp_path):
    pool = process_pool(limit=4)
    project, entrypoint = flow_file(RECORDING_FLOW, "record")
    stack.cli("deploy", entrypoint, "--name", "single", "--pool", pool,
              "--concurrency-limit", "1", cwd=project, check=True)
    stack.cli("deploy", entrypoint, "--name", "free", "--pool", pool, cwd=project, check=True)
    single_log, free_log = tmp_path / "single.jsonl", tmp_path / "free.jsonl"
    api = stack.client(retry_for_s=10)

    single = [api.create_flow_run("record/single", FlowRunCreate(
        parameters={"log": str(single_log), "hold_s": 0.5})).id for _ in range(4)]
    free = [api.create_flow_run("record/free", FlowRunCreate(
        parameters={"log": str(free_log)})).id for _ in range(4)]

    all_final(api, single + free, 60)
    single_runs, free_runs = records(single_log), records(free_log)
    assert len(single_runs) == 4 and max_overlap(single_runs) == 1
    assert len(free_runs) == 4
    # the free deployment did not wait for the limited one's queue to drain
    assert max(r["end"] for r in free_runs) < max(r["end"] for r in single_runs)


def test_cancel_new_cancels_the_second_concurrent_run_at_once(stack, process_pool, flow_file, tmp_path):
    pool = process_pool()
    project, entrypoint = flow_file(RECORDING_FLOW, "record")
    stack.cli("deploy", entrypoint, "--name", "once", "--pool", pool, "--concurrency-limit", "1",
              "--collision-strategy", "CANCEL_NEW", cwd=project, check=True)
    api = stack.client(retry_for_s=10)
    first = api.create_flow_run("record/once", FlowRunCreate(
        parameters={"log": str(tmp_path / "l"), "hold_s": 3}))
    wait_for(lambda: api.read_flow_run(first.id).state_type is StateType.RUNNING, 20, "first running")

    second = api.create_flow_run("record/once", FlowRunCreate(parameters={"log": str(tmp_path / "l")}))

    cancelled = wait_for(lambda: (lambda r: r if r.state_type is StateType.CANCELLED else None)(
        api.read_flow_run(second.id)), 5, "the second run to be cancelled")
    assert "concurrency limit of 1" in cancelled.state_message
    assert "CANCEL_NEW" in cancelled.state_message


def test_a_worker_runs_at_most_its_limit_at_once(stack, process_pool, flow_file, tmp_path):
    pool = process_pool(limit=1)
    project, entrypoint = flow_file(RECORDING_FLOW, "record")
    stack.cli("deploy", entrypoint, "--name", "w1", "--pool", pool, cwd=project, check=True)
    log = tmp_path / "w1.jsonl"
    api = stack.client(retry_for_s=10)

    ids = [api.create_flow_run("record/w1", FlowRunCreate(
        parameters={"log": str(log), "hold_s": 0.3})).id for _ in range(4)]

    all_final(api, ids, 60)
    assert len(records(log)) == 4 and max_overlap(records(log)) == 1


def test_a_killed_workers_slot_frees_once_its_run_is_final(stack, unique_name, flow_file, tmp_path):
    pool = unique_name("kill")
    stack.cli("work-pool", "create", pool, "--type", "process", "--concurrency-limit", "1", check=True)
    project, entrypoint = flow_file(RECORDING_FLOW, "record")
    stack.cli("deploy", entrypoint, "--name", "k", "--pool", pool, cwd=project, check=True)
    worker = stack.start_worker(pool)
    api = stack.client(retry_for_s=10)
    stuck = api.create_flow_run("record/k", FlowRunCreate(
        parameters={"log": str(tmp_path / "k"), "hold_s": 600}))
    running = wait_for(lambda: (lambda r: r if r.state_type is StateType.RUNNING else None)(
        api.read_flow_run(stuck.id)), 20, "the first run to start")
    waiting = api.create_flow_run("record/k", FlowRunCreate(parameters={"log": str(tmp_path / "k")}))

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert api.read_work_pool(pool).usage.in_use == 1
    api.set_state(stuck.id, StateProposal(type=StateType.CRASHED, token=running.dispatch_token,
                                          message="worker lost"))
    stack.start_worker(pool)

    wait_for(lambda: api.read_flow_run(waiting.id).state_type is StateType.COMPLETED, 30,
             "the waiting run to take the freed slot")


def test_a_work_queue_created_while_a_worker_runs_is_served(stack, process_pool, flow_file, tmp_path):
    pool = process_pool()
    stack.cli("work-queue", "create", "late-queue", "--pool", pool, check=True)
    project, entrypoint = flow_file(RECORDING_FLOW, "record")
    stack.cli("deploy", entrypoint, "--name", "lq", "--pool", pool, "--work-queue", "late-queue",
              cwd=project, check=True)
    api = stack.client(retry_for_s=10)

    run = api.create_flow_run("record/lq", FlowRunCreate(parameters={"log": str(tmp_path / "q")}))

    wait_for(lambda: api.read_flow_run(run.id).state_type is StateType.COMPLETED, 15,
             "the new queue's run to be served")


def test_queue_commands_show_limits_and_holders(stack, process_pool):
    pool = process_pool(workers=0)
    stack.cli("work-queue", "create", "q1", "--pool", pool, "--priority", "5", "--limit", "2", check=True)
    stack.cli("work-queue", "update", "q1", "--pool", pool, "--priority", "1", check=True)
    stack.cli("work-queue", "set-concurrency-limit", "q1", "7", "--pool", pool, check=True)

    listed = json.loads(stack.cli("work-queue", "ls", "--pool", pool, "-o", "json", check=True).stdout)
    inspect = stack.cli("work-queue", "inspect", "q1", "--pool", pool, check=True).stdout
    stack.cli("work-queue", "clear-concurrency-limit", "q1", "--pool", pool, check=True)
    deleted = stack.cli("work-queue", "delete", "default", "--pool", pool)

    assert [q["name"] for q in listed] == ["default", "q1"]
    assert next(q for q in listed if q["name"] == "q1")["priority"] == 1
    assert "0 in use of 7" in inspect
    assert api_queue(stack, pool, "q1")["concurrency_limit"] is None
    assert deleted.returncode == 1 and "default queue cannot be deleted" in deleted.stderr


def api_queue(stack, pool, name):
    return stack.client().read_work_queue(pool, name).model_dump()
