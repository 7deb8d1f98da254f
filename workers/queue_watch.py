"""Keeps a running worker's Celery queues equal to its pool's work queues, in priority order.

A work queue created, deleted or re-prioritized while the worker runs is picked up within
`REFRESH_INTERVAL_S`. It runs on the consumer's own timer (inside the worker's event loop),
not over Celery's remote control, which is best-effort on Redis.
"""
from __future__ import annotations

import logging

from celery import bootsteps

from orchestrator.keys import celery_queue

from . import context

log = logging.getLogger("flowpool.worker")
REFRESH_INTERVAL_S = 5.0


def wanted_queues(ctx: context.WorkerContext) -> list[str]:
    names = [q.name for q in ctx.client.list_work_queues(ctx.pool_name)]
    if ctx.work_queues:
        names = [n for n in names if n in ctx.work_queues]
    return [celery_queue(ctx.pool_name, n) for n in names]


class WorkQueueWatcher(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self.timer_ref = None

    def start(self, consumer) -> None:
        self.timer_ref = consumer.timer.call_repeatedly(REFRESH_INTERVAL_S, self.refresh,
                                                        (consumer,), priority=10)

    def stop(self, consumer) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None

    def refresh(self, consumer) -> None:
        try:
            wanted = wanted_queues(context.current())
        except Exception as exc:  # the API may be restarting; try again next time
            log.warning("could not refresh work queues: %s", exc)
            return
        current = [q.name for q in consumer.task_consumer.queues]
        if wanted == current or not wanted:
            return
        log.info("work queues changed: consuming %s", ", ".join(wanted))
        for name in current:  # re-adding all keeps the consumption order = priority order
            consumer.cancel_task_queue(name)
        for name in wanted:
            consumer.add_task_queue(name)
