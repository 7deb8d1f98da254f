"""The worker's own heartbeat, per pool: who it is, how many runs it takes, which queues.

The scheduler dispatches only as many runs as the online workers can take, and shows "no
worker online" when there are none; `flowpool worker ls` reads the same records.
"""
from __future__ import annotations

import logging
import os
import socket
import time

from celery import bootsteps

from orchestrator.leases import WorkerBeat, forget_worker, record_worker_beat

from . import context

log = logging.getLogger("flowpool.worker")


class WorkerHeartbeat(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self.timer_ref = None
        self.started = time.time()

    def start(self, consumer) -> None:
        self.beat()
        interval_s = context.current().heartbeat_interval_s
        self.timer_ref = consumer.timer.call_repeatedly(interval_s, self.beat, priority=5)

    def stop(self, consumer) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None

    def shutdown(self, consumer) -> None:
        ctx = context.current()
        try:
            forget_worker(ctx.redis, ctx.pool_name, ctx.name)  # offline at once, not in 15 s
        except Exception as exc:
            log.warning("could not sign off: %s", exc)

    def beat(self) -> None:
        ctx = context.current()
        try:
            record_worker_beat(ctx.redis, WorkerBeat(
                name=ctx.name, pool=ctx.pool_name, limit=ctx.limit, work_queues=ctx.work_queues,
                hostname=socket.gethostname(), pid=os.getpid(), started=self.started))
        except Exception as exc:  # Redis may be restarting; the next beat will do
            log.warning("could not record the worker heartbeat: %s", exc)
