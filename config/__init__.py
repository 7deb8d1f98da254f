"""Default settings, Celery settings and the base job template of each worker type."""
