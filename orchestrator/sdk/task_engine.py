"""Running a task as a task run: prepare (wait for upstream futures, name the run, look in
the cache), attempt (with a timeout), retry while the policy says so, finish (cache the
result, record the final state, run the hooks).

The sync and async paths share every step but the call itself and the wait between
attempts. A run's state changes go to the session's report buffer; nothing here does I/O
on the hot path but through the reporter (and only for the cache).
"""
from __future__ import annotations

import functools
import inspect
import time
import uuid
from typing import Any, NamedTuple

from .caching import DEFAULT, CacheKeyFnPolicy, CachePolicy, NoCache
from ..errors import RunTimeoutError, UpstreamTaskError
from .futures import TaskRunFuture, TaskRunFutureList, collect_futures, resolve_futures
from .live_runs import TaskRun
from .retries import delay_list, retry_delay_s
from .run_context import (FlowRunContext, TaskRunContext, current_run_context, flow_run_context,
                          tags_context, task_run_context)
from .run_logging import capture_prints, run_logger, user_traceback
from .states import AwaitingRetry, Completed, Failed, Pending, Retrying, Running, State
from .states import error_message
from ..states import StateType


class TaskSettings(NamedTuple):
    """What a task's options mean for its runs, worked out once per task."""

    cache_policy: CachePolicy | None
    delays: float | list[float]
    cache_expiration_s: float | None


def settings_of(task: Any) -> TaskSettings:
    if task._settings is None:
        expiration = task.cache_expiration
        if expiration is not None and hasattr(expiration, "total_seconds"):
            expiration = expiration.total_seconds()
        task._settings = TaskSettings(cache_policy_of(task),
                                      delay_list(task.retry_delay_seconds, task.retries),
                                      expiration)
    return task._settings


def cache_policy_of(task: Any) -> CachePolicy | None:
    """`cache_key_fn` wins; else `cache_policy`; else the default policy when results are
    persisted (`persist_result=True`); else none."""
    if task.cache_key_fn is not None:
        return CacheKeyFnPolicy(task.cache_key_fn)
    if task.cache_policy is not None:
        return None if isinstance(task.cache_policy, NoCache) else task.cache_policy
    return DEFAULT if task.persist_result else None


# Entry points: a call, an async call, .submit() and .map()

def call_task(task: Any, args: tuple, kwargs: dict, return_state: bool, wait_for: Any) -> Any:
    flow_context = flow_run_context.get()
    if flow_context is None:
        return _plain_call(task, args, kwargs, return_state)
    arguments = bind_arguments(task, args, kwargs)
    run = new_task_run(task, flow_context)
    state = run_task(task, run, flow_context, arguments, wait_for)
    return state if return_state else state.result()


async def call_task_async(task: Any, args: tuple, kwargs: dict, return_state: bool,
                          wait_for: Any) -> Any:
    flow_context = flow_run_context.get()
    if flow_context is None:
        result = await task.fn(*args, **kwargs)
        return Completed(result) if return_state else result
    arguments = bind_arguments(task, args, kwargs)
    run = new_task_run(task, flow_context)
    state = await run_task_async(task, run, flow_context, arguments, wait_for)
    return state if return_state else state.result()


def submit_task(task: Any, args: tuple, kwargs: dict, return_state: bool,
                wait_for: Any) -> Any:
    arguments = bind_arguments(task, args, kwargs)
    future = _submit(task, arguments, wait_for, flow_run_context.get())
    if return_state:
        future.wait()
        return future.state
    return future


def map_task(task: Any, args: tuple, kwargs: dict, wait_for: Any) -> TaskRunFutureList:
    from .mapping import mapped_arguments

    arguments = bind_arguments(task, args, kwargs)
    flow_context = flow_run_context.get()
    return TaskRunFutureList(_submit(task, call_arguments, wait_for, flow_context)
                             for call_arguments in mapped_arguments(arguments))


def _submit(task: Any, arguments: dict, wait_for: Any,
            flow_context: FlowRunContext | None) -> TaskRunFuture:
    if flow_context is None:
        return _outside_runner().submit(functools.partial(_plain_state, task, arguments),
                                        collect_futures(arguments))
    run = new_task_run(task, flow_context)
    run.set_state(Pending())
    work = functools.partial(_run_submitted, task, run, flow_context, arguments, wait_for)
    dependencies = collect_futures(arguments, collect_futures(wait_for))
    return task_runner_of(flow_context).submit(work, dependencies, run)


def _run_submitted(task: Any, run: TaskRun, flow_context: FlowRunContext, arguments: dict,
                   wait_for: Any) -> State:
    if task.isasync:  # a pool thread has no event loop: the task gets one of its own
        import asyncio

        return asyncio.run(run_task_async(task, run, flow_context, arguments, wait_for))
    return run_task(task, run, flow_context, arguments, wait_for)


# A task run, sync and async

def run_task(task: Any, run: TaskRun, flow_context: FlowRunContext, arguments: dict,
             wait_for: Any) -> State:
    context = TaskRunContext(task, run, flow_context, _log_prints(task))
    token = task_run_context.set(context)
    try:
        state = prepare(task, run, context, arguments, wait_for)
        while state is None:
            state = attempt_outcome(_call_sync(task, run, context, arguments))
            delay_s = next_retry_delay_s(task, run, context, state)
            if delay_s is not None:
                _await_retry(run, state)
                time.sleep(delay_s)
                state = None
        return finish(task, run, context, state)
    except BaseException as exc:
        _interrupted(run, context, exc)
        raise
    finally:
        task_run_context.reset(token)


async def run_task_async(task: Any, run: TaskRun, flow_context: FlowRunContext,
                         arguments: dict, wait_for: Any) -> State:
    import asyncio

    context = TaskRunContext(task, run, flow_context, _log_prints(task))
    token = task_run_context.set(context)
    try:
        state = prepare(task, run, context, arguments, wait_for)
        while state is None:
            outcome = await _call_async(task, run, context, arguments)
            state = attempt_outcome(outcome)
            delay_s = next_retry_delay_s(task, run, context, state)
            if delay_s is not None:
                _await_retry(run, state)
                await asyncio.sleep(delay_s)
                state = None
        return finish(task, run, context, state)
    except BaseException as exc:
        _interrupted(run, context, exc)
        raise
    finally:
        task_run_context.reset(token)


def _call_sync(task: Any, run: TaskRun, context: TaskRunContext, arguments: dict) -> Any:
    args, kwargs = _start_attempt(task, run, context, arguments)
    try:
        if task.timeout_seconds:
            from .timeouts import call_with_timeout

            call = functools.partial(task.fn, *args, **kwargs)
            return call_with_timeout(call, task.timeout_seconds, f"task run {run.name!r}")
        return task.fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the attempt's failure, judged by attempt_outcome
        return _Failure(exc)


async def _call_async(task: Any, run: TaskRun, context: TaskRunContext, arguments: dict) -> Any:
    args, kwargs = _start_attempt(task, run, context, arguments)
    try:
        if task.timeout_seconds:
            from .timeouts import await_with_timeout

            return await await_with_timeout(task.fn(*args, **kwargs), task.timeout_seconds,
                                            f"task run {run.name!r}")
        return await task.fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the attempt's failure, judged by attempt_outcome
        return _Failure(exc)


class _Failure(NamedTuple):
    error: Exception


# The steps

def prepare(task: Any, run: TaskRun, context: TaskRunContext, arguments: dict,
            wait_for: Any) -> State | None:
    """Wait for upstream futures and resolve them, name the run, look in the cache. A state
    when the run is over already (cached, or an upstream task failed), else None."""
    try:
        if wait_for:
            resolve_futures(wait_for)
        for name, value in arguments.items():
            arguments[name] = resolve_futures(value)
    except UpstreamTaskError as exc:
        return Pending(message=str(exc), name="NotReady")
    run.parameters = arguments
    run.name = task_run_name(task, run, arguments)
    if settings_of(task).cache_policy is not None:
        return _cached_state(task, run, context, arguments)
    return None


def _start_attempt(task: Any, run: TaskRun, context: TaskRunContext,
                   arguments: dict) -> tuple[tuple, dict]:
    run.attempt += 1
    run.set_state(Running() if run.attempt == 1 else Retrying())
    if run.attempt == 1 and task.on_running_hooks:
        from .hooks import run_hooks

        run_hooks(task.on_running_hooks, (task, run, run.state), run_logger(context), "Running")
    bound = inspect.BoundArguments(task.signature, arguments)
    return bound.args, bound.kwargs


def attempt_outcome(outcome: Any) -> State:
    """The state an attempt ends in: its returned State, Completed, Failed or TimedOut."""
    if isinstance(outcome, _Failure):
        error = outcome.error
        name = "TimedOut" if isinstance(error, RunTimeoutError) else "Failed"
        return State(StateType.FAILED, name, error_message(error), error)
    if isinstance(outcome, State):
        return outcome
    return Completed(outcome)


def next_retry_delay_s(task: Any, run: TaskRun, context: TaskRunContext,
                       state: State) -> float | None:
    """Seconds to wait before the next attempt, or None when there is none."""
    if not state.is_failed() or run.attempt > task.retries:
        return None
    if task.retry_condition_fn is not None and not _retry_allowed(task, run, context, state):
        return None
    delay_s = retry_delay_s(settings_of(task).delays, run.attempt, task.retry_jitter_factor)
    run_logger(context).warning(
        "Task run failed with exception: %s - Retry %d/%d will start %s second(s) from now",
        state.message, run.attempt, task.retries, round(delay_s, 3))
    return delay_s


def _retry_allowed(task: Any, run: TaskRun, context: TaskRunContext, state: State) -> bool:
    try:
        return bool(task.retry_condition_fn(task, run, state))
    except Exception:  # noqa: BLE001 - a broken condition means: do not retry
        run_logger(context).exception("retry_condition_fn of task %r failed; not retrying",
                                      task.name)
        return False


def _await_retry(run: TaskRun, failed: State) -> None:
    run.set_state(AwaitingRetry(message=failed.message))


def finish(task: Any, run: TaskRun, context: TaskRunContext, state: State) -> State:
    """Cache a new result, record the final state, log a failure, run the hooks."""
    if state.is_completed() and run.cache_key is not None and not run.cache_hit:
        _write_cache(task, run, context, state.data)
    if state.is_failed() and isinstance(state.data, BaseException):
        run.error = user_traceback(state.data)
        run_logger(context).error("Task run failed with exception: %s - Retries are exhausted\n%s",
                                  state.message, run.error)
    run.set_state(state)
    context.session.open_runs.pop(run.id, None)  # over, even when NotReady (not final)
    hooks = task.on_completion_hooks if state.is_completed() else \
        task.on_failure_hooks if state.is_failed() else ()
    if hooks:
        from .hooks import run_hooks

        run_hooks(hooks, (task, run, state), run_logger(context), state.name)
    return state


def _interrupted(run: TaskRun, context: TaskRunContext, exc: BaseException) -> None:
    """An exception escaped the task run's own handling: an error of flowpool's steps (a
    task_run_name that does not format) fails it; a BaseException (the run being stopped,
    Ctrl-C) cancels or crashes it."""
    if run.state is not None and run.state.is_final():
        return
    if isinstance(exc, Exception):
        run.set_state(Failed(exc, error_message(exc)))
    else:
        run.set_state(context.session.interrupted_state(f"interrupted by {type(exc).__name__}"))


# Naming, caching, context

def task_run_name(task: Any, run: TaskRun, arguments: dict) -> str:
    template = task.task_run_name
    if template is None:
        return f"{task.name}-{run.id[:3]}"
    if callable(template):
        return str(template(arguments) if _takes_parameters(template) else template())
    return template.format(**arguments)


@functools.lru_cache(maxsize=256)
def _takes_parameters(fn: Any) -> bool:
    try:
        return "parameters" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _cached_state(task: Any, run: TaskRun, context: TaskRunContext,
                  arguments: dict) -> State | None:
    key = _cache_key(task, run, context, arguments)
    run.cache_key = key
    if key is None or task.refresh_cache:
        return None
    entry = context.session.reporter.read_cache(key)
    if entry is None or (entry.expires_at is not None and entry.expires_at <= time.time()):
        return None
    run.cache_hit = True
    return Completed(entry.value, name="Cached")


def _cache_key(task: Any, run: TaskRun, context: TaskRunContext, arguments: dict) -> str | None:
    policy = settings_of(task).cache_policy
    flow_parameters = context.flow_context.run.parameters
    try:
        key = policy.compute_key(context, arguments, flow_parameters)
    except Exception:  # noqa: BLE001 - a broken key function means: run uncached
        run_logger(context).exception("the cache key of task run %r could not be computed; "
                                      "running it uncached", run.name)
        return None
    if key is None:
        return None
    # A policy's key is the task's own; a cache_key_fn's is shared by whoever returns it.
    return key if isinstance(policy, CacheKeyFnPolicy) else f"{task.task_key}:{key}"


def _write_cache(task: Any, run: TaskRun, context: TaskRunContext, value: Any) -> None:
    expiration_s = settings_of(task).cache_expiration_s
    expires_at = time.time() + expiration_s if expiration_s is not None else None
    if not context.session.reporter.write_cache(run.cache_key, value, expires_at):
        run_logger(context).warning("the result of task run %r was not cached: a %s cannot "
                                    "be stored", run.name, type(value).__name__)


def new_task_run(task: Any, flow_context: FlowRunContext) -> TaskRun:
    check_flow_deadline(flow_context)
    tags = task.tags + tuple(t for t in tags_context.get() if t not in task.tags)
    return TaskRun(flow_context.session, str(uuid.uuid4()), task.name, task.task_key,
                   flow_context.run.id, tags)


def check_flow_deadline(flow_context: FlowRunContext) -> None:
    """A flow run past its timeout stops at its next task (the flow's code cannot be
    interrupted safely in between)."""
    if flow_context.deadline is not None and time.monotonic() > flow_context.deadline:
        raise RunTimeoutError(f"flow run {flow_context.run.name!r} exceeded its timeout of "
                              f"{flow_context.flow.timeout_seconds} s")


def bind_arguments(task: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults filled in (TypeError as for a plain
    call when they do not fit the signature)."""
    bound = task.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def task_runner_of(flow_context: FlowRunContext) -> Any:
    if flow_context.task_runner is None:
        from .task_runners import ThreadPoolTaskRunner

        configured = flow_context.flow.task_runner
        flow_context.task_runner = configured.duplicate() if configured is not None \
            else ThreadPoolTaskRunner()
    return flow_context.task_runner


def _log_prints(task: Any) -> bool:
    log_prints = task.log_prints
    if log_prints is None:  # inherited from the run it is called in
        parent = current_run_context()
        log_prints = bool(parent and parent.log_prints)
    if log_prints:
        capture_prints()
    return log_prints


# Outside any flow run a task is its plain function.

def _plain_call(task: Any, args: tuple, kwargs: dict, return_state: bool) -> Any:
    if not return_state:
        return task.fn(*args, **kwargs)
    try:
        return Completed(task.fn(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - returned as the state asked for
        return Failed(exc, error_message(exc))


def _plain_state(task: Any, arguments: dict) -> State:
    """A task submitted outside any flow run: its function's outcome as a state."""
    try:
        bound = inspect.BoundArguments(task.signature, resolve_futures(arguments))
        result = task.fn(*bound.args, **bound.kwargs)
        if task.isasync:
            import asyncio

            result = asyncio.run(result)
        return Completed(result)
    except Exception as exc:  # noqa: BLE001 - the future's failed state
        return Failed(exc, error_message(exc))


_outside = None


def _outside_runner() -> Any:
    """The process-wide pool of tasks submitted outside any flow run."""
    global _outside
    if _outside is None:
        from .task_runners import ThreadPoolTaskRunner

        _outside = ThreadPoolTaskRunner()
    return _outside
