"""Every Redis key, pub/sub channel and Celery queue name flowpool uses, built here only."""
from __future__ import annotations

PREFIX = "flowpool"
TASK_NAME = "flowpool.execute_flow_run"
WAKE_CHANNEL = f"{PREFIX}:wake"
SCHEDULER_LEADER_LOCK = f"{PREFIX}:scheduler:leader"


def celery_queue(pool_name: str, queue_name: str) -> str:
    """The Celery queue (a Redis list) that carries the runs of one work queue of a pool."""
    return f"{PREFIX}.{pool_name}.{queue_name}"


def run_lease(run_id: str) -> str:
    """The heartbeat lease a worker renews while it supervises a run."""
    return f"{PREFIX}:lease:{run_id}"


def worker_heartbeat(pool_name: str, worker_name: str) -> str:
    return f"{PREFIX}:worker:{pool_name}:{worker_name}"


def worker_heartbeat_pattern(pool_name: str) -> str:
    return f"{PREFIX}:worker:{pool_name}:*"
