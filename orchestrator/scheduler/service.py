"""The scheduler daemon: `tick(now)` does the work; `run()` sleeps until the next due run,
the next periodic look, or the doorbell, whichever comes first."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from config.settings import Settings

from ..store.database import Database
from ..wakeup import DoorbellListener
from .dispatch import Publisher, dispatch_once, next_due_time

log = logging.getLogger(__name__)
DISPATCH_BATCH_SIZE = 1000


class Scheduler:
    def __init__(self, db: Database, publisher: Publisher, settings: Settings, redis_url: str):
        self.db, self.publisher, self.settings, self.redis_url = db, publisher, settings, redis_url
        self.wake = threading.Event()
        self.stop = threading.Event()

    def tick(self, now: datetime) -> float:
        """Dispatch what is due at `now`; return the seconds until the next look."""
        dispatches = dispatch_once(self.db, self.publisher, now, self.settings.claim_timeout_s,
                                   DISPATCH_BATCH_SIZE)
        if dispatches:
            log.info("dispatched %d run(s)", len(dispatches))
        if len(dispatches) >= DISPATCH_BATCH_SIZE:
            return 0.0  # more may be waiting behind this batch
        with self.db.connect() as conn:
            due = next_due_time(conn, now)
        wait = self.settings.dispatch_interval_s
        if due is not None:
            wait = min(wait, max((due - now).total_seconds(), 0.0))
        return wait

    def run(self) -> None:
        DoorbellListener(self.redis_url, self.wake, self.stop).start()
        log.info("scheduler started")
        while not self.stop.is_set():
            self.wake.clear()
            try:
                wait = self.tick(datetime.now(timezone.utc))
            except Exception:
                log.exception("scheduler tick failed; trying again shortly")
                wait = 1.0
            self.wake.wait(timeout=wait)
        log.info("scheduler stopped")

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="flowpool-scheduler", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        self.stop.set()
        self.wake.set()
