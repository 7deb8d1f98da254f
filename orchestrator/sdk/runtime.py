"""Facts about the current run, read where they are needed:

    from orchestrator import runtime
    runtime.flow_run.id, .name, .flow_name, .parameters, .tags, .scheduled_start_time,
        .parent_flow_run_id, .parent_deployment_id, .run_count, .deployment_id
    runtime.task_run.id, .name, .task_name, .parameters, .tags, .run_count
    runtime.deployment.id, .name, .parameters, .version, .flow_run_id

Outside a run each is None (parameters: {}, tags: []). `flow_run`, `task_run` and
`deployment` are module objects, so `import prefect.runtime.flow_run` resolves to them too.
"""
from __future__ import annotations

import types
from typing import Any

from .run_context import flow_run_context, task_run_context


def _flow_run() -> Any:
    context = flow_run_context.get()
    return context.run if context is not None else None


def _task_run() -> Any:
    context = task_run_context.get()
    return context.run if context is not None else None


class _FlowRunFacts(types.ModuleType):
    @property
    def id(self) -> str | None:
        run = _flow_run()
        return run.id if run else None

    @property
    def name(self) -> str | None:
        run = _flow_run()
        return run.name if run else None

    @property
    def flow_name(self) -> str | None:
        run = _flow_run()
        return run.flow_name if run else None

    @property
    def parameters(self) -> dict[str, Any]:
        run = _flow_run()
        return dict(run.parameters) if run else {}

    @property
    def tags(self) -> list[str]:
        run = _flow_run()
        return list(run.tags) if run else []

    @property
    def scheduled_start_time(self) -> Any:
        run = _flow_run()
        return run.scheduled_start_time if run else None

    @property
    def parent_flow_run_id(self) -> str | None:
        run = _flow_run()
        return run.parent_flow_run_id if run else None

    @property
    def run_count(self) -> int:
        run = _flow_run()
        return run.attempt if run else 0

    @property
    def deployment_id(self) -> str | None:
        run = _flow_run()
        return run.deployment_id if run else None

    @property
    def parent_deployment_id(self) -> str | None:
        return None  # child runs are in-process, never runs of another deployment


class _TaskRunFacts(types.ModuleType):
    @property
    def id(self) -> str | None:
        run = _task_run()
        return run.id if run else None

    @property
    def name(self) -> str | None:
        run = _task_run()
        return run.name if run else None

    @property
    def task_name(self) -> str | None:
        run = _task_run()
        return run.task_name if run else None

    @property
    def parameters(self) -> dict[str, Any]:
        run = _task_run()
        return dict(run.parameters) if run else {}

    @property
    def tags(self) -> list[str]:
        run = _task_run()
        return list(run.tags) if run else []

    @property
    def run_count(self) -> int:
        run = _task_run()
        return run.attempt if run else 0


class _DeploymentFacts(types.ModuleType):
    def _deployment(self) -> Any:
        run = _flow_run()
        while run is not None and run.deployment is None and run.parent_flow_run_id:
            run = run.session.open_runs.get(run.parent_flow_run_id)  # a child: its root's
        return run.deployment if run is not None else None

    @property
    def id(self) -> str | None:
        deployment = self._deployment()
        return deployment.id if deployment else None

    @property
    def name(self) -> str | None:
        deployment = self._deployment()
        return deployment.name if deployment else None

    @property
    def parameters(self) -> dict[str, Any]:
        deployment = self._deployment()
        return dict(deployment.parameters) if deployment else {}

    @property
    def version(self) -> str | None:
        deployment = self._deployment()
        return deployment.version if deployment else None

    @property
    def flow_run_id(self) -> str | None:
        run = _flow_run()
        return run.id if run else None


flow_run = _FlowRunFacts("orchestrator.runtime.flow_run", "The current flow run.")
task_run = _TaskRunFacts("orchestrator.runtime.task_run", "The current task run.")
deployment = _DeploymentFacts("orchestrator.runtime.deployment",
                              "The deployment of the current flow run.")
