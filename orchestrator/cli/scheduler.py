"""`flowpool scheduler start`"""
from __future__ import annotations

import logging

import typer

from config.settings import get_settings

app = typer.Typer(help="The scheduler on its own: create scheduled runs and dispatch them.",
                  no_args_is_help=True)


@app.command("start")
def start() -> None:
    """Run a scheduler. Several may run: one leads, the others wait and take over if it stops.

    It opens the database itself (FLOWPOOL_DATABASE_URL, else the SQLite file under
    FLOWPOOL_HOME) and uses FLOWPOOL_REDIS_URL, else the Redis the API reports."""
    from ..scheduler.standalone import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_scheduler(get_settings())
    except KeyboardInterrupt:  # Ctrl-C: the lease was released on the way out
        pass
