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
        self.publish_many([(queue, message)])

    def publish_many(self, messages: list[tuple[str, DispatchMessage]]) -> None:
        """Publish through one producer (one connection) for the whole batch."""
        if not messages:
            return
        with self.app.producer_or_acquire() as producer:
            for queue, message in messages:
                self.app.send_task(TASK_NAME, args=[message.encode()], queue=queue,
                                   routing_key=queue, ignore_result=True, producer=producer)

    def close(self) -> None:
        self.app.close()
