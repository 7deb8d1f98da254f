"""The scheduler: turns due runs into PENDING runs with a fresh token and one broker message."""
