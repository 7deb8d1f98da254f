"""Runs one flow run inside its infrastructure: `python -m orchestrator.engine RUN_ID`."""
