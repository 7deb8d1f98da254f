"""Watching a launched run: heartbeat lease, cancel requests, timeout, and self-fencing.

The flow runs in another process, so this loop (in the worker's task) cannot be starved by
user code. Every `heartbeat_interval_s` it renews the run's lease in Redis and asks the API
whether the run is still this attempt's; it checks for a cancel request twice a second. The
engine reports its final state before its process exits, so the API may show it first: that
process is let exit, never stopped as if the run had been taken from it.
"""
from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

from orchestrator.leases import cancel_requested, renew_lease
from orchestrator.models import ClaimedRun, FlowRun
from orchestrator.states import FINAL_STATES, StateType

from .context import WorkerContext
from .infrastructure import Handle

log = logging.getLogger("flowpool.worker")
POLL_INTERVAL_S = 0.5


class Ending(str, enum.Enum):
    EXITED = "exited"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed out"
    FENCED = "no longer this attempt's"
    EXITING = "reported its final state"  # only on the way: the process is let exit


@dataclass(frozen=True)
class Outcome:
    ending: Ending
    exit_code: int | None


def supervise(handle: Handle, claimed: ClaimedRun, token: str, ctx: WorkerContext) -> Outcome:
    run = claimed.flow_run
    started = time.monotonic()
    next_beat = started + ctx.heartbeat_interval_s  # execute() renewed the lease at launch
    while True:
        code = handle.poll(POLL_INTERVAL_S)
        if code is not None:
            return Outcome(Ending.EXITED, code)
        now = time.monotonic()
        if now >= next_beat:
            next_beat = now + ctx.heartbeat_interval_s
            ending = _beat(claimed, token, ctx)
        else:
            ending = Ending.CANCELLED if _cancel_flag(ctx, run.id) else None
        if ending is Ending.EXITING:
            return Outcome(Ending.EXITED, _let_exit(handle, run.id, ctx.cancel_grace_s))
        if ending is None and run.timeout_seconds and now - started > run.timeout_seconds:
            ending = Ending.TIMED_OUT
        if ending is not None:
            log.info("run %s: %s; stopping its infrastructure", run.id, ending.value)
            return Outcome(ending, handle.stop(ctx.cancel_grace_s))


def keep_lease(ctx: WorkerContext, run_id: str, token: str) -> None:
    """Renew the run's lease; if Redis is away (restarting, say) the run goes on: the reaper
    waits a full lease period after an outage, and the next beat renews it."""
    try:
        renew_lease(ctx.redis, run_id, token, ctx.crash_after_s)
    except Exception as exc:
        log.warning("run %s: could not renew its lease: %s", run_id, exc)


def _beat(claimed: ClaimedRun, token: str, ctx: WorkerContext) -> Ending | None:
    """Renew the lease; read the run's state, which is the truth about cancellation."""
    run_id = claimed.flow_run.id
    keep_lease(ctx, run_id, token)
    try:
        current = ctx.beat_client.read_flow_run(run_id)
    except Exception as exc:
        log.warning("run %s: could not read its state: %s", run_id, exc)
        return None
    return judge(current, token)


def judge(current: FlowRun, token: str) -> Ending | None:
    """What the run's state, read back from the API, means for this attempt's process.

    A final state under this attempt's token was reported by the attempt itself (or the
    server found it crashed): the run is over and its process is exiting, not stolen. Only
    another token, or a state the attempt never leaves RUNNING for, means someone else owns
    the run now. (A failure with retries left reads as AwaitingRetry, not FAILED: that
    process is stopped, harmlessly, as the engine ignores SIGTERM once its flow is over.)"""
    if current.dispatch_token != token:
        return Ending.FENCED
    if current.state_type in FINAL_STATES:
        return Ending.EXITING
    if current.state_type is StateType.CANCELLING:
        return Ending.CANCELLED
    if current.state_type is not StateType.RUNNING:
        return Ending.FENCED
    return None


def _let_exit(handle: Handle, run_id: str, grace_s: float) -> int:
    """Wait for an attempt's process that reported its end to exit; kill it (no SIGTERM:
    there is no flow left to stop) if it lingers past the grace."""
    log.info("run %s: %s; waiting for its process to exit", run_id, Ending.EXITING.value)
    code = handle.poll(grace_s)
    if code is None:
        log.warning("run %s: still running %gs after reporting its final state; killing it",
                    run_id, grace_s)
        code = handle.stop(0)
    return code


def _cancel_flag(ctx: WorkerContext, run_id: str) -> bool:
    try:
        return cancel_requested(ctx.redis, run_id)
    except Exception:
        return False
