"""Running a flow as a flow run: a root run (called directly, or by the engine through
`run_flow`) or a child run of the flow run it is called in.

A run: check and coerce its parameters, enter RUNNING, call the function (with the flow's
timeout), wait for the tasks it submitted, retry while retries are left (children and direct
calls only: a deployed run's retries are the scheduler's), then record the final state and
run the hooks. An exception fails the run; a BaseException going through it (the engine's
stop signal, Ctrl-C) ends it CANCELLED when its session was asked to cancel, else CRASHED,
and goes on up.
"""
from __future__ import annotations

import inspect
import sys
import time
import uuid
from typing import Any

from ..errors import FlowExited, FlowpoolError, RunTimeoutError, UpstreamTaskError
from .futures import resolve_futures
from .live_runs import DeploymentInfo, FlowRun
from .retries import delay_list, retry_delay_s
from .run_context import (FlowRunContext, current_run_context, direct_call_reporter,
                          flow_run_context, tags_context, task_run_context)
from .run_logging import capture_prints, run_logger, user_traceback
from .run_names import random_run_name
from .run_session import RunSession
from .states import AwaitingRetry, Completed, Failed, Retrying, Running, State
from .states import error_message
from ..states import StateType


# Entry points

def call_flow(flow: Any, args: tuple, kwargs: dict, return_state: bool) -> Any:
    """`flow(...)`: a root run when called directly, else a child of the current run."""
    arguments = bind_parameters(flow, args, kwargs)
    parent = flow_run_context.get()
    if parent is None:
        session = _direct_call_session()
        try:
            state = execute(flow, new_flow_run(flow, session, arguments), arguments, True)
        finally:
            session.close()
    else:
        state = execute(flow, new_child_run(flow, parent, arguments), arguments, True)
    return state if return_state else state.result()


async def call_flow_async(flow: Any, args: tuple, kwargs: dict, return_state: bool) -> Any:
    arguments = bind_parameters(flow, args, kwargs)
    parent = flow_run_context.get()
    if parent is None:
        session = _direct_call_session()
        try:
            run = new_flow_run(flow, session, arguments)
            state = await execute_async(flow, run, arguments, True)
        finally:
            session.close()
    else:
        state = await execute_async(flow, new_child_run(flow, parent, arguments), arguments, True)
    return state if return_state else state.result()


def run_flow(flow: Any, parameters: dict[str, Any], *, session: RunSession | None = None,
             reporter: Any = None, flow_run_id: str | None = None,
             flow_run_name: str | None = None, tags: tuple[str, ...] = (),
             scheduled_start_time: Any = None, deployment: DeploymentInfo | None = None,
             attempt: int = 1, retries_in_process: bool = False) -> State:
    """Run `flow` as the root run `flow_run_id` of a deployed run, reporting to `session`
    (or a new one for `reporter`); its final State. An async flow runs in a new event loop.
    The engine reports the root run's final state itself and leaves retries to the scheduler
    (`retries_in_process=False`)."""
    session = session or RunSession(reporter)
    try:
        arguments = bind_parameters(flow, (), parameters)
    except TypeError as exc:
        return Failed(exc, f"the parameters do not fit the flow: {exc}")
    run = new_flow_run(flow, session, arguments, flow_run_id=flow_run_id, name=flow_run_name,
                       tags=tags, scheduled_start_time=scheduled_start_time,
                       deployment=deployment, attempt=attempt)
    try:
        if flow.isasync:
            import asyncio

            return asyncio.run(execute_async(flow, run, arguments, retries_in_process))
        return execute(flow, run, arguments, retries_in_process)
    finally:
        session.close()


def _direct_call_session() -> RunSession:
    reporter = direct_call_reporter.get()
    if reporter is None:
        from .local_reporter import LocalReporter

        reporter = LocalReporter(console=sys.stderr)
    return RunSession(reporter)


# A flow run, sync and async

def execute(flow: Any, run: FlowRun, arguments: dict, retries_in_process: bool) -> State:
    state = check_parameters(flow, run, arguments)
    if state is not None:
        return state
    context = _enter(flow, run)
    token = flow_run_context.set(context)
    try:
        while True:
            state = _attempt_sync(flow, run, context, arguments)
            delay_s = _retry_delay_s(flow, run, context, state, retries_in_process)
            if delay_s is None:
                return finish(flow, run, context, state)
            time.sleep(delay_s)
    except BaseException as exc:
        _interrupted(flow, run, context, exc)
        raise
    finally:
        flow_run_context.reset(token)


async def execute_async(flow: Any, run: FlowRun, arguments: dict,
                        retries_in_process: bool) -> State:
    import asyncio

    state = check_parameters(flow, run, arguments)
    if state is not None:
        return state
    context = _enter(flow, run)
    token = flow_run_context.set(context)
    try:
        while True:
            state = await _attempt_async(flow, run, context, arguments)
            delay_s = _retry_delay_s(flow, run, context, state, retries_in_process)
            if delay_s is None:
                return finish(flow, run, context, state)
            await asyncio.sleep(delay_s)
    except BaseException as exc:
        _interrupted(flow, run, context, exc)
        raise
    finally:
        flow_run_context.reset(token)


def _attempt_sync(flow: Any, run: FlowRun, context: FlowRunContext, arguments: dict) -> State:
    args, kwargs = _start_attempt(flow, run, context, arguments)
    try:
        outcome = flow.fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the attempt's failure
        outcome = _Failure(exc)
    except SystemExit as exc:
        outcome = _exit_outcome(run, exc)
    return _outcome_state(flow, run, context, outcome)


async def _attempt_async(flow: Any, run: FlowRun, context: FlowRunContext,
                         arguments: dict) -> State:
    from .timeouts import await_with_timeout

    args, kwargs = _start_attempt(flow, run, context, arguments)
    try:
        if flow.timeout_seconds:
            outcome = await await_with_timeout(flow.fn(*args, **kwargs), flow.timeout_seconds,
                                               f"flow run {run.name!r}")
        else:
            outcome = await flow.fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the attempt's failure
        outcome = _Failure(exc)
    except SystemExit as exc:
        outcome = _exit_outcome(run, exc)
    return _outcome_state(flow, run, context, outcome)


def _exit_outcome(run: FlowRun, exc: SystemExit) -> Any:
    """`sys.exit()` in the flow of a deployed run ends the run as it would end a script: code
    0 (or none) completes it, without a result; any other code fails it. In a flow called
    from a program, or in a child flow, the exit goes on up, as it would without flowpool."""
    if run.deployment is None or run.parent_flow_run_id is not None:
        raise exc
    if exc.code in (None, 0):
        return None
    return _Failure(FlowExited(f"the flow called sys.exit({exc.code!r})"))


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: Exception):
        self.error = error


# The steps

def check_parameters(flow: Any, run: FlowRun, arguments: dict) -> State | None:
    """Coerce the arguments to the signature's types (in place); a Failed state, already
    recorded, when they do not fit."""
    if not flow.should_validate_parameters:
        return None
    from .flow_parameters import coerce_arguments

    try:
        coerce_arguments(flow, arguments)
    except FlowpoolError as exc:
        state = Failed(exc, f"Validation of flow parameters failed: {exc}")
        run.set_state(state)
        return state
    return None


def _enter(flow: Any, run: FlowRun) -> FlowRunContext:
    log_prints = flow.log_prints
    if log_prints is None:  # inherited from the run it is called in
        parent = current_run_context()
        log_prints = bool(parent and parent.log_prints)
    if log_prints:
        capture_prints()
    return FlowRunContext(flow, run, run.session, log_prints, flow.timeout_seconds)


def _start_attempt(flow: Any, run: FlowRun, context: FlowRunContext,
                   arguments: dict) -> tuple[tuple, dict]:
    first = run.state is None or run.state.type is not StateType.SCHEDULED
    if not first:
        run.attempt += 1
    run.set_state(Running() if first else Retrying())
    if flow.timeout_seconds:
        context.deadline = time.monotonic() + flow.timeout_seconds
    if first and flow.hooks["Running"]:
        _run_hooks(flow, run, context, "Running")
    bound = inspect.BoundArguments(flow.signature, arguments)
    return bound.args, bound.kwargs


def _outcome_state(flow: Any, run: FlowRun, context: FlowRunContext, outcome: Any) -> State:
    """Wait for the tasks the attempt submitted, then judge it: its returned State, its
    result (futures in it resolved), Failed, or TimedOut when past its deadline."""
    if context.task_runner is not None:
        context.task_runner.shutdown()
        context.task_runner = None
    if isinstance(outcome, _Failure):
        return _failed(outcome.error)
    if context.deadline is not None and time.monotonic() > context.deadline:
        error = RunTimeoutError(f"flow run {run.name!r} exceeded its timeout of "
                                f"{flow.timeout_seconds} s")
        return State(StateType.FAILED, "TimedOut", error_message(error), error)
    if isinstance(outcome, State):
        return outcome
    try:
        return Completed(resolve_futures(outcome))
    except UpstreamTaskError as exc:
        return _failed(exc)


def _failed(error: Exception) -> State:
    name = "TimedOut" if isinstance(error, RunTimeoutError) else "Failed"
    return State(StateType.FAILED, name, error_message(error), error)


def _retry_delay_s(flow: Any, run: FlowRun, context: FlowRunContext, state: State,
                   retries_in_process: bool) -> float | None:
    if not (retries_in_process and state.is_failed() and run.attempt <= flow.retries):
        return None
    delays = delay_list(flow.retry_delay_seconds, flow.retries)
    delay_s = retry_delay_s(delays, run.attempt)
    run_logger(context).warning("Flow run failed: %s - Retry %d/%d will start %s second(s) "
                                "from now", state.message, run.attempt, flow.retries, delay_s)
    run.set_state(AwaitingRetry(message=state.message))
    return delay_s


def finish(flow: Any, run: FlowRun, context: FlowRunContext, state: State) -> State:
    """Record the final state, log how the run ended, run the hooks of that state."""
    logger = run_logger(context)
    if state.is_failed() and isinstance(state.data, BaseException):
        logger.error("Flow run failed: %s\n%s", state.message, user_traceback(state.data))
    logger.info("Finished in state %s", state)
    run.set_state(state)
    _run_hooks(flow, run, context, _hook_kind(state))
    return state


def _interrupted(flow: Any, run: FlowRun, context: FlowRunContext, exc: BaseException) -> None:
    """A BaseException (or an error of flowpool's own steps) went through the run."""
    if run.state is not None and run.state.is_final():
        return
    if isinstance(exc, Exception):
        state = Failed(exc, error_message(exc))
    else:
        state = context.session.interrupted_state(f"interrupted by {type(exc).__name__}")
    run.set_state(state)
    _run_hooks(flow, run, context, _hook_kind(state))


def _hook_kind(state: State) -> str:
    return {StateType.COMPLETED: "Completed", StateType.FAILED: "Failed",
            StateType.CANCELLED: "Cancelled", StateType.CRASHED: "Crashed"}.get(state.type, "")


def _run_hooks(flow: Any, run: FlowRun, context: FlowRunContext, kind: str) -> None:
    from .hooks import as_hook_list, run_hooks

    hooks = as_hook_list(flow.hooks.get(kind), f"on_{kind.lower()}")
    if hooks:
        run_hooks(hooks, (flow, run, run.state), run_logger(context), run.state.name)


# New runs

def bind_parameters(flow: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults filled in (TypeError as for a plain
    call when they do not fit the signature)."""
    bound = flow.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def new_flow_run(flow: Any, session: RunSession, arguments: dict, *, flow_run_id: str | None = None,
                 name: str | None = None, tags: tuple[str, ...] = (), parent: FlowRun | None = None,
                 parent_task_run_id: str | None = None, **facts: Any) -> FlowRun:
    run_tags = tuple(dict.fromkeys(tags + tags_context.get()))
    return FlowRun(session, flow_run_id or str(uuid.uuid4()),
                   name or flow_run_name(flow, arguments), flow.name, arguments, run_tags,
                   parent_flow_run_id=parent.id if parent else None,
                   parent_task_run_id=parent_task_run_id, **facts)


def new_child_run(flow: Any, parent: FlowRunContext, arguments: dict) -> FlowRun:
    from .task_engine import check_flow_deadline

    check_flow_deadline(parent)
    calling_task = task_run_context.get()
    return new_flow_run(flow, parent.session, arguments, parent=parent.run,
                        parent_task_run_id=calling_task.run.id if calling_task else None)


def flow_run_name(flow: Any, arguments: dict) -> str:
    template = flow.flow_run_name
    if template is None:
        return random_run_name()
    if callable(template):
        from .task_engine import _takes_parameters

        return str(template(arguments) if _takes_parameters(template) else template())
    return template.format(**arguments)
