"""flowpool: run Python flows on work pools through Redis and Celery workers.

A flow file imports this package, so it stays light: only the `@flow` decorator is loaded
with it; every other name of the SDK is loaded the first time it is used (module
`__getattr__`), and nothing heavier than the standard library comes with any of them.
"""
from .flows import Flow, flow

__version__ = "0.1.0"

# name -> module that defines it, loaded on first use
_LAZY = {
    "Task": "sdk.tasks", "task": "sdk.tasks",
    "get_run_logger": "sdk.run_logging", "get_logger": "sdk.run_logging",
    "disable_run_logger": "sdk.run_logging",
    "tags": "sdk.run_context", "get_run_context": "sdk.run_context",
    "unmapped": "sdk.annotations", "allow_failure": "sdk.annotations", "quote": "sdk.annotations",
    "TaskRunFuture": "sdk.futures", "TaskRunFutureList": "sdk.futures", "wait": "sdk.futures",
    "as_completed": "sdk.futures",
    "ThreadPoolTaskRunner": "sdk.task_runners",
    "State": "sdk.states",
    "CachePolicy": "sdk.caching", "INPUTS": "sdk.caching", "TASK_SOURCE": "sdk.caching",
    "FLOW_PARAMETERS": "sdk.caching", "RUN_ID": "sdk.caching", "NO_CACHE": "sdk.caching",
    "DEFAULT": "sdk.caching", "task_input_hash": "sdk.caching",
    "exponential_backoff": "sdk.retries",
    "Variable": "sdk.flow_variables",
    "concurrency": "sdk.global_concurrency", "rate_limit": "sdk.global_concurrency",
    "create_markdown_artifact": "sdk.artifacts", "create_table_artifact": "sdk.artifacts",
    "create_link_artifact": "sdk.artifacts", "create_image_artifact": "sdk.artifacts",
    "create_progress_artifact": "sdk.artifacts", "update_progress_artifact": "sdk.artifacts",
    "LocalReporter": "sdk.local_reporter",
    "run_flow": "sdk.flow_engine",
}

# modules offered as names, as `from prefect import runtime` does
_LAZY_MODULES = {"runtime": "sdk.runtime"}

__all__ = ["Flow", "flow", *_LAZY, *_LAZY_MODULES]


def __getattr__(name: str):
    import importlib

    if name in _LAZY_MODULES:
        value = importlib.import_module(f".{_LAZY_MODULES[name]}", __name__)
    elif name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_MODULES))
