"""The `@flow` decorator.

Calling a flow runs it as a flow run: called directly, a root run reporting to a
`LocalReporter` (its run-logger lines echoed on stderr); called inside another flow run (or
a task), a child run of it, in the same process. Its value is the function's return value,
and its error is raised, as for a plain call; `return_state=True` gives the final State.

`deploy` reads `name` (the function's name with `_` turned into `-`), `description` (the
docstring), `version`, `retries`, `retry_delay_seconds` and `timeout_seconds`: for a
deployed run, retries and the timeout are applied by the scheduler and the worker.

Accepted and ignored (results are not persisted): `persist_result`, `result_storage`,
`result_serializer`, `cache_result_in_memory`.
"""
from __future__ import annotations

import functools

_IGNORED = ("persist_result", "result_storage", "result_serializer", "cache_result_in_memory")


class Flow:
    """A function marked as a flow, with the options that deployments and runs use."""

    def __init__(self, fn, name=None, description=None, version=None, flow_run_name=None,
                 retries=0, retry_delay_seconds=0, timeout_seconds=None, log_prints=None,
                 validate_parameters=True, task_runner=None, on_completion=None,
                 on_failure=None, on_cancellation=None, on_crashed=None, on_running=None,
                 **ignored):
        # every option as given, what with_options() starts from
        self._options = {key: value for key, value in locals().items()
                         if key not in ("self", "fn", "ignored")} | ignored
        import inspect  # here, not at the top: `import orchestrator` stays a few milliseconds

        if not callable(fn):
            raise TypeError("@flow decorates a function")
        unknown = sorted(set(ignored) - set(_IGNORED))
        if unknown:
            raise TypeError(f"@flow got unknown option(s): {', '.join(unknown)}")
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        self.description = description or inspect.getdoc(fn)
        self.version = version
        self.flow_run_name = flow_run_name
        self.retries = retries or 0
        self.retry_delay_seconds = retry_delay_seconds or 0
        self.timeout_seconds = timeout_seconds
        self.log_prints = log_prints
        self.should_validate_parameters = validate_parameters
        self.task_runner = task_runner() if isinstance(task_runner, type) else task_runner
        self.hooks = {"Completed": on_completion, "Failed": on_failure,
                      "Cancelled": on_cancellation, "Crashed": on_crashed, "Running": on_running}
        self.isasync = inspect.iscoroutinefunction(fn)
        self._signature = None
        functools.update_wrapper(self, fn)

    @property
    def signature(self):
        if self._signature is None:
            import inspect

            self._signature = inspect.signature(self.fn)
        return self._signature

    def __call__(self, *args, return_state=False, **kwargs):
        """Run the flow as a flow run; an async flow gives a coroutine."""
        from .sdk import flow_engine

        if self.isasync:
            return flow_engine.call_flow_async(self, args, kwargs, return_state)
        return flow_engine.call_flow(self, args, kwargs, return_state)

    def with_options(self, **options) -> "Flow":
        """A copy of this flow with some options changed."""
        return type(self)(self.fn, **{**self._options, **options})

    def validate_parameters(self, parameters: dict) -> dict:
        """`parameters` checked against the signature and coerced to its types
        (InvalidInput naming each parameter that does not fit)."""
        from .parameters import coerce_parameters

        return coerce_parameters(self.fn, parameters)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r}, fn={self.fn.__qualname__})"

    # Prefect's ways of deploying a flow from its own code: flowpool deploys with its CLI.

    def serve(self, *args, **kwargs):
        raise _not_supported("Flow.serve is not supported by flowpool "
                                     "(deploy with `flowpool deploy FILE:FUNCTION`)")

    def deploy(self, *args, **kwargs):
        raise _not_supported("Flow.deploy is not supported by flowpool "
                                     "(deploy with `flowpool deploy FILE:FUNCTION`)")

    def to_deployment(self, *args, **kwargs):
        raise _not_supported("Flow.to_deployment is not supported by flowpool "
                                     "(deploy with `flowpool deploy FILE:FUNCTION`)")

    @classmethod
    def from_source(cls, *args, **kwargs):
        raise _not_supported("Flow.from_source is not supported by flowpool (give "
                                     "the flow's source as pull steps in flowpool.yaml)")

    def visualize(self, *args, **kwargs):
        raise _not_supported("Flow.visualize is not supported by flowpool")


def _not_supported(message: str) -> Exception:
    from .errors import PrefectApiNotSupported

    return PrefectApiNotSupported(message)


def flow(fn=None, **options):
    """Mark a function as a flow: `@flow` or `@flow(name=..., retries=..., ...)`."""
    if fn is None:
        return lambda f: Flow(f, **options)
    return Flow(fn, **options)
