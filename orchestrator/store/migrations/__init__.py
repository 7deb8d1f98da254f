"""Alembic's script directory: `env.py`, and one file per revision in `versions/`."""
