"""flowpool: run Python flows on work pools through Redis and Celery workers.

A flow file imports this package, so it stays light: only the `@flow` decorator is loaded
with it; every other name of the SDK is loaded the first time it is used (module
`__getattr__`), and nothing heavier than the standard library comes with any of them.
"""
from .flows import Flow, flow

__version__ = "0.1.0"

# name -> module that defines it, loaded on first use
_LAZY = {
    "Task": "tasks", "task": "tasks",
    "get_run_logger": "run_logging", "get_logger": "run_logging",
    "disable_run_logger": "run_logging",
    "tags": "run_context", "get_run_context": "run_context",
    "unmapped": "annotations", "allow_failure": "annotations", "quote": "annotations",
    "TaskRunFuture": "futures", "TaskRunFutureList": "futures", "wait": "futures",
    "as_completed": "futures",
    "ThreadPoolTaskRunner": "task_runners",
    "State": "sdk_states",
    "CachePolicy": "caching", "INPUTS": "caching", "TASK_SOURCE": "caching",
    "FLOW_PARAMETERS": "caching", "RUN_ID": "caching", "NO_CACHE": "caching",
    "DEFAULT": "caching", "task_input_hash": "caching",
    "exponential_backoff": "retries",
    "Variable": "flow_variables",
    "concurrency": "global_concurrency", "rate_limit": "global_concurrency",
    "create_markdown_artifact": "artifacts", "create_table_artifact": "artifacts",
    "create_link_artifact": "artifacts", "create_image_artifact": "artifacts",
    "create_progress_artifact": "artifacts", "update_progress_artifact": "artifacts",
    "LocalReporter": "local_reporter",
    "run_flow": "flow_engine",
}

__all__ = ["Flow", "flow", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
