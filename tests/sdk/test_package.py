"""The SDK's names, as `from orchestrator import ...` gives them."""
import importlib
import types

import orchestrator


def test_every_lazy_name_is_the_object_not_a_module_of_the_same_name():
    for module in ("tasks", "futures", "run_logging", "global_concurrency", "caching",
                   "flow_variables", "artifacts", "task_runners", "flow_engine", "runtime"):
        importlib.import_module(f"orchestrator.sdk.{module}")  # as a run would, in any order
    for name in orchestrator._LAZY:
        assert not isinstance(getattr(orchestrator, name), types.ModuleType), name


def test_runtime_is_the_runtime_module():
    from orchestrator import runtime
    from orchestrator.sdk import runtime as sdk_runtime

    assert runtime is sdk_runtime and runtime.flow_run.id is None
