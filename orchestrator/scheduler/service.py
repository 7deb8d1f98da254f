"""The scheduler daemon: `tick(now)` does the work; `run()` sleeps until the next due run,
the next periodic look, or the doorbell, whichever comes first. Only the holder of the
leader lease ticks; other schedulers wait as standby and take over when it goes."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from config.settings import Settings

from .. import metrics
from ..admission import WorkerCapacity
from ..broker import answers, quick_client, redis_client
from ..leases import current_leader, read_worker_beats
from ..store.database import Database
from ..store.dispatch import next_due_time
from ..wakeup import DoorbellListener
from .automations import Automator
from .dispatch import Publisher, dispatch_once
from .leader import RENEWALS_PER_LEASE, LeaderLease, LeaseKeeper
from .materializer import Materializer
from .reaper import Reaper
from .worker_presence import WorkerPresence

log = logging.getLogger(__name__)
DISPATCH_BATCH_SIZE = 1000
BROKER_RETRY_S = 0.5  # while the broker does not answer, look again this often


class Scheduler:
    def __init__(self, db: Database, publisher: Publisher, settings: Settings, redis_url: str):
        self.db, self.publisher, self.settings, self.redis_url = db, publisher, settings, redis_url
        self.redis = redis_client(redis_url, timeout_s=5)
        self.broker_probe = quick_client(redis_url)
        self.broker_down = False  # said so in the log already
        self.reaper = Reaper(db, self.redis, settings.crash_after_s)
        self.materializer = Materializer(db)
        self.automator = Automator(db, self.redis, settings.events_retention_s,
                                   settings.automation_max_firings_per_minute)
        self.worker_presence = WorkerPresence(db, self.redis, settings.worker_offline_after_s)
        self.lease = LeaderLease(self.redis, settings.leader_lease_s)
        self.standby = False  # said so in the log already
        self.next_full_pass = 0.0  # monotonic time: a look before it is a doorbell pass
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.stopped = threading.Event()

    def tick(self, now: datetime) -> float:
        """One pass at `now`: reap silent runs, dispatch what is due within every limit and
        the online workers' capacity, run new events through the automations, then create the
        runs schedules need ahead (after dispatch, so a due run never waits for it); return
        the seconds until the next look.
        Nothing is dispatched while the broker does not answer: a run marked PENDING then would
        wait out the claim timeout once the broker is back."""
        if not self._broker_answers():
            return BROKER_RETRY_S
        self.reaper.reap(now)
        batch_full = self._dispatch(now)
        self.worker_presence.look(now)
        if self.automator.run(now):
            return 0.0  # more events, or a run an action created may be due already
        if batch_full:
            return 0.0  # more may be waiting behind this batch
        materialized = self.materializer.run(now)
        if materialized and materialized.created:
            return 0.0  # a new run may be due already: look again at once
        with self.db.connect() as conn:
            due = next_due_time(conn, now, self.settings.claim_timeout_s)
        wait = self.settings.dispatch_interval_s
        if due is not None:
            wait = min(wait, max((due - now).total_seconds(), 0.0))
        return wait

    def doorbell_pass(self, now: datetime) -> bool:
        """A look between full passes, when the doorbell rang: what changed is a new run, a
        freed slot or a new event, so dispatch and run the automations; reaping, schedules
        and worker presence keep the pace of full passes, however often it rings (a ring
        per run created and per run ended, under load). True: look again at once."""
        if not self._broker_answers():
            return False
        batch_full = self._dispatch(now)
        return self.automator.run(now) or batch_full

    def _dispatch(self, now: datetime) -> bool:
        """Dispatch what is due within every limit and the online workers' capacity; True
        when the batch was full (more may be waiting behind it)."""
        dispatches = dispatch_once(self.db, self.publisher, now, self.settings.claim_timeout_s,
                                   DISPATCH_BATCH_SIZE, self.worker_capacity)
        if dispatches:
            log.info("dispatched %d run(s)", len(dispatches))
        return len(dispatches) >= DISPATCH_BATCH_SIZE

    def look(self) -> float:
        """One pass, full or (before the next full one is due) the doorbell's; the seconds
        until the next full pass, when it sleeps unless the doorbell rings."""
        started = time.monotonic()
        now = datetime.now(timezone.utc)
        if started < self.next_full_pass:
            return 0.0 if self.doorbell_pass(now) else self.next_full_pass - started
        self.next_full_pass = started  # if the pass fails, the next one is full again
        wait = self.tick(now)
        self.next_full_pass = started + wait
        return wait

    def _broker_answers(self) -> bool:
        up = answers(self.broker_probe)
        if not up:
            self.reaper.redis_away()
        if up == self.broker_down:  # changed: say so once
            self.broker_down = not up
            if up:
                log.info("the broker answers again; dispatching")
            else:
                log.warning("the broker does not answer; dispatching waits until it does")
        return up

    def worker_capacity(self, pools: list[str]) -> WorkerCapacity | None:
        """Slots of the online workers, per pool and per work queue; None if Redis is away."""
        try:
            beats = {pool: read_worker_beats(self.redis, pool) for pool in pools}
        except Exception as exc:
            log.warning("cannot read worker heartbeats (%s); dispatching without them", exc)
            return None
        return WorkerCapacity.from_beats(beats, time.time(), self.settings.worker_offline_after_s)

    def run(self) -> None:
        DoorbellListener(self.redis_url, self.wake, self.stop).start()
        LeaseKeeper(self.lease, self.stop, on_lost=self.wake.set).start()
        log.info("scheduler %s started", self.lease.identity)
        try:
            while not self.stop.is_set():
                if self.lease.held() or self._take_lead():
                    self._lead_once()
                else:
                    self.stop.wait(self.lease.lease_s / RENEWALS_PER_LEASE)
        finally:
            self._step_down()
            self.stopped.set()
        log.info("scheduler %s stopped", self.lease.identity)

    def _lead_once(self) -> None:
        """One look, then sleep until the next due run, the next full pass or the doorbell."""
        self.wake.clear()
        started = time.monotonic()
        metrics.SCHEDULER_TICKS.inc()
        try:
            wait = self.look()
        except Exception:
            metrics.SCHEDULER_TICK_ERRORS.inc()
            log.exception("scheduler tick failed; trying again shortly")
            wait = 1.0
        self.wake.wait(timeout=max(wait - (time.monotonic() - started), 0.0))

    def _take_lead(self) -> bool:
        try:
            taken = self.lease.acquire()
        except Exception as exc:
            log.warning("cannot reach Redis to elect the scheduler leader (%s)", exc)
            self.reaper.redis_away()
            return False
        if taken:
            self.next_full_pass = 0.0  # a new leader looks at everything first
            log.info("scheduler %s is the leader", self.lease.identity)
        elif not self.standby:
            log.info("scheduler %s is standby; %s leads", self.lease.identity,
                     current_leader(self.redis))
        self.standby = not taken
        return taken

    def _step_down(self) -> None:
        if not self.lease.held():
            return
        try:
            self.lease.release()
        except Exception as exc:
            log.warning("could not release the scheduler lease (%s); it expires by itself", exc)

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="flowpool-scheduler", daemon=True)
        thread.start()
        return thread

    def shutdown(self, wait_s: float = 5.0) -> None:
        """Stop after the current tick, handing the lease over (waits up to `wait_s`)."""
        self.stop.set()
        self.wake.set()
        self.stopped.wait(timeout=wait_s)
