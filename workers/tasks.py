"""The one Celery task: execute the flow run a dispatch message names."""
from __future__ import annotations

from orchestrator.keys import TASK_NAME
from orchestrator.models import DispatchMessage

from . import context
from .app import app
from .execution import execute


@app.task(name=TASK_NAME)
def execute_flow_run(message: dict) -> None:
    execute(DispatchMessage.decode(message), context.current())
