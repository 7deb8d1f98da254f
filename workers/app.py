"""The Celery app of the workers. The broker is set when a worker starts, not at import."""
from __future__ import annotations

from celery import Celery

from config.celery import CELERY_SETTINGS

from .heartbeat import WorkerHeartbeat
from .queue_watch import WorkQueueWatcher

app = Celery("flowpool", include=["workers.tasks"])
app.conf.update(CELERY_SETTINGS)
app.steps["consumer"].add(WorkQueueWatcher)
app.steps["consumer"].add(WorkerHeartbeat)


def configure(broker_url: str) -> Celery:
    app.conf.broker_url = broker_url
    return app
