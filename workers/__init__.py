"""flowpool workers: the Celery app, the one task that executes a flow run, and one module
per infrastructure type."""
