"""Worker online/offline events: the leader compares the workers' heartbeats with the ones it
announced, and emits `flowpool.worker.online` / `.offline` for the difference.

What was announced is kept in Redis beside the heartbeats, so a new leader carries on where
the old one stopped; a leader that dies between the event and that record repeats it once.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

from .. import keys
from ..leases import read_worker_beats
from ..store.database import Database
from ..store.events import record_events, worker_event
from ..store.work_pools import list_work_pool_names

log = logging.getLogger(__name__)
LOOK_INTERVAL_S = 2.0


class WorkerPresence:
    def __init__(self, db: Database, redis, offline_after_s: float):
        self.db, self.redis, self.offline_after_s = db, redis, offline_after_s
        self._looked_at = 0.0

    def look(self, now: datetime) -> None:
        if time.monotonic() - self._looked_at < LOOK_INTERVAL_S:
            return
        self._looked_at = time.monotonic()
        try:
            online = self._online_workers()
            announced = {k.decode() if isinstance(k, bytes) else k
                         for k in self.redis.hkeys(keys.WORKERS_ANNOUNCED)}
        except Exception as exc:  # Redis away: look again next time
            log.warning("cannot read worker heartbeats (%s); no worker events now", exc)
            return
        came, went = sorted(online - announced), sorted(announced - online)
        if not came and not went:
            return
        with self.db.begin() as conn:
            record_events(conn, [worker_event(*w.split("/", 1), "online", now) for w in came]
                          + [worker_event(*w.split("/", 1), "offline", now) for w in went])
        if came:
            self.redis.hset(keys.WORKERS_ANNOUNCED, mapping={w: "1" for w in came})
        if went:
            self.redis.hdel(keys.WORKERS_ANNOUNCED, *went)

    def _online_workers(self) -> set[str]:
        with self.db.connect() as conn:
            pools = list_work_pool_names(conn)
        wall = time.time()
        return {f"{pool}/{beat.name}" for pool in pools
                for beat in read_worker_beats(self.redis, pool)
                if beat.online(wall, self.offline_after_s)}
