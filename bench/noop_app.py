"""A bare Celery app with one no-op task: the baseline flowpool's overhead is measured against."""
import os

from celery import Celery

app = Celery("bench-noop", broker=os.environ["BENCH_REDIS_URL"], backend=os.environ["BENCH_REDIS_URL"])
app.conf.update(task_serializer="json", accept_content=["json"], worker_prefetch_multiplier=1,
                broker_transport_options={"priority_steps": [0]}, worker_hijack_root_logger=False)


@app.task(name="bench.noop")
def noop():
    return None
