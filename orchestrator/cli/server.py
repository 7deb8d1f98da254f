"""`flowpool server start`"""
from __future__ import annotations

import logging

import typer

from config.settings import DEFAULT_API_PORT, get_settings

app = typer.Typer(help="The flowpool server: API, scheduler and (by default) a bundled Redis.",
                  no_args_is_help=True)


@app.command("start")
def start(host: str = typer.Option("127.0.0.1", help="address the API listens on"),
          port: int = typer.Option(DEFAULT_API_PORT, min=1, max=65534,
                                   help="port the API listens on; the bundled Redis takes the next"),
          scheduler: bool = typer.Option(True, "--scheduler/--no-scheduler",
                                         help="run the scheduler in this process"),
          upgrade: bool = typer.Option(False, "--upgrade", help=(
              "upgrade a database that is behind before starting (one replica at a time);"
              " without it, such a database is refused"))) -> None:
    """Start the API and the scheduler; start a bundled Redis when FLOWPOOL_REDIS_URL is unset.

    An empty database is created; one an older flowpool made must be upgraded first
    (`flowpool database upgrade`, or --upgrade)."""
    from ..server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(get_settings(), host, port, with_scheduler=scheduler, upgrade=upgrade)
