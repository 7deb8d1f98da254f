"""A process run's processes, with real workers and real processes: every process a run
starts is killed when the run ends, however it ends, even one that left the run's process
group and ignores SIGTERM; and a run that reported its final state is let exit, not stopped.

Each test runs four times: with a cgroup per run (where this machine lets the worker make one)
and with the /proc walk of a child subreaper (`FLOWPOOL_PROCESS_CGROUPS=false`), each with the
run's process forked warm (the default) and started cold (`FLOWPOOL_PROCESS_START=spawn`)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from devstack import LocalStack, wait_for
from orchestrator.models import FlowRunCreate
from orchestrator.states import FINAL_STATES, StateType
from orchestrator.processes import cgroup_dir

pytestmark = pytest.mark.integration

GRACE_S = 2
# A secret of the workers' environment, in two halves: the test never holds it whole.
SECRET_HALVES = ["worker-only-", "secret-4f9a1c"]
TIMINGS = {"FLOWPOOL_HEARTBEAT_INTERVAL_S": "0.5", "FLOWPOOL_CANCEL_GRACE_S": str(GRACE_S),
           "FLOWPOOL_DISPATCH_INTERVAL_S": "0.5", "DEPLOY_PASSWORD": "".join(SECRET_HALVES)}
SUBREAPER, SPAWN = {"FLOWPOOL_PROCESS_CGROUPS": "false"}, {"FLOWPOOL_PROCESS_START": "spawn"}
MODES = {"cgroup": {}, "subreaper": SUBREAPER, "cgroup-spawn": SPAWN,
         "subreaper-spawn": {**SUBREAPER, **SPAWN}}
TIMEOUT_S = 3

FLOWS = '''
import os, subprocess, sys, threading, time
from pathlib import Path
from orchestrator import flow

DAEMON = """
import os, signal, sys, time
os.setsid()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork():
    os._exit(0)  # its parent leaves at once: the daemon is an orphan
with open(sys.argv[1], "a") as pids:
    pids.write(f"{os.getpid()}\\\\n")
time.sleep(1000)
"""
SHELL = 'trap "" TERM; echo $$ >> "$0"; exec sleep 1000'


@flow
def leave_daemons(pid_file: str, main_pid_file: str, then: str = "hang"):
    """Start two SIGTERM-ignoring processes outside the run's process group, then hang or
    return."""
    subprocess.Popen(["setsid", "sh", "-c", SHELL, pid_file])
    subprocess.Popen([sys.executable, "-c", DAEMON, pid_file])
    deadline = time.monotonic() + 30
    while len(Path(pid_file).read_text().split() if Path(pid_file).exists() else []) < 2:
        assert time.monotonic() < deadline, "the daemons did not start"
        time.sleep(0.02)
    Path(main_pid_file).write_text(str(os.getpid()))
    if then == "hang":
        time.sleep(600)
    return then


@flow
def search_memory(halves: list):
    """How often this process's memory holds halves[0] + halves[1] (never made whole here)."""
    first, second = (half.encode() for half in halves)
    found = 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if "r" not in perms or line.rstrip().endswith(("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            at = chunk.find(first)
            while at >= 0:
                found += chunk[at + len(first):at + len(first) + len(second)] == second
                at = chunk.find(first, at + 1)
    return found


@flow
def linger(marker: str, seconds: float = 1.0):
    """Return at once, leaving a thread that keeps the process up after the report."""
    def finish():
        time.sleep(seconds)
        Path(marker).write_text("done")
    threading.Thread(target=finish).start()
    return "reported"
'''


@pytest.fixture(scope="module")
def pstack(tmp_path_factory):
    """A stack with a process pool per mode, each with its deployments and one worker."""
    home = tmp_path_factory.mktemp("run-processes")
    stack = LocalStack(home / "home", extra_env=TIMINGS)
    stack.start_redis()
    stack.start_server()
    project = home / "project"
    project.mkdir()
    (project / "flows.py").write_text(FLOWS)
    for mode, env in MODES.items():
        stack.cli("work-pool", "create", mode, "--type", "process", check=True)
        for name, extra in ((mode, []), (f"{mode}-timed", ["--timeout", str(TIMEOUT_S)])):
            stack.cli("deploy", "flows.py:leave_daemons", "--name", name, "--pool", mode,
                      *extra, cwd=project, check=True)
        stack.start_worker(mode, "--limit", "2", env=env)
        stack.cli("deploy", "flows.py:search_memory", "--name", mode, "--pool", mode,
                  cwd=project, check=True)
    stack.cli("deploy", "flows.py:linger", "--name", "d", "--pool", "cgroup", cwd=project,
              check=True)
    yield stack
    stack.stop()


@pytest.fixture(params=list(MODES))
def mode(request):
    return request.param


class Run:
    """A run of leave_daemons and the pids it writes: its daemons' and its main process's."""

    def __init__(self, stack: LocalStack, deployment: str, directory: Path, then: str = "hang"):
        self.api = stack.client(retry_for_s=10)
        self.pid_file, self.main_pid_file = directory / "daemons", directory / "main"
        self.id = self.api.create_flow_run(deployment, FlowRunCreate(parameters=dict(
            pid_file=str(self.pid_file), main_pid_file=str(self.main_pid_file),
            then=then))).id

    def started(self) -> "Run":
        wait_for(lambda: self.main_pid_file.exists() and self.main_pid_file.read_text(), 30,
                 "the flow and its daemons to start")
        return self

    @property
    def main_pid(self) -> int:
        return int(self.main_pid_file.read_text())

    def pids(self) -> list[int]:
        return [int(p) for p in self.pid_file.read_text().split()] + [self.main_pid]

    def final(self, timeout_s: float = 30):
        return wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
            self.api.read_flow_run(self.id)), timeout_s, f"run {self.id} to end")

    def assert_all_gone(self, timeout_s: float = GRACE_S + 5) -> None:
        """Every process of the run exited and was reaped (a zombie still counts)."""
        pids = self.pids()
        wait_for(lambda: not [p for p in pids if Path(f"/proc/{p}").exists()], timeout_s,
                 f"processes {pids} of run {self.id} to be gone")


def run_cgroup(run: Run, mode: str) -> Path | None:
    """The run's own cgroup, which it has exactly when the mode says so, holding every
    process of the run: named by the run on a cold start, made ahead by the spare process
    that became the run on a warm one."""
    try:
        cgroup = cgroup_dir(run.main_pid)
    except OSError:
        cgroup = None
    own = f"flowpool-run-{run.id}-" if mode.endswith("spawn") else "flowpool-run-warm-"
    if cgroup is None or not cgroup.name.startswith(own):
        if mode.startswith("cgroup"):
            pytest.skip("this machine gives workers no writable cgroup v2; the subreaper mode"
                        " is tested instead")
        return None
    assert mode.startswith("cgroup")
    assert set(run.pids()) <= {int(pid) for pid in (cgroup / "cgroup.procs").read_text().split()}
    return cgroup


def parent_name(pid: int) -> str:
    ppid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    return Path(f"/proc/{ppid}/comm").read_text().strip()


def test_a_run_is_forked_warm_unless_told_to_spawn(pstack, mode, tmp_path):
    """Warm: the run's process is a child of the worker's warm-start process, in a session of
    its own. Cold: a new interpreter, the supervising process's own child."""
    run = Run(pstack, f"leave-daemons/{mode}", tmp_path).started()

    warm = parent_name(run.main_pid) == "flowpool-zygote"
    assert warm is (not mode.endswith("spawn"))
    assert os.getsid(run.main_pid) == run.main_pid == os.getpgid(run.main_pid)
    environ = Path(f"/proc/{run.main_pid}/environ").read_bytes()
    assert b"FLOWPOOL_REDIS_URL" not in environ  # not even in the environment it started with
    run.api.cancel_flow_run(run.id)
    assert run.final().state_type is StateType.CANCELLED
    run.assert_all_gone()


def test_the_next_warm_run_waits_in_a_cgroup_of_its_own_before_it_comes(pstack, tmp_path):
    """Moving a process into a cgroup waits milliseconds on the kernel: the spare that will
    become the next run has made that move before the run comes."""
    run = Run(pstack, "leave-daemons/cgroup", tmp_path).started()
    cgroup = run_cgroup(run, "cgroup")
    zygote = int(Path(f"/proc/{run.main_pid}/stat").read_text().rpartition(")")[2].split()[1])

    def spare() -> int | None:
        children = Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split()
        return next((int(pid) for pid in children
                     if Path(f"/proc/{pid}/comm").read_text().strip() == "flowpool-spare"), None)

    spare_pid = wait_for(spare, 10, "the zygote's next spare")
    spare_cgroup = wait_for(lambda: (lambda c: c if c.name.startswith("flowpool-run-warm-")
                                     else None)(cgroup_dir(spare_pid)), 10,
                            "the spare to be in a cgroup of its own")
    assert spare_cgroup != cgroup and spare_cgroup.parent == cgroup.parent
    assert (spare_cgroup / "cgroup.procs").read_text().split() == [str(spare_pid)]
    run.api.cancel_flow_run(run.id)
    assert run.final().state_type is StateType.CANCELLED
    run.assert_all_gone()


def test_a_run_holds_no_secret_of_its_worker_anywhere_in_its_memory(pstack, mode):
    """The worker's secret environment is neither given to a run nor left in the memory it
    was forked with (the warm-start process is forked before the worker reads it)."""
    api = pstack.client(retry_for_s=10)
    run_id = api.create_flow_run(f"search-memory/{mode}", FlowRunCreate(
        parameters={"halves": SECRET_HALVES})).id
    done = wait_for(lambda: (lambda r: r if r.state_type in FINAL_STATES else None)(
        api.read_flow_run(run_id)), 30, "the search to end")
    assert done.state_type is StateType.COMPLETED, done.state_message
    assert done.result == 0


def test_cancel_kills_every_process_of_the_run(pstack, mode, tmp_path):
    run = Run(pstack, f"leave-daemons/{mode}", tmp_path).started()
    cgroup = run_cgroup(run, mode)

    run.api.cancel_flow_run(run.id)

    assert run.final().state_type is StateType.CANCELLED
    run.assert_all_gone()
    if cgroup is not None:
        wait_for(lambda: not cgroup.exists(), 5, f"{cgroup} to be removed")


def test_a_timeout_kills_every_process_of_the_run(pstack, mode, tmp_path):
    run = Run(pstack, f"leave-daemons/{mode}-timed", tmp_path).started()

    done = run.final()

    assert (done.state_type, done.state_name) == (StateType.FAILED, "TimedOut")
    run.assert_all_gone()


def test_a_crash_of_the_main_process_kills_the_rest_of_the_run(pstack, mode, tmp_path):
    run = Run(pstack, f"leave-daemons/{mode}", tmp_path).started()

    os.kill(run.main_pid, signal.SIGKILL)

    done = run.final()
    assert done.state_type is StateType.CRASHED and "exited with code -9" in done.state_message
    run.assert_all_gone()


def test_processes_a_completed_run_left_behind_are_killed(pstack, mode, tmp_path):
    run = Run(pstack, f"leave-daemons/{mode}", tmp_path, then="return")

    done = run.final()

    assert done.state_type is StateType.COMPLETED and done.result == "return"
    run.assert_all_gone()


def test_a_run_that_reported_its_end_is_let_exit_not_stopped(pstack, tmp_path):
    """The engine reports COMPLETED, then its process takes a second to exit (a thread still
    finishing): the worker's heartbeats in that second must see "exiting", not "stolen"."""
    worker = pstack.workers[0]
    log_start = Path(worker.log_path).stat().st_size
    api = pstack.client(retry_for_s=10)
    marker = tmp_path / "finished"
    run_id = api.create_flow_run("linger/d", FlowRunCreate(
        parameters={"marker": str(marker), "seconds": 1.0})).id

    wait_for(lambda: api.read_flow_run(run_id).state_type in FINAL_STATES, 30, "the run to end")
    assert api.read_flow_run(run_id).state_type is StateType.COMPLETED
    exited, stopped = (f"run {run_id}: infrastructure exited", f"run {run_id}: no longer")
    wait_for(lambda: (lambda log: exited in log or stopped in log)(worker_log(worker, log_start)),
             GRACE_S + 5, "the worker to be done with the run")

    log = worker_log(worker, log_start)
    assert stopped not in log and "Traceback" not in log
    assert f"{exited} with code 0;" in log  # it finished by itself, its thread included
    assert marker.read_text() == "done"


def worker_log(worker, start: int) -> str:
    with open(worker.log_path, errors="replace") as log:
        log.seek(start)
        return log.read()
