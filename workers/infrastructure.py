"""What every infrastructure gives the engine it starts: the environment a flow run sees.

A flow run executes user code, so it gets only what it needs to report on itself: the API's
URL, its run id and dispatch token, and its run credential in place of the API key (which
could change pools and deployments). The worker's own secrets stay with the worker.
"""
from __future__ import annotations

from typing import Any, Mapping

from orchestrator.masking import environment_secrets, is_secret_name, mask_text, secret_values
from orchestrator.models import ClaimedRun
from orchestrator.templating import placeholders

# settings that hold credentials of the control plane, whatever their names say
WORKER_ONLY_SETTINGS = frozenset({"FLOWPOOL_API_KEY", "FLOWPOOL_REDIS_URL", "FLOWPOOL_DATABASE_URL"})


def engine_environment(claimed: ClaimedRun, token: str, api_url: str) -> dict[str, str]:
    """What the engine needs to fetch and report its run."""
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
