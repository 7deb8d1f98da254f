"""Late and waiting reasons on the runs the API returns: reads what can hold a run back (the
broker, pauses, limits, usage, online workers, the scheduler's lease) once per request, then
applies the pure rules of `waiting_reasons.py`."""
from __future__ import annotations

import logging
import time
from typing import TypeVar

import sqlalchemy as sa

from config.settings import get_settings

from ..admission import WorkerCapacity
from ..broker import BrokerProbe
from ..leases import current_leader, read_worker_beats
from ..models import FlowRun
from ..states import StateType
from ..store.dispatch import load_limits, load_usage, paused_pools_and_queues
from ..waiting_reasons import DispatchSnapshot, is_due, with_waiting_info
from .dependencies import utcnow

log = logging.getLogger(__name__)
WAITING = (StateType.SCHEDULED, StateType.PENDING)
Run = TypeVar("Run", bound=FlowRun)


def annotate_waiting(conn: sa.Connection, redis, runs: list[Run],
                     probe: BrokerProbe | None = None) -> list[Run]:
    """`runs` with `late` and `waiting_reason` filled in. Pauses, limits, usage, workers and
    the scheduler are read only when a run is due (a read of a running, finished, pending or
    future run asks none of them)."""
    if not any(_waits(r) for r in runs):
        return runs
    now, late_after_s = utcnow(), get_settings().late_after_s
    due_pools = sorted({r.work_pool_name for r in runs if _waits(r) and is_due(r, now)})
    snapshot = read_snapshot(conn, redis, due_pools, probe)
    return [with_waiting_info(r, snapshot if _waits(r) else None, now,
                              late_after_s) for r in runs]


def _waits(run: FlowRun) -> bool:
    """Waiting for dispatch; a child run never is (it runs in its root's process)."""
    return run.state_type in WAITING and run.parent_flow_run_id is None


def read_snapshot(conn: sa.Connection, redis, pools: list[str],
                  probe: BrokerProbe | None = None) -> DispatchSnapshot:
    """What holds back the due runs of `pools`; with no pool, only whether the broker answers."""
    broker_up = probe.up() if probe is not None else None
    if not pools:
        return DispatchSnapshot.broker_only(broker_up)
    if broker_up is False:
        redis = None  # what lives in Redis is unknown while it does not answer
    paused_pools, paused_queues = paused_pools_and_queues(conn)
    return DispatchSnapshot(
        paused_pools=paused_pools, paused_queues=paused_queues, limits=load_limits(conn),
        usage=load_usage(conn), capacity=_worker_capacity(redis, pools),
        scheduler_running=_scheduler_running(redis), broker_up=broker_up)


def _worker_capacity(redis, pools: list[str]) -> WorkerCapacity | None:
    if redis is None:
        return None
    try:
        beats = {pool: read_worker_beats(redis, pool) for pool in pools}
    except Exception as exc:
        log.warning("cannot read worker heartbeats (%s)", exc)
        return None
    return WorkerCapacity.from_beats(beats, time.time(), get_settings().worker_offline_after_s)


def _scheduler_running(redis) -> bool | None:
    if redis is None:
        return None
    try:
        return current_leader(redis) is not None
    except Exception as exc:
        log.warning("cannot read the scheduler lease (%s)", exc)
        return None
