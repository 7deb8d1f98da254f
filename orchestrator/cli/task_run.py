"""`flowpool task-run ...`: the task runs a flow run recorded."""
from __future__ import annotations

from typing import Any

import typer

from ..models.task_runs import TaskRun
from .common import client
from .output import OUTPUT_OPTION, Output, print_table, show

app = typer.Typer(help="Task runs: what the tasks of a flow run did.", no_args_is_help=True)
TASK_RUN_COLUMNS = ["id", "name", "state", "attempt", "start_time", "end_time", "cache",
                    "outcome"]
OUTCOME_CHARS = 60


@app.command("ls")
def ls(flow_run: str = typer.Option(..., "--flow-run", help="the flow run's id"),
       output: Output = OUTPUT_OPTION) -> None:
    """List a flow run's task runs, in the order they were created."""
    with client() as api:
        task_runs = api.list_task_runs(flow_run)
    show(task_runs, output, print_task_runs)


def print_task_runs(task_runs: list[TaskRun]) -> None:
    print_table([task_run_row(t) for t in task_runs], TASK_RUN_COLUMNS)


def task_run_row(task_run: TaskRun) -> dict[str, Any]:
    cache = "hit" if task_run.cache_hit else ("miss" if task_run.cache_key else None)
    outcome = task_run.state_message if task_run.state_type.value != "COMPLETED" \
        else task_run.result
    return dict(task_run.model_dump(), state=task_run.state_name, cache=cache,
                outcome=_short(outcome))


def _short(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.replace("\n", " ")
    return text if len(text) <= OUTCOME_CHARS else text[:OUTCOME_CHARS - 3] + "..."
