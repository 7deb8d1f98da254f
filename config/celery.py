"""Celery settings for flowpool's broker = dispatch-only model.

The database is the source of truth; a Celery message is only a doorbell carrying
(run id, dispatch token). So: acknowledge on receipt, never prefetch beyond free slots,
never let Redis' visibility timeout re-deliver a long run, json only.
"""

CELERY_SETTINGS = {
    "broker_transport_options": {
        # strict queue order: the worker's -Q list is consumed first to last (kombu >= 5.7)
        "queue_order_strategy": "priority",
        "priority_steps": [0],
        # with early ack this only guards the instant between BRPOP and acceptance
        "visibility_timeout": 2 * 3600,
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 25,
    },
    "visibility_timeout": 2 * 3600,
    "broker_connection_retry_on_startup": True,
    # a worker outlives any broker outage: it reconnects for as long as it takes, never exits
    "broker_connection_max_retries": None,
    "task_acks_late": False,
    "task_reject_on_worker_lost": False,
    "worker_prefetch_multiplier": 1,
    "worker_disable_prefetch": True,
    "worker_cancel_long_running_tasks_on_connection_loss": True,
    "worker_soft_shutdown_timeout": 60.0,
    "worker_enable_soft_shutdown_on_idle": True,
    "task_ignore_result": True,
    "task_track_started": False,
    "task_create_missing_queues": True,
    "worker_direct": False,
    "worker_send_task_events": False,
    "task_send_sent_event": False,
    "task_serializer": "json",
    "accept_content": ["json"],
    "result_accept_content": ["json"],
    "worker_hijack_root_logger": False,
    # the logger's name, not the pool process's: a run's output reads `INFO/flowpool.flow_runs`
    "worker_log_format": "[%(asctime)s: %(levelname)s/%(name)s] %(message)s",
    "enable_utc": True,
}
