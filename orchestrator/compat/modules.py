"""The Prefect modules flowpool implements, and where each of their names lives here.

Each entry maps a Prefect module to its names, each name to `module:attribute` under
`orchestrator`. A module's submodules are entries of their own. Any other `prefect.*` module,
and any other name of these modules, is unsupported and fails naming itself.
"""
from __future__ import annotations

_FLOWS = {"flow": "flows:flow", "Flow": "flows:Flow"}
_TASKS = {"task": "sdk.tasks:task", "Task": "sdk.tasks:Task"}
_STATE_TYPE = {"StateType": "states:StateType", "State": "sdk.states:State"}
_AWS_CREDENTIALS = {"AwsCredentials": "sdk.blocks:AwsCredentials"}
_GITHUB_CREDENTIALS = {"GitHubCredentials": "sdk.blocks:GitHubCredentials"}
_DOCKER_CREDENTIALS = {"DockerRegistryCredentials": "sdk.blocks:DockerRegistryCredentials"}

# The top-level packages the hook answers for: Prefect, and the collections whose blocks
# flowpool implements (their other modules and names fail by name, as Prefect's do).
ROOTS = ("prefect", "prefect_aws", "prefect_github", "prefect_docker")


def is_compat_module(fullname: str) -> bool:
    return any(fullname == root or fullname.startswith(root + ".") for root in ROOTS)


MODULES: dict[str, dict[str, str]] = {
    "prefect": {
        **_FLOWS, **_TASKS, "State": "sdk.states:State",
        "get_run_logger": "sdk.run_logging:get_run_logger", "tags": "sdk.run_context:tags",
        "unmapped": "sdk.annotations:unmapped", "allow_failure": "sdk.annotations:allow_failure",
    },
    "prefect.flows": _FLOWS,
    "prefect.tasks": {**_TASKS, "task_input_hash": "sdk.caching:task_input_hash",
                      "exponential_backoff": "sdk.retries:exponential_backoff"},
    "prefect.futures": {
        "PrefectFuture": "sdk.futures:TaskRunFuture", "PrefectConcurrentFuture": "sdk.futures:TaskRunFuture",
        "PrefectFutureList": "sdk.futures:TaskRunFutureList", "wait": "sdk.futures:wait",
        "as_completed": "sdk.futures:as_completed",
    },
    "prefect.task_runners": {"ThreadPoolTaskRunner": "sdk.task_runners:ThreadPoolTaskRunner"},
    "prefect.runtime": {},
    "prefect.logging": {"get_run_logger": "sdk.run_logging:get_run_logger",
                        "get_logger": "sdk.run_logging:get_logger",
                        "disable_run_logger": "sdk.run_logging:disable_run_logger"},
    "prefect.states": {
        **_STATE_TYPE, "Completed": "sdk.states:Completed", "Failed": "sdk.states:Failed",
        "Crashed": "sdk.states:Crashed", "Cancelled": "sdk.states:Cancelled",
        "Pending": "sdk.states:Pending", "Running": "sdk.states:Running",
        "Scheduled": "sdk.states:Scheduled", "AwaitingRetry": "sdk.states:AwaitingRetry",
        "Retrying": "sdk.states:Retrying",
    },
    "prefect.client": {},
    "prefect.client.schemas": {},
    "prefect.client.schemas.objects": _STATE_TYPE,
    "prefect.variables": {"Variable": "sdk.flow_variables:Variable"},
    "prefect.artifacts": {
        name: f"sdk.artifacts:{name}" for name in (
            "create_markdown_artifact", "create_table_artifact", "create_link_artifact",
            "create_image_artifact", "create_progress_artifact", "update_progress_artifact")
    },
    "prefect.cache_policies": {
        name: f"sdk.caching:{name}" for name in (
            "INPUTS", "TASK_SOURCE", "FLOW_PARAMETERS", "RUN_ID", "NO_CACHE", "DEFAULT",
            "CachePolicy", "Inputs", "TaskSource", "FlowParameters", "RunId",
            "CacheKeyFnPolicy", "CompoundCachePolicy")
    },
    "prefect.concurrency": {},
    "prefect.concurrency.sync": {"concurrency": "sdk.global_concurrency:concurrency",
                                 "rate_limit": "sdk.global_concurrency:rate_limit"},
    "prefect.concurrency.asyncio": {"concurrency": "sdk.global_concurrency:concurrency",
                                    "rate_limit": "sdk.global_concurrency:rate_limit_async"},
    "prefect.context": {"tags": "sdk.run_context:tags", "get_run_context": "sdk.run_context:get_run_context",
                        "FlowRunContext": "sdk.run_context:FlowRunContext",
                        "TaskRunContext": "sdk.run_context:TaskRunContext"},
    "prefect.exceptions": {
        "PrefectException": "errors:FlowpoolError", "MissingContextError": "errors:MissingContextError",
        "UpstreamTaskError": "errors:UpstreamTaskError", "ParameterTypeError": "errors:InvalidInput",
        "ObjectAlreadyExists": "errors:AlreadyExists",
    },
    "prefect.blocks": {},
    "prefect.blocks.core": {"Block": "sdk.blocks:Block"},
    "prefect.blocks.system": {"Secret": "sdk.blocks:Secret", "JSON": "sdk.blocks:JSON"},
    "prefect_aws": {**_AWS_CREDENTIALS, "S3Bucket": "sdk.blocks:S3Bucket"},
    "prefect_aws.credentials": _AWS_CREDENTIALS,
    "prefect_aws.s3": {"S3Bucket": "sdk.blocks:S3Bucket"},
    "prefect_github": _GITHUB_CREDENTIALS,
    "prefect_github.credentials": _GITHUB_CREDENTIALS,
    "prefect_docker": _DOCKER_CREDENTIALS,
    "prefect_docker.credentials": _DOCKER_CREDENTIALS,
    "prefect.events": {"emit_event": "sdk.events:emit_event", "Event": "models.events:Event"},
    "prefect.utilities": {},
    "prefect.utilities.annotations": {"unmapped": "sdk.annotations:unmapped",
                                      "allow_failure": "sdk.annotations:allow_failure",
                                      "quote": "sdk.annotations:quote"},
}

# Modules whose attributes are read afresh from an object on every access (their values
# change from run to run).
LIVE_MODULES: dict[str, str] = {
    "prefect.runtime.flow_run": "sdk.runtime:flow_run",
    "prefect.runtime.task_run": "sdk.runtime:task_run",
    "prefect.runtime.deployment": "sdk.runtime:deployment",
}

# What `prefect.__version__` says: Prefect 3's API, as implemented by flowpool.
PREFECT_VERSION = "3.0.0+flowpool"
