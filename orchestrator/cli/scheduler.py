"""`flowpool scheduler start`"""
from __future__ import annotations

import logging

import typer

from config.settings import get_settings

app = typer.Typer(help="The scheduler on its own: create scheduled runs and dispatch them.",
                  no_args_is_help=True)


@app.command("start")
def start(metrics_port: int = typer.Option(0, min=0, max=65535, help=(
              "serve this scheduler's Prometheus metrics (ticks, errors) on this port; 0: off")),
          metrics_host: str = typer.Option("127.0.0.1", help="address of the metrics port")) -> None:
    """Run a scheduler. Several may run: one leads, the others wait and take over if it stops.

    It opens the database itself (FLOWPOOL_DATABASE_URL, else the SQLite file under
    FLOWPOOL_HOME) and uses FLOWPOOL_REDIS_URL, else the Redis the API reports."""
    from ..scheduler.standalone import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if metrics_port:
        # its counters live in this process; the API's /metrics has the ones of the database
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)
    try:
        run_scheduler(get_settings())
    except KeyboardInterrupt:  # Ctrl-C: the lease was released on the way out
        pass
