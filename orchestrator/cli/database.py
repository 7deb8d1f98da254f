"""`flowpool database upgrade|current|history`"""
from __future__ import annotations

import typer

from config.settings import get_settings

app = typer.Typer(help=("The database's schema: its revision, the migrations, the upgrade. The"
                        " database is FLOWPOOL_DATABASE_URL, else the SQLite file under"
                        " FLOWPOOL_HOME."), no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Option("head", help="the revision to reach; head: the newest")) -> None:
    """Migrate the database to the newest revision (back it up first). Several hosts may run
    it at once: one migrates, the others wait for it and find nothing left to do."""
    from .. import database_admin

    with database_admin.open_database(get_settings()) as db:
        before = database_admin.read_status(db)
        after = database_admin.upgrade(db, revision)
        where = database_admin.shown_url(db)
    if before.current == after.current:
        typer.echo(f"{where}: already at {after.describe()}")
    else:
        typer.echo(f"{where}: upgraded from {before.describe()} to {after.describe()}")


@app.command("current")
def current(check: bool = typer.Option(False, "--check", help=(
        "exit with status 1 unless the database is at the newest revision"))) -> None:
    """Show the revision the database is at."""
    from .. import database_admin

    with database_admin.open_database(get_settings()) as db:
        status = database_admin.read_status(db)
        typer.echo(f"{database_admin.shown_url(db)}: {status.describe()}")
    if check and not status.is_current:
        raise typer.Exit(1)


@app.command("history")
def history() -> None:
    """List the migrations, oldest first."""
    from .. import database_admin

    for revision in database_admin.history():
        typer.echo(f"{revision.revision}  {revision.down_revision or '(base)':8}"
                   f"  {revision.description}")
