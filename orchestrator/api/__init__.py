"""The HTTP API (FastAPI): the only way in for the CLI, workers and engines."""
