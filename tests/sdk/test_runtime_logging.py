"""prefect-style runtime facts and run loggers."""
import io
import logging

import pytest

from orchestrator import disable_run_logger, flow, get_run_logger, runtime, tags, task
from orchestrator.errors import MissingContextError
from orchestrator.sdk.local_reporter import LocalReporter


def test_runtime_outside_a_run_is_empty():
    assert runtime.flow_run.id is None and runtime.task_run.name is None
    assert runtime.flow_run.parameters == {} and runtime.deployment.id is None


def test_runtime_inside_flows_and_tasks(reporter):
    @task(task_run_name="t-{x}")
    def inside_task(x: int) -> dict:
        return {"task": runtime.task_run.name, "task_params": runtime.task_run.parameters,
                "flow": runtime.flow_run.flow_name, "count": runtime.task_run.run_count}

    @flow(flow_run_name="f-{x}")
    def facts(x: int) -> dict:
        with tags("a"):
            inner = inside_task(x)
        return {**inner, "name": runtime.flow_run.name, "params": runtime.flow_run.parameters,
                "id": runtime.flow_run.id, "tags": runtime.flow_run.tags}

    result = facts(7)
    assert result["task"] == "t-7" and result["task_params"] == {"x": 7}
    assert (result["flow"], result["name"], result["params"]) == ("facts", "f-7", {"x": 7})
    assert result["id"] == reporter.root_runs()[0].id and result["count"] == 1


def test_get_run_logger_outside_a_run_fails_unless_disabled():
    with pytest.raises(MissingContextError):
        get_run_logger()
    with disable_run_logger():
        get_run_logger().info("goes nowhere")


def test_run_logger_lines_do_not_reach_the_root_logger(reporter):
    seen = []

    class Spy(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    spy = Spy()
    logging.getLogger().addHandler(spy)
    try:
        @flow
        def logs() -> None:
            get_run_logger().info("only in the run's logs")
        logs()
    finally:
        logging.getLogger().removeHandler(spy)
    assert "only in the run's logs" in reporter.log_messages()
    assert "only in the run's logs" not in seen


def test_a_direct_call_echoes_its_run_logs_on_the_console():
    console = io.StringIO()

    @flow(flow_run_name="echoed")
    def talking() -> None:
        get_run_logger().info("hello console")

    with LocalReporter(console=console, variables={}):
        talking()
    assert "| INFO    | Flow run 'echoed' - hello console" in console.getvalue()


def test_prints_outside_log_prints_stay_on_stdout(reporter, capsys):
    @flow
    def quiet() -> None:
        print("plain print")

    quiet()
    assert capsys.readouterr().out == "plain print\n"
    assert "plain print" not in reporter.log_messages()
