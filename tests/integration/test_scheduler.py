"""The scheduler daemon end to end, with a real server, real workers and real scheduler
processes: deploys on a schedule show their upcoming runs, runs start on time, pauses and
schedule changes replace the future runs, bad schedules are refused, waiting runs say why,
and a standby scheduler takes over from a killed leader."""
from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib

from devstack import LocalStack, flowpool_command, wait_for
from orchestrator.errors import InvalidInput
from orchestrator.leases import current_leader
from orchestrator.models import DeploymentCreate, FlowRunCreate
from orchestrator.schedules import CronSchedule, DeploymentSchedule
from orchestrator.states import FINAL_STATES, StateType

pytestmark = pytest.mark.integration

LATE_AFTER_S = 2
LEASE_S = 2
FLOWS = '''
import time
from orchestrator import flow

@flow
def greet(name: str = "world"):
    return f"hello {name}"

@flow
def needs(repo: str):
    return repo

@flow
def nap(seconds: float = 60):
    time.sleep(seconds)
'''


@pytest.fixture(scope="module")
def sstack(tmp_path_factory):
    """A server with its scheduler, a Redis of its own (one scheduler leads per Redis), runs
    Late after 2 s, and a project with a few flows."""
    home = tmp_path_factory.mktemp("scheduling")
    stack = LocalStack(home / "home", extra_env={"FLOWPOOL_LATE_AFTER_S": str(LATE_AFTER_S)})
    stack.start_redis()
    stack.start_server()
    stack.project = home / "project"
    stack.project.mkdir()
    (stack.project / "flows.py").write_text(FLOWS)
    yield stack
    stack.stop()


@pytest.fixture
def pool(sstack, unique_name):
    name = unique_name("sched")
    sstack.cli("work-pool", "create", name, "--type", "process", check=True)
    return name


def deploy(stack, flow: str, name: str, pool: str, *flags: str, check: bool = True):
    return stack.cli("deploy", f"flows.py:{flow}", "--name", name, "--pool", pool, *flags,
                     cwd=stack.project, check=check)


def scheduled_runs(api, full_name: str) -> list:
    deployment = api.read_deployment(full_name)
    runs = api.list_flow_runs("SCHEDULED", deployment.id, limit=500)
    return sorted(runs, key=lambda r: r.scheduled_time)


def wait_for_runs(api, full_name: str, count: int, what: str, timeout_s: float = 15):
    return wait_for(lambda: (lambda runs: runs if len(runs) == count else None)(
        scheduled_runs(api, full_name)), timeout_s, what)


def iso_in(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).replace(
        microsecond=0).isoformat()


# --- upcoming runs ------------------------------------------------------------------------------

def test_a_cron_deploy_creates_upcoming_runs_visible_as_scheduled(sstack, pool):
    result = deploy(sstack, "greet", "weekdays", pool, "--cron", "0 9 * * 1-5",
                    "--timezone", "Europe/Paris")
    assert "cron '0 9 * * 1-5' (Europe/Paris)" in result.stdout
    api = sstack.client()

    runs = wait_for_runs(api, "greet/weekdays", 3, "three upcoming runs")

    paris = [r.scheduled_time.astimezone(ZoneInfo("Europe/Paris")) for r in runs]
    assert all(t.hour == 9 and t.minute == 0 and t.weekday() < 5 for t in paris)
    assert all(r.auto_scheduled and r.schedule_id for r in runs)
    listed = sstack.cli("flow-run", "ls", "--state", "SCHEDULED", "--deployment",
                        "greet/weekdays", "--output", "json", check=True)
    assert {r["id"] for r in json.loads(listed.stdout)} == {r.id for r in runs}
    assert all(r["waiting_reason"]["code"] == "scheduled_in_future"
               for r in json.loads(listed.stdout))
    inspected = sstack.cli("deployment", "inspect", "greet/weekdays", check=True).stdout
    assert runs[0].id in inspected and "upcoming runs" in inspected


def test_an_interval_deploy_creates_runs_from_its_anchor(sstack, pool):
    anchor = datetime(2026, 1, 1, 0, 0, 30, tzinfo=timezone.utc)
    deploy(sstack, "greet", "every-hour", pool, "--interval", "3600",
           "--anchor-date", anchor.isoformat())
    runs = wait_for_runs(sstack.client(), "greet/every-hour", 3, "three hourly runs")
    assert {(r.scheduled_time.minute, r.scheduled_time.second) for r in runs} == {(0, 30)}
    assert [b.scheduled_time - a.scheduled_time for a, b in zip(runs, runs[1:])] == \
        [timedelta(hours=1)] * 2


# --- on time -------------------------------------------------------------------------------------

def test_a_run_scheduled_seconds_ahead_is_running_within_a_second_of_its_time(sstack, pool):
    sstack.start_worker(pool, "--limit", "2")
    deploy(sstack, "greet", "on-time", pool, "--interval", "3600", "--anchor-date", iso_in(5))
    api = sstack.client()
    first = wait_for_runs(api, "greet/on-time", 3, "the runs to be created")[0]

    done = wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
        api.read_flow_run(first.id)), 30, "the first run to finish")

    running = next(h for h in done.history if h.type is StateType.RUNNING)
    lateness_s = (running.timestamp - first.scheduled_time).total_seconds()
    assert 0 <= lateness_s < 1.0, f"RUNNING {lateness_s:.3f}s after its scheduled time"
    assert done.state_type is StateType.COMPLETED


# --- pause, resume, changes ----------------------------------------------------------------------

def test_pausing_deletes_the_future_runs_and_resuming_creates_them_again(sstack, pool):
    deploy(sstack, "greet", "pausable", pool, "--cron", "0 9 * * *")
    api = sstack.client()
    before = wait_for_runs(api, "greet/pausable", 3, "the runs to be created")

    sstack.cli("deployment", "pause", "greet/pausable", check=True)
    assert scheduled_runs(api, "greet/pausable") == []
    assert api.read_deployment("greet/pausable").paused

    sstack.cli("deployment", "resume", "greet/pausable", check=True)
    after = wait_for_runs(api, "greet/pausable", 3, "the runs to be created again")
    assert [r.scheduled_time for r in after] == [r.scheduled_time for r in before]
    assert not {r.id for r in after} & {r.id for r in before}


def test_changed_schedules_replace_the_future_runs(sstack, pool):
    deploy(sstack, "greet", "changing", pool, "--cron", "0 9 * * *")
    api = sstack.client()
    old = wait_for_runs(api, "greet/changing", 3, "the 09:00 runs")

    deploy(sstack, "greet", "changing", pool, "--cron", "30 18 * * *")

    new = wait_for(lambda: (lambda runs: runs if len(runs) == 3 and all(
        (r.scheduled_time.hour, r.scheduled_time.minute) == (18, 30) for r in runs) else None)(
        scheduled_runs(api, "greet/changing")), 15, "only 18:30 runs")
    assert not {r.id for r in new} & {r.id for r in old}


def test_schedules_are_managed_one_by_one(sstack, pool):
    deploy(sstack, "greet", "managed", pool, "--cron", "0 9 * * *")
    api = sstack.client()
    wait_for_runs(api, "greet/managed", 3, "the first schedule's runs")

    sstack.cli("deployment", "schedule", "create", "greet/managed", "--cron", "0 21 * * *",
               "--slug", "evening", "--param", "name=evening", check=True)
    runs = wait_for_runs(api, "greet/managed", 6, "both schedules' runs")
    assert {r.parameters.get("name") for r in runs if r.scheduled_time.hour == 21} == {"evening"}
    listed = sstack.cli("deployment", "schedule", "ls", "greet/managed", check=True).stdout
    assert "evening" in listed and "cron '0 21 * * *' (UTC)" in listed

    sstack.cli("deployment", "schedule", "pause", "greet/managed", "evening", check=True)
    assert {r.scheduled_time.hour for r in scheduled_runs(api, "greet/managed")} == {9}
    sstack.cli("deployment", "schedule", "resume", "greet/managed", "evening", check=True)
    wait_for_runs(api, "greet/managed", 6, "the evening runs again")
    sstack.cli("deployment", "schedule", "delete", "greet/managed", "evening", check=True)
    assert {r.scheduled_time.hour for r in scheduled_runs(api, "greet/managed")} == {9}
    assert len(api.list_schedules("greet/managed")) == 1


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("flow, flags, field", [
    ("greet", ["--cron", "61 * * * *"], "--cron"),
    ("greet", ["--cron", "0 9 * * *", "--timezone", "Mars/Olympus"], "--timezone"),
    ("greet", ["--rrule", "FREQ=SOMETIMES"], "--rrule"),
    ("greet", ["--interval", "0"], "--interval"),
    ("needs", ["--cron", "0 9 * * *"], "schedules[0].parameters.repo"),
], ids=["cron", "timezone", "rrule", "interval", "required-parameter"])
def test_a_bad_schedule_is_refused_naming_the_field_and_nothing_is_registered(
        sstack, pool, flow, flags, field):
    result = deploy(sstack, flow, "refused", pool, *flags, check=False)
    assert result.returncode != 0
    assert field in result.stderr
    listed = sstack.cli("deployment", "ls", "--pool", pool, "--output", "json", check=True)
    assert json.loads(listed.stdout) == []


def test_the_api_refuses_a_schedule_whose_runs_could_not_start(sstack, pool):
    request = DeploymentCreate(
        flow_name="needs", name="api-refused", entrypoint="flows.py:needs", work_pool_name=pool,
        parameter_schema={"type": "object", "properties": {"repo": {"type": "string"}},
                          "required": ["repo"]},
        schedules=[DeploymentSchedule(schedule=CronSchedule(cron="0 9 * * *"))])
    with pytest.raises(InvalidInput) as refused:
        sstack.client().upsert_deployment(request)
    assert refused.value.errors[0].field == "schedules[0].parameters.repo"
    assert sstack.client().list_deployments(pool) == []


# --- Late and waiting reasons --------------------------------------------------------------------

def waiting(api, run_id: str, code: str, late: bool | None = None, within_s: float = 15):
    def check():
        run = api.read_flow_run(run_id)
        matches = run.waiting_reason and run.waiting_reason.code.value == code
        return run if matches and (late is None or run.late == late) else None
    return wait_for(check, within_s, f"run {run_id} to wait with {code}")


def test_a_run_nobody_can_take_is_late_and_says_why(sstack, pool):
    # Far enough ahead that a busy machine still reads the first run before its time.
    deploy(sstack, "greet", "stuck", pool, "--interval", "3600", "--anchor-date", iso_in(12))
    api = sstack.client()
    first = wait_for_runs(api, "greet/stuck", 3, "the runs to be created")[0]
    assert api.read_flow_run(first.id).waiting_reason.code.value == "scheduled_in_future"

    late = waiting(api, first.id, "no_worker_online", late=True, within_s=40)
    assert f"flowpool worker start --pool {pool}" in late.waiting_reason.message
    listed = sstack.cli("flow-run", "ls", "--deployment", "greet/stuck", check=True).stdout
    assert "Late" in listed and "no_worker_online" in listed
    inspected = sstack.cli("flow-run", "inspect", first.id, check=True).stdout
    assert "Late (SCHEDULED)" in inspected

    sstack.cli("work-pool", "pause", pool, check=True)
    waiting(api, first.id, "work_pool_paused", late=True)
    sstack.cli("work-pool", "resume", pool, check=True)
    sstack.cli("work-queue", "pause", "default", "--pool", pool, check=True)
    waiting(api, first.id, "work_queue_paused", late=True)


def test_a_run_held_by_a_full_concurrency_limit_names_the_limit(sstack, pool):
    sstack.start_worker(pool, "--limit", "2")
    deploy(sstack, "nap", "single", pool, "--concurrency-limit", "1")
    api = sstack.client()
    holder = api.create_flow_run("nap/single", FlowRunCreate())
    wait_for(lambda: api.read_flow_run(holder.id).state_type is StateType.RUNNING, 20,
             "the first run to hold the slot")

    queued = api.create_flow_run("nap/single", FlowRunCreate())

    reason = waiting(api, queued.id, "deployment_limit_full").waiting_reason
    assert "concurrency limit of 1" in reason.message
    for run in (holder, queued):
        api.cancel_flow_run(run.id)


# --- one leader -----------------------------------------------------------------------------------

@pytest.fixture
def split_stack(tmp_path):
    """A server without its scheduler, so scheduler processes of their own can lead it."""
    stack = LocalStack(tmp_path / "home", extra_env={"FLOWPOOL_LEADER_LEASE_S": str(LEASE_S)})
    stack.start_redis()
    stack.start_server("--no-scheduler")
    (tmp_path / "flows.py").write_text(FLOWS)
    stack.project = tmp_path
    stack.schedulers = []
    yield stack
    for process in stack.schedulers:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)
    stack.stop()


def start_scheduler(stack: LocalStack, name: str) -> subprocess.Popen:
    log_path = stack.home / f"scheduler-{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([*flowpool_command(), "scheduler", "start"], env=stack.env(),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    process.log_path = log_path
    stack.schedulers.append(process)
    wait_for(lambda: "started" in log_text(process), 30, f"scheduler {name} to start")
    return process


def log_text(process) -> str:
    if process.poll() is not None and process.returncode not in (0, -9):
        raise RuntimeError(f"scheduler exited with {process.returncode}:\n"
                           + Path(process.log_path).read_text()[-3000:])
    return Path(process.log_path).read_text(errors="replace")


def leader_pid(redis) -> int | None:
    leader = current_leader(redis)
    return int(leader.split(":")[1]) if leader else None


def run_to_completion(api, full_name: str) -> None:
    run = api.create_flow_run(full_name, FlowRunCreate())
    done = wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
        api.read_flow_run(run.id)), 30, f"a run of {full_name} to finish")
    assert done.state_type is StateType.COMPLETED


def test_a_standby_scheduler_takes_over_when_the_leader_is_killed(split_stack):
    stack = split_stack
    redis = redis_lib.Redis.from_url(stack.redis_url)
    stack.cli("work-pool", "create", "lead", "--type", "process", check=True)
    stack.start_worker("lead", "--limit", "2")
    stack.cli("deploy", "flows.py:greet", "--name", "led", "--pool", "lead", "--cron",
              "0 9 * * *", cwd=stack.project, check=True)
    api = stack.client()

    first = start_scheduler(stack, "first")
    wait_for(lambda: leader_pid(redis) == first.pid, 10, "the first scheduler to lead")
    second = start_scheduler(stack, "second")
    wait_for(lambda: "is standby" in log_text(second), 10, "the second to wait as standby")
    run_to_completion(api, "greet/led")
    wait_for_runs(api, "greet/led", 3, "the schedule's runs, created once")

    first.kill()
    killed_at = time.monotonic()
    wait_for(lambda: leader_pid(redis) == second.pid, LEASE_S + 5, "the standby to take over")
    takeover_s = time.monotonic() - killed_at

    assert takeover_s < LEASE_S + 2
    assert leader_pid(redis) == second.pid
    run_to_completion(api, "greet/led")
    assert len(scheduled_runs(api, "greet/led")) == 3
