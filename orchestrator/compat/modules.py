"""The Prefect modules flowpool implements, and where each of their names lives here.

Each entry maps a Prefect module to its names, each name to `module:attribute` under
`orchestrator`. A module's submodules are entries of their own. Any other `prefect.*` module,
and any other name of these modules, is unsupported and fails naming itself.
"""
from __future__ import annotations

_FLOWS = {"flow": "flows:flow", "Flow": "flows:Flow"}
_TASKS = {"task": "tasks:task", "Task": "tasks:Task"}
_STATE_TYPE = {"StateType": "states:StateType", "State": "sdk_states:State"}

MODULES: dict[str, dict[str, str]] = {
    "prefect": {
        **_FLOWS, **_TASKS, "State": "sdk_states:State",
        "get_run_logger": "run_logging:get_run_logger", "tags": "run_context:tags",
        "unmapped": "annotations:unmapped", "allow_failure": "annotations:allow_failure",
    },
    "prefect.flows": _FLOWS,
    "prefect.tasks": {**_TASKS, "task_input_hash": "caching:task_input_hash",
                      "exponential_backoff": "retries:exponential_backoff"},
    "prefect.futures": {
        "PrefectFuture": "futures:TaskRunFuture", "PrefectConcurrentFuture": "futures:TaskRunFuture",
        "PrefectFutureList": "futures:TaskRunFutureList", "wait": "futures:wait",
        "as_completed": "futures:as_completed",
    },
    "prefect.task_runners": {"ThreadPoolTaskRunner": "task_runners:ThreadPoolTaskRunner"},
    "prefect.runtime": {},
    "prefect.logging": {"get_run_logger": "run_logging:get_run_logger",
                        "get_logger": "run_logging:get_logger",
                        "disable_run_logger": "run_logging:disable_run_logger"},
    "prefect.states": {
        **_STATE_TYPE, "Completed": "sdk_states:Completed", "Failed": "sdk_states:Failed",
        "Crashed": "sdk_states:Crashed", "Cancelled": "sdk_states:Cancelled",
        "Pending": "sdk_states:Pending", "Running": "sdk_states:Running",
        "Scheduled": "sdk_states:Scheduled", "AwaitingRetry": "sdk_states:AwaitingRetry",
        "Retrying": "sdk_states:Retrying",
    },
    "prefect.client": {},
    "prefect.client.schemas": {},
    "prefect.client.schemas.objects": _STATE_TYPE,
    "prefect.variables": {"Variable": "flow_variables:Variable"},
    "prefect.artifacts": {
        name: f"artifacts:{name}" for name in (
            "create_markdown_artifact", "create_table_artifact", "create_link_artifact",
            "create_image_artifact", "create_progress_artifact", "update_progress_artifact")
    },
    "prefect.cache_policies": {
        name: f"caching:{name}" for name in (
            "INPUTS", "TASK_SOURCE", "FLOW_PARAMETERS", "RUN_ID", "NO_CACHE", "DEFAULT",
            "CachePolicy", "Inputs", "TaskSource", "FlowParameters", "RunId",
            "CacheKeyFnPolicy", "CompoundCachePolicy")
    },
    "prefect.concurrency": {},
    "prefect.concurrency.sync": {"concurrency": "global_concurrency:concurrency",
                                 "rate_limit": "global_concurrency:rate_limit"},
    "prefect.concurrency.asyncio": {"concurrency": "global_concurrency:concurrency",
                                    "rate_limit": "global_concurrency:rate_limit_async"},
    "prefect.context": {"tags": "run_context:tags", "get_run_context": "run_context:get_run_context",
                        "FlowRunContext": "run_context:FlowRunContext",
                        "TaskRunContext": "run_context:TaskRunContext"},
    "prefect.exceptions": {
        "PrefectException": "errors:FlowpoolError", "MissingContextError": "errors:MissingContextError",
        "UpstreamTaskError": "errors:UpstreamTaskError", "ParameterTypeError": "errors:InvalidInput",
        "ObjectAlreadyExists": "errors:AlreadyExists",
    },
    "prefect.utilities": {},
    "prefect.utilities.annotations": {"unmapped": "annotations:unmapped",
                                      "allow_failure": "annotations:allow_failure",
                                      "quote": "annotations:quote"},
}

# Modules whose attributes are read afresh from an object on every access (their values
# change from run to run).
LIVE_MODULES: dict[str, str] = {
    "prefect.runtime.flow_run": "runtime:flow_run",
    "prefect.runtime.task_run": "runtime:task_run",
    "prefect.runtime.deployment": "runtime:deployment",
}

# What `prefect.__version__` says: Prefect 3's API, as implemented by flowpool.
PREFECT_VERSION = "3.0.0+flowpool"
