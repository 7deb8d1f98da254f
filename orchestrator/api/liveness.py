"""What lives in Redis about the processes around the API, read for the dashboard and
/metrics: whether the broker answers, which scheduler leads, and each pool's workers. Every
read fails soft (None: unknown) so a page still draws while the broker is away."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from config.settings import get_settings

from ..broker import BrokerProbe
from ..leases import WorkerBeat, read_worker_beats
from ..leases import current_leader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Liveness:
    broker_up: bool | None  # None: the app runs without a broker
    leader: str | None  # the leading scheduler's identity; None when nobody leads or unknown
    leader_known: bool
    workers: dict[str, list[WorkerBeat]] = field(default_factory=dict)  # pool -> heartbeats
    workers_known: bool = False

    def online(self, pool: str, now: float | None = None) -> list[WorkerBeat]:
        now = time.time() if now is None else now
        after = get_settings().worker_offline_after_s
        return [b for b in self.workers.get(pool, []) if b.online(now, after)]


def read_liveness(redis, probe: BrokerProbe | None, pools: list[str]) -> Liveness:
    broker_up = probe.up() if probe is not None else None
    if redis is None or broker_up is False:
        return Liveness(broker_up, None, False)
    try:
        leader = current_leader(redis)
        workers = {pool: read_worker_beats(redis, pool) for pool in pools}
    except Exception as exc:  # redis-py's connection and timeout errors
        log.warning("cannot read the scheduler lease or worker heartbeats (%s)", exc)
        return Liveness(broker_up, None, False)
    return Liveness(broker_up, leader, True, workers, True)
