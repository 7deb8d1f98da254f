"""`flowpool worker ...`"""
from __future__ import annotations

import os

import typer

from config.settings import get_settings, reload_settings

from .common import client
from .output import OUTPUT_OPTION, Output, show_table

WARM_IMPORTS = "FLOWPOOL_WARM_IMPORTS"

app = typer.Typer(help="Workers: execute the runs of one work pool.", no_args_is_help=True)


@app.command("start")
def start(pool: str = typer.Option(..., "--pool", "-p", help="the work pool to serve"),
          limit: int = typer.Option(4, "--limit", "-l", min=1, help="at most this many runs at once"),
          name: str = typer.Option(None, "--name", "-n", help="defaults to HOST-PID"),
          work_queue: list[str] = typer.Option(None, "--work-queue", "-q",
                                               help="serve only these queues (repeatable)"),
          type: str = typer.Option(None, "--type", "-t", help="refuse to start unless the pool is of this type"),
          warm_import: list[str] = typer.Option(None, "--warm-import", help=(
              "a module the warm-start process imports once for all runs, e.g. pandas"
              " (repeatable; adds to FLOWPOOL_WARM_IMPORTS)"))) -> None:
    """Start a worker for a work pool (a Celery worker consuming its queues in priority order)."""
    from workers.main import start_worker

    if warm_import:  # in the environment: the warm-start process reads it from there
        os.environ[WARM_IMPORTS] = ",".join(filter(None, [os.environ.get(WARM_IMPORTS),
                                                          *warm_import]))
        reload_settings()
    raise typer.Exit(start_worker(get_settings(), pool, limit, name, work_queue, type))


@app.command("ls")
def ls(pool: str = typer.Option(..., "--pool", "-p"), output: Output = OUTPUT_OPTION) -> None:
    """List a pool's workers: ONLINE or OFFLINE, and the runs each is running."""
    with client() as api:
        workers = api.list_workers(pool)
    show_table(workers, output, ["name", "status", "limit", "queues", "hostname", "pid",
                                 "last_seen", "runs"], lambda w: dict(
        w.model_dump(), runs=", ".join(w.runs) or "-", queues=", ".join(w.work_queues) or "all"))
