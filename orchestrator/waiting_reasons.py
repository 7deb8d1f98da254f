"""Why a run has not started: Late, and a machine-readable waiting reason. Pure functions of
the run, a snapshot of what blocks dispatch, and `now`; computed when a run is read, never
stored, so they are always current and cost no writes.

Late is a SCHEDULED run still not dispatched `late_after_s` after its scheduled time. The
reason is the first that applies, checked in the order the dispatcher would be stopped by
them: not due yet; the broker not answering; no scheduler running; pool or queue paused; no
worker online for its queue; the deployment's, the pool's or the queue's concurrency limit
full; every slot of the online workers taken; else it is due and goes out on the
scheduler's next pass. A PENDING run waits for a worker to claim it, or for the broker.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .admission import Limits, Usage, WorkerCapacity, is_full
from .models.flow_runs import FlowRun, WaitingCode, WaitingReason
from .states import AWAITING_RETRY, StateType



@dataclass(frozen=True)
class DispatchSnapshot:
    """What can hold a due run back, read once for a whole listing."""

    paused_pools: frozenset[str]
    paused_queues: frozenset[tuple[str, str]]
    limits: Limits            # as configured
    usage: Usage              # slots held, counted from run states
    capacity: WorkerCapacity | None  # None: worker heartbeats unknown (no Redis)
    scheduler_running: bool | None   # None: unknown
    broker_up: bool | None = None    # None: unknown (no broker configured)

    @classmethod
    def broker_only(cls, broker_up: bool | None) -> "DispatchSnapshot":
        """Enough for runs none of which is due: only a PENDING run's reason reads the
        snapshot then, and only whether the broker answers."""
        return cls(frozenset(), frozenset(), Limits(), Usage(), None, None, broker_up)


def is_due(run: FlowRun, now: datetime) -> bool:
    """A SCHEDULED run whose time has come: what can hold it back is the dispatcher's."""
    return run.state_type is StateType.SCHEDULED and run.scheduled_time <= now


def is_late(run: FlowRun, now: datetime, late_after_s: float) -> bool:
    return (run.state_type is StateType.SCHEDULED
            and (now - run.scheduled_time).total_seconds() > late_after_s)


def waiting_reason(run: FlowRun, snapshot: DispatchSnapshot, now: datetime) -> WaitingReason | None:
    """Why `run` is waiting at `now`; None when it is not waiting (it started or ended)."""
    if run.state_type is StateType.PENDING:
        return _broker_down(run, snapshot) or _reason(
            WaitingCode.AWAITING_CLAIM,
            f"dispatched; waiting for a worker of work pool {run.work_pool_name!r} to claim it")
    if run.state_type is not StateType.SCHEDULED:
        return None
    if not is_due(run, now):
        return _not_due_yet(run, now)
    return _blocker(run, snapshot) or _reason(
        WaitingCode.AWAITING_DISPATCH, "due; the scheduler dispatches it on its next pass")


def _not_due_yet(run: FlowRun, now: datetime) -> WaitingReason:
    wait_s = (run.scheduled_time - now).total_seconds()
    when = f"{run.scheduled_time:%Y-%m-%d %H:%M:%S} UTC (in {_duration(wait_s)})"
    if run.state_name == AWAITING_RETRY:
        return _reason(WaitingCode.AWAITING_RETRY, f"retrying at {when}")
    return _reason(WaitingCode.SCHEDULED_IN_FUTURE, f"scheduled for {when}")


def _blocker(run: FlowRun, snapshot: DispatchSnapshot) -> WaitingReason | None:
    for check in (_broker_down, _no_scheduler, _paused, _no_worker, _limit_full, _workers_busy):
        reason = check(run, snapshot)
        if reason:
            return reason
    return None


def _broker_down(run: FlowRun, snapshot: DispatchSnapshot) -> WaitingReason | None:
    if snapshot.broker_up is False:
        return _reason(WaitingCode.BROKER_UNREACHABLE, "the broker (Redis) does not answer; the"
                       " run is dispatched once it is back (`flowpool server start` restarts"
                       " its bundled Redis; otherwise check the Redis of FLOWPOOL_REDIS_URL)")
    return None


def _no_scheduler(run: FlowRun, snapshot: DispatchSnapshot) -> WaitingReason | None:
    if snapshot.scheduler_running is False:
        return _reason(WaitingCode.NO_SCHEDULER, "no scheduler is running; start `flowpool"
                       " server start` (without --no-scheduler) or `flowpool scheduler start`")
    return None


def _paused(run: FlowRun, snapshot: DispatchSnapshot) -> WaitingReason | None:
    pool, queue = run.work_pool_name, run.work_queue_name
    if pool in snapshot.paused_pools:
        return _reason(WaitingCode.WORK_POOL_PAUSED, f"work pool {pool!r} is paused; resume it"
                       f" with `flowpool work-pool resume {pool}`")
    if (pool, queue) in snapshot.paused_queues:
        return _reason(WaitingCode.WORK_QUEUE_PAUSED, f"work queue {queue!r} is paused; resume"
                       f" it with `flowpool work-queue resume {queue} --pool {pool}`")
    return None


def _no_worker(run: FlowRun, snapshot: DispatchSnapshot) -> WaitingReason | None:
    pool, queue = run.work_pool_name, run.work_queue_name
    if snapshot.capacity is None or snapshot.capacity.for_queue(pool, queue) > 0:
        return None
    serving = "" if queue == "default" else f" serving queue {queue!r}"
    return _reason(WaitingCode.NO_WORKER_ONLINE, f"no worker of work pool {pool!r}{serving} is"
                   f" online; start one with `flowpool worker start --pool {pool}`")


def _limit_full(run: FlowRun, snapshot: DispatchSnapshot) -> WaitingReason | None:
    limits, usage = snapshot.limits, snapshot.usage
    pool, queue = run.work_pool_name, run.work_queue_name
    rule = limits.deployments.get(run.deployment_id) if run.deployment_id else None
    if rule and is_full(rule.limit, usage.deployments[run.deployment_id]):
        return _full(WaitingCode.DEPLOYMENT_LIMIT_FULL, "the deployment's", rule.limit)
    if is_full(limits.pools.get(pool), usage.pools[pool]):
        return _full(WaitingCode.WORK_POOL_LIMIT_FULL, f"work pool {pool!r}'s", limits.pools[pool])
    if is_full(limits.queues.get((pool, queue)), usage.queues[(pool, queue)]):
        return _full(WaitingCode.WORK_QUEUE_LIMIT_FULL, f"work queue {queue!r}'s",
                     limits.queues[(pool, queue)])
    return None


def _full(code: WaitingCode, whose: str, limit: int) -> WaitingReason:
    return _reason(code, f"{whose} concurrency limit of {limit} is reached; it starts when one"
                         " of the runs holding a slot ends")


def _workers_busy(run: FlowRun, snapshot: DispatchSnapshot) -> WaitingReason | None:
    if snapshot.capacity is None:
        return None
    pool, queue = run.work_pool_name, run.work_queue_name
    tightened = snapshot.capacity.apply(snapshot.limits)
    slots = (tightened.pools.get(pool), tightened.queues.get((pool, queue)))
    used = (snapshot.usage.pools[pool], snapshot.usage.queues[(pool, queue)])
    if any(is_full(limit, in_use) for limit, in_use in zip(slots, used)):
        return _reason(WaitingCode.WORKERS_BUSY, f"every slot of the online workers of work"
                       f" pool {pool!r} is taken; it starts when one frees up")
    return None


def _reason(code: WaitingCode, message: str) -> WaitingReason:
    return WaitingReason(code=code, message=message)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


def with_waiting_info(run: FlowRun, snapshot: DispatchSnapshot | None, now: datetime,
                      late_after_s: float) -> FlowRun:
    """The run with `late` and `waiting_reason` filled in (`snapshot` None: not waiting)."""
    if snapshot is None:
        return run
    return run.model_copy(update={"late": is_late(run, now, late_after_s),
                                  "waiting_reason": waiting_reason(run, snapshot, now)})
