"""Tasks: calling one inside a flow runs it as a recorded task run; outside, it is its
function."""
import pytest

from orchestrator import flow, get_run_logger, runtime, tags, task
from orchestrator.states import StateType


@task
def add(a: int, b: int = 10) -> int:
    return a + b


@task
def explode() -> None:
    raise ValueError("boom")


def test_a_task_called_outside_a_flow_is_its_plain_function(reporter):
    assert add(1, 2) == 3
    assert reporter.task_runs == {}


def test_a_task_called_in_a_flow_is_recorded_as_a_completed_task_run(reporter):
    @flow
    def adding() -> int:
        return add(1) + add(2, b=3)

    assert adding() == 16
    root, = reporter.root_runs()
    runs = list(reporter.task_runs.values())
    assert [r.state_name for r in runs] == ["Completed", "Completed"]
    assert {r.flow_run_id for r in runs} == {root.id}
    assert all(r.task_key.endswith(".add") and r.name.startswith("add-") for r in runs)
    assert [r.result for r in runs] == ["11", "5"]
    assert all(r.started_at <= r.ended_at for r in runs)
    assert [h[1] for h in runs[0].history] == ["Running", "Completed"]


def test_a_failing_task_fails_its_flow_with_the_tasks_error(reporter):
    @flow
    def failing() -> None:
        explode()

    with pytest.raises(ValueError, match="boom"):
        failing()
    task_run, = reporter.task_runs.values()
    assert (task_run.state_type, task_run.message) == ("FAILED", "ValueError: boom")
    assert 'raise ValueError("boom")' in task_run.error
    assert reporter.root_runs()[0].state_type == "FAILED"


def test_return_state_gives_the_state_instead_of_raising(reporter):
    @flow
    def inspecting() -> tuple:
        failed, done = explode(return_state=True), add(1, return_state=True)
        return failed.is_failed(), failed.type, failed.name, done.result(), \
            type(failed.result(raise_on_failure=False))

    assert inspecting() == (True, StateType.FAILED, "Failed", 11, ValueError)


def test_task_run_names_come_from_a_template_or_a_function(reporter):
    @task(task_run_name="fetch-{source}-{limit}")
    def fetch(source: str, limit: int = 5) -> str:
        return runtime.task_run.name

    @task(task_run_name=lambda: f"custom-{runtime.task_run.parameters['n']}")
    def custom(n: int) -> str:
        return runtime.task_run.name

    @flow
    def naming() -> list:
        return [fetch("crm"), custom(7)]

    assert naming() == ["fetch-crm-5", "custom-7"]


def test_tags_apply_to_task_runs_started_inside_the_block(reporter):
    @task(tags=["own"])
    def tagged() -> list:
        return runtime.task_run.tags

    @flow
    def tagging() -> tuple:
        with tags("nightly", "etl"):
            inside = tagged()
        return inside, tagged()

    assert tagging() == (["own", "nightly", "etl"], ["own"])


def test_a_task_may_call_another_task(reporter):
    @task
    def outer(x: int) -> int:
        return add(x) * 2

    @flow
    def nesting() -> int:
        return outer(1)

    assert nesting() == 22
    assert len(reporter.task_runs) == 2


def test_get_run_logger_in_a_task_logs_as_that_task_run(reporter):
    @task
    def chatty() -> None:
        get_run_logger().info("hello from %s", "task")

    @flow
    def logging_flow() -> None:
        get_run_logger().warning("hello from flow")
        chatty()

    logging_flow()
    task_run, = reporter.task_runs.values()
    lines = {line.message: line for line in reporter.logs}
    assert lines["hello from task"].task_run_id == task_run.id
    assert lines["hello from flow"].task_run_id is None
    assert lines["hello from flow"].level == 30


def test_with_options_makes_a_changed_copy(reporter):
    renamed = add.with_options(name="plus", retries=2)

    @flow
    def using_copy() -> int:
        return renamed(1)

    assert using_copy() == 11
    assert (renamed.name, renamed.retries, add.name, add.retries) == ("plus", 2, "add", 0)
    assert next(iter(reporter.task_runs.values())).name.startswith("plus-")


def test_a_task_may_be_a_method(reporter):
    class Doubler:
        factor = 2

        @task
        def apply(self, x: int) -> int:
            return x * self.factor

    @flow
    def with_method() -> int:
        return Doubler().apply(21)

    assert with_method() == 42
    assert len(reporter.task_runs) == 1


def test_unknown_options_and_arguments_are_refused_like_a_plain_call(reporter):
    with pytest.raises(TypeError, match="unknown option"):
        task(retires=3)(lambda: None)

    @flow
    def wrong_call() -> None:
        add(1, 2, 3)

    with pytest.raises(TypeError):
        wrong_call()


def test_options_without_meaning_here_are_accepted():
    accepted = task(persist_result=False, result_storage="s3/bucket", cache_result_in_memory=False,
                    result_serializer="json", on_commit=[print], viz_return_value=1)(lambda: 1)
    assert accepted.fn() == 1


def test_log_prints_sends_print_to_the_task_runs_logs(reporter, capsys):
    @task(log_prints=True)
    def printing() -> None:
        print("captured", 42)

    @task
    def plain() -> None:
        print("on stdout")

    @flow
    def printing_flow() -> None:
        printing()
        plain()

    printing_flow()
    assert "captured 42" in reporter.log_messages()
    assert "on stdout" not in reporter.log_messages()
    assert "on stdout" in capsys.readouterr().out


def test_log_prints_of_a_flow_is_inherited_by_its_tasks(reporter):
    @task
    def printing() -> None:
        print("from the task")

    @flow(log_prints=True)
    def printing_flow() -> None:
        printing()

    printing_flow()
    line, = [line for line in reporter.logs if line.message == "from the task"]
    assert line.task_run_id is not None
