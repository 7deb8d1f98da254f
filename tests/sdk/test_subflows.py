"""Child flow runs: a flow called in a flow is a run of its own, linked to its parent; when
the parent is stopped, children still running end with it."""
import threading

import pytest

from orchestrator import flow, get_run_logger, runtime, task
from orchestrator.sdk.flow_engine import run_flow
from orchestrator.sdk.run_session import RunSession
from orchestrator.states import StateType

from .conftest import Gate, make_reporter, wait_until


@task
def double(x: int) -> int:
    return 2 * x


@flow(name="child-double")
def child(x: int) -> int:
    get_run_logger().info("child got %s", x)
    return double(x)


def test_each_child_is_a_run_with_its_own_id_state_parameters_result_and_logs(reporter):
    @flow(name="parent-of-children")
    def parent(values: list[int]) -> list[int]:
        return [child(v) for v in values]

    assert parent([4, 5]) == [8, 10]
    root, = reporter.root_runs()
    children = reporter.child_runs(root.id)
    assert [c.parameters for c in children] == [{"x": 4}, {"x": 5}]
    assert [(c.flow_name, c.state_type, c.result) for c in children] == [
        ("child-double", "COMPLETED", "8"), ("child-double", "COMPLETED", "10")]
    assert len({root.id, *(c.id for c in children)}) == 3
    for c in children:
        assert reporter.log_messages(c.id)[0] == f"child got {c.parameters['x']}"
        task_run, = [t for t in reporter.task_runs.values() if t.flow_run_id == c.id]
        assert task_run.state_type == "COMPLETED"


def test_a_failing_child_fails_its_parent_unless_caught(reporter):
    @flow
    def broken_child() -> None:
        raise ValueError("child broke")

    @flow
    def careless() -> None:
        broken_child()

    @flow
    def careful() -> str:
        return broken_child(return_state=True).name

    with pytest.raises(ValueError, match="child broke"):
        careless()
    assert careful() == "Failed"
    states = sorted((r.flow_name, r.state_type) for r in reporter.flow_runs.values())
    assert states == [("broken-child", "FAILED"), ("broken-child", "FAILED"),
                      ("careful", "COMPLETED"), ("careless", "FAILED")]


def test_a_child_called_from_a_task_names_that_task_run(reporter):
    @task
    def launcher() -> str:
        child(1)
        return runtime.task_run.id

    @flow
    def parent() -> str:
        return launcher()

    task_run_id = parent()
    child_run, = reporter.runs_of("child-double")
    assert child_run.parent_task_run_id == task_run_id


def test_child_parameters_are_validated_and_coerced(reporter):
    pydantic = pytest.importorskip("pydantic")

    class Point(pydantic.BaseModel):
        x: int

    @flow
    def typed(point: Point, scale: float = 1.0) -> float:
        return point.x * scale

    @flow
    def parent() -> tuple:
        refused = typed({"x": "not a number"}, return_state=True)
        return typed({"x": 3}, scale=2), refused.name, refused.message

    value, name, message = parent()
    assert value == 6.0
    assert name == "Failed" and "point.x" in message


def test_a_child_of_a_cancelled_parent_ends_cancelled(tmp_path):
    class Stop(BaseException):
        pass

    session = RunSession(make_reporter(tmp_path))

    @flow
    def stopping_child() -> None:
        session.request_cancel()  # what the engine does on SIGTERM, before raising
        raise Stop()

    @flow
    def parent() -> None:
        stopping_child()

    with pytest.raises(Stop):
        run_flow(parent, {}, session=session, flow_run_id="root-run")
    states = {r.flow_name: r.state_type for r in session.reporter.flow_runs.values()}
    assert states == {"parent": "CANCELLED", "stopping-child": "CANCELLED"}


def test_end_open_runs_ends_children_and_task_runs_still_running(tmp_path):
    gate = Gate()
    session = RunSession(make_reporter(tmp_path))

    @task
    def blocked() -> str:
        gate.wait()
        return "finished late"

    @flow
    def running_child() -> str:
        return blocked()

    @flow
    def parent() -> None:
        running_child()

    thread = threading.Thread(target=run_flow, args=(parent, {}), kwargs={"session": session})
    thread.start()
    try:
        assert gate.arrived.wait(5)
        ended = session.end_open_runs(StateType.CRASHED, "the infrastructure died")
    finally:
        gate.open()
        thread.join(5)
    assert ended == 3  # the parent, the child, the task run
    reporter = session.reporter
    assert {r.state_type for r in reporter.flow_runs.values()} == {"CRASHED"}
    task_run, = reporter.task_runs.values()
    assert (task_run.state_type, task_run.message) == ("CRASHED", "the infrastructure died")


def test_run_flow_is_the_engines_entry_point(tmp_path):
    from orchestrator.sdk.live_runs import DeploymentInfo

    @flow
    def deployed(x: int) -> dict:
        return {"id": runtime.flow_run.id, "deployment": runtime.deployment.name,
                "in_child": child_deployment(), "x": x}

    @flow
    def child_deployment() -> str:
        return runtime.deployment.name

    reporter = make_reporter(tmp_path)
    state = run_flow(deployed, {"x": "3"}, reporter=reporter, flow_run_id="run-1",
                     flow_run_name="nightly", deployment=DeploymentInfo("d-1", "prod", {}))
    assert state.result() == {"id": "run-1", "deployment": "prod", "in_child": "prod", "x": 3}
    assert reporter.flow_runs["run-1"].name == "nightly"
    failed = run_flow(deployed, {"y": 1}, reporter=reporter)
    assert failed.is_failed()


def test_an_async_flow_runs_through_run_flow_in_its_own_loop(tmp_path):
    import asyncio

    @task
    async def wait_and_add(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    @flow
    async def async_parent(n: int) -> int:
        return sum(await asyncio.gather(*(wait_and_add(i) for i in range(n))))

    assert run_flow(async_parent, {"n": 3}, reporter=make_reporter(tmp_path)).result() == 6


def test_a_sync_flow_may_submit_async_tasks(reporter):
    import asyncio

    @task
    async def later(x: int) -> int:
        await asyncio.sleep(0)
        return x * 10

    @flow
    def mixing() -> list:
        return later.map([1, 2]).result()

    assert mixing() == [10, 20]
    wait_until(lambda: len(reporter.task_runs) == 2)
