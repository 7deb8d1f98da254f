"""Reports reach the reporter in batches, never one call per task run, in order."""
import threading

from orchestrator import flow, task
from orchestrator.sdk.flow_engine import run_flow
from orchestrator.sdk.local_reporter import LocalReporter

from .conftest import Gate, wait_until


@task
def noop(i: int) -> int:
    return i


def test_a_thousand_task_runs_arrive_in_a_few_batches(reporter):
    @flow
    def many() -> None:
        for i in range(1000):
            noop(i)

    many()
    assert len(reporter.task_runs) == 1000
    assert reporter.batches <= 3
    assert all(r.state_type == "COMPLETED" for r in reporter.task_runs.values())


class IntervalReporter(LocalReporter):
    flush_interval_s = 0.02


def test_a_reporter_with_an_interval_sees_a_running_flow_before_it_ends(tmp_path):
    gate = Gate()
    reporter = IntervalReporter(variables={})

    @task
    def blocked() -> None:
        gate.wait()

    @flow
    def slow() -> None:
        noop(1)
        blocked()

    thread = threading.Thread(target=run_flow, args=(slow, {}), kwargs={"reporter": reporter})
    thread.start()
    try:
        wait_until(lambda: any(r.state_type == "RUNNING" for r in reporter.task_runs.values()),
                   what="the running task run to be reported")
        assert reporter.root_runs()[0].state_type == "RUNNING"
    finally:
        gate.open()
        thread.join(5)
    assert {r.state_type for r in reporter.task_runs.values()} == {"COMPLETED"}


class BrokenReporter(LocalReporter):
    def send(self, batch):
        raise ConnectionError("API away")


def test_a_reporter_that_fails_never_fails_the_flow(tmp_path, capfd):
    @flow
    def fine() -> int:
        return noop(5)

    with BrokenReporter(variables={}):
        assert fine() == 5
    assert "could not report" in capfd.readouterr().err
