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
    """The heartbeat lease a worker renews while it supervises a run; its value is the token."""
    return f"{PREFIX}:lease:{run_id}"


def cancel_request(run_id: str) -> str:
    """Set by the API when a running run should be cancelled; read by its supervisor."""
    return f"{PREFIX}:cancel:{run_id}"


def pool_workers(pool_name: str) -> str:
    """A hash: worker name -> its last heartbeat (JSON)."""
    return f"{PREFIX}:workers:{pool_name}"


def concurrency_leases(limit_name: str) -> str:
    """A sorted set per global concurrency limit: "OCCUPY|RUN_ID|LEASE_ID" -> expiry (epoch
    ms); a lease past its expiry holds nothing (orchestrator/slots.py)."""
    return f"{PREFIX}:gcl:{limit_name}:leases"


def concurrency_decay(limit_name: str) -> str:
    """A hash per global concurrency limit: the slots rate limits took that have not decayed
    yet ("level") as of "at" (epoch ms)."""
    return f"{PREFIX}:gcl:{limit_name}:decay"


# A hash: "POOL/WORKER" -> "1" for the workers whose `flowpool.worker.online` event was
# emitted and whose `offline` event was not yet (scheduler/worker_presence.py).
WORKERS_ANNOUNCED = f"{PREFIX}:workers-announced"
