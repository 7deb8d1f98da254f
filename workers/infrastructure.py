"""The contract of an infrastructure type, and what every one gives the engine it starts.

An infrastructure is a module with `launch(job, claimed, token, ctx) -> Handle` (registered in
`execution.INFRASTRUCTURES`): it starts `engine_command()` with `engine_environment()` and
`run_labels()`, and hands back a `Handle`, which the supervisor watches.

A flow run executes user code, so it gets only what it needs to report on itself: the API's
URL, its run id, attempt and dispatch token, and its run credential in place of the API key
(which could change pools and deployments). The worker's own secrets stay with the worker.
"""
from __future__ import annotations

import logging
import shlex
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from orchestrator.masking import environment_secrets, is_secret_name, mask_text, secret_values
from orchestrator.models import ClaimedRun
from orchestrator.templating import placeholders

if TYPE_CHECKING:
    from .context import WorkerContext

# settings that hold credentials of the control plane, whatever their names say
WORKER_ONLY_SETTINGS = frozenset({"FLOWPOOL_API_KEY", "FLOWPOOL_REDIS_URL", "FLOWPOOL_DATABASE_URL"})
OUTPUT_TAIL_LINES = 50  # the last lines of output a crash report quotes
# A run's output in the worker's log. Not printed: Celery logs a pool process's stdout as
# WARNING from `ForkPoolWorker-N`, which says neither that it is ordinary output nor whose.
run_output_log = logging.getLogger("flowpool.flow_runs")
LABEL_PREFIX = "flowpool.io/"


def echo_output(source: str, line: str) -> None:
    """One line of a run's output, at INFO, naming the run (or its container or pod)."""
    run_output_log.info("%s | %s", source, line)


class Handle(Protocol):
    """A launched run's infrastructure, as `supervisor.supervise()` watches it. Every call is
    bounded: the supervisor must keep heartbeating whatever the infrastructure does."""

    def poll(self, timeout_s: float) -> int | None:
        """The exit code if the run's main process ended within `timeout_s`, else None."""

    def wait(self) -> int:
        """The exit code, once the run's main process has ended."""

    def stop(self, grace_s: float) -> int:
        """Ask the run to stop (SIGTERM or its equivalent), force it after `grace_s` (at once
        if 0), and return its exit code; nothing of the run outlives it."""

    def output_tail(self) -> list[str]:
        """The last OUTPUT_TAIL_LINES lines of output, secrets masked, for a crash report."""


Launch = Callable[[dict, ClaimedRun, str, "WorkerContext"], Handle]


def engine_command(configured: str | list | None, run_id: str,
                   python: str = "python") -> list[str]:
    """The job's `command`, or the engine run by `python` (the worker's own interpreter for a
    process; the image's `python` in a container)."""
    if not configured:
        return [python, "-m", "orchestrator.engine", run_id]
    return shlex.split(configured) if isinstance(configured, str) else list(configured)


def run_labels(claimed: ClaimedRun) -> dict[str, str]:
    """flowpool's own labels of a run's container or Job, which a job cannot override."""
    run, deployment = claimed.flow_run, claimed.deployment
    own = {"flow-run-id": run.id, "flow-run-name": run.name, "flow": run.flow_name,
           "deployment": deployment.full_name, "deployment-id": deployment.id,
           "work-pool": claimed.work_pool.name, "attempt": str(run.attempt)}
    return {LABEL_PREFIX + key: value for key, value in own.items()}


def engine_environment(claimed: ClaimedRun, token: str, api_url: str) -> dict[str, str]:
    """What the engine needs to fetch and report its run (FLOWPOOL_RUN_ID and
    FLOWPOOL_RUN_ATTEMPT are also for the flow's own code, to tell its run and attempt)."""
    run = claimed.flow_run
    env = {"FLOWPOOL_API_URL": api_url, "FLOWPOOL_RUN_ID": run.id, "FLOWPOOL_RUN_TOKEN": token,
           "FLOWPOOL_RUN_ATTEMPT": str(run.attempt), "PYTHONUNBUFFERED": "1"}
    if claimed.run_credential:
        env["FLOWPOOL_API_KEY"] = claimed.run_credential
    return env


def inherited_environment(environ: Mapping[str, str], claimed: ClaimedRun) -> dict[str, str]:
    """The worker's environment minus its secrets: variables whose names look secret
    (`*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*KEY*`...) or whose values hold URL credentials,
    unless the deployment's pull steps name them (`{{ $GITHUB_TOKEN }}`), and never flowpool's
    own control-plane settings. A run gets other secrets from its job variables' `env`, or
    from a variable."""
    wanted = referenced_environment(claimed.deployment.pull_steps)
    return {name: value for name, value in environ.items()
            if name not in WORKER_ONLY_SETTINGS
            and (name in wanted or not is_secret_name(name) and mask_text(value) == value)}


def run_secrets(job: dict, claimed: ClaimedRun, env: Mapping[str, str]) -> set[str]:
    """The secret values a run's output may print, to mask them where the worker shows or
    reports that output: those of its job variables and pull steps, and of its environment."""
    return {*secret_values([job, claimed.deployment.pull_steps]), *environment_secrets(env)}


def referenced_environment(template: Any) -> set[str]:
    """The environment variables a template reads, as `{{ $NAME }}`."""
    return {name.strip()[1:] for name in placeholders(template) if name.strip().startswith("$")}
