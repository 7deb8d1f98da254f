"""The scheduler's doorbell: a Redis pub/sub message meaning "something changed, look now".

Pub/sub is lossy, so a doorbell only shortens the wait; the scheduler still looks on its own
every `dispatch_interval_s`.
"""
from __future__ import annotations

import logging
import threading

from .keys import WAKE_CHANNEL

log = logging.getLogger(__name__)


class Doorbell:
    """Rings the scheduler from the API process. A ring returns at once, so no request waits
    on Redis for it: a thread of the doorbell's own publishes, once for all the rings that
    came while it published the last (the scheduler looks once for them all anyway)."""

    def __init__(self, redis_client):
        self._redis = redis_client
        self._rung = threading.Event()
        self._reason = ""
        self._closed = False
        self._ringer = threading.Thread(target=self._publish_rings, daemon=True,
                                        name="flowpool-doorbell-ringer")
        self._ringer.start()

    def ring(self, reason: str = "") -> None:
        self._reason = reason
        self._rung.set()

    def close(self, timeout_s: float = 5.0) -> None:
        """Ends the ringer thread. A ring it has not published yet is dropped: the scheduler's
        periodic look finds what it was for."""
        self._closed = True
        self._rung.set()
        self._ringer.join(timeout_s)

    def _publish_rings(self) -> None:
        while True:
            self._rung.wait()
            self._rung.clear()  # a ring from now on is published by the next turn
            if self._closed:
                return
            reason = self._reason
            try:
                self._redis.publish(WAKE_CHANNEL, reason)
            except Exception as exc:  # the periodic look covers a lost ring
                log.warning("could not wake the scheduler (%s): %s", reason, exc)


class DoorbellListener(threading.Thread):
    """Sets `event` whenever the doorbell rings; reconnects when Redis goes away."""

    def __init__(self, redis_url: str, event: threading.Event, stop: threading.Event):
        super().__init__(name="flowpool-doorbell", daemon=True)
        self.redis_url, self.event, self.stop = redis_url, event, stop

    def run(self) -> None:
        lost = False  # warned already: say it once per outage, not every second
        while not self.stop.is_set():
            pubsub = None
            try:
                pubsub = self._subscribe()
                if lost:  # rings sent while it was away are lost: look once now
                    log.info("doorbell listener reconnected to Redis")
                    self.event.set()
                    lost = False
                while not self.stop.is_set():
                    if pubsub.get_message(timeout=1.0):
                        self.event.set()
            except Exception as exc:
                if self.stop.is_set():  # the server is stopping, Redis with it: no outage
                    return
                if not lost:
                    log.warning("doorbell listener lost Redis: %s; retrying every second", exc)
                    lost = True
                self.event.set()
                self.stop.wait(1.0)
            finally:
                if pubsub is not None:
                    pubsub.close()

    def _subscribe(self):
        from .broker import redis_client

        pubsub = redis_client(self.redis_url, timeout_s=2,
                              health_check_interval=10).pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(WAKE_CHANNEL)
        return pubsub
