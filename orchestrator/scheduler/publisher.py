"""Publishes dispatch messages onto the Celery queues in Redis."""
from __future__ import annotations

from config.celery import CELERY_SETTINGS

from ..keys import TASK_NAME
from ..models import DispatchMessage


class CeleryPublisher:
    def __init__(self, broker_url: str):
        from celery import Celery

        self.app = Celery("flowpool-scheduler", broker=broker_url, set_as_current=False)
        self.app.conf.update(CELERY_SETTINGS)

    def publish(self, queue: str, message: DispatchMessage) -> None:
        self.app.send_task(TASK_NAME, args=[message.encode()], queue=queue, routing_key=queue,
                           ignore_result=True)

    def close(self) -> None:
        self.app.close()
