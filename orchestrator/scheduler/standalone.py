"""`flowpool scheduler start`: the scheduler in a process of its own, beside a server started
with `--no-scheduler` or other schedulers (one leads, the rest wait as standby)."""
from __future__ import annotations

import logging

from config.settings import Settings

from ..errors import FieldError, InvalidInput
from ..processes import exit_on_sigterm
from ..store import schema
from ..store.database import Database
from ..urls import masked_url

log = logging.getLogger(__name__)


def run_scheduler(settings: Settings) -> None:
    """Run until SIGTERM or Ctrl-C; the lease is released on the way out."""
    from .publisher import CeleryPublisher
    from .service import Scheduler

    exit_on_sigterm()
    redis_url = broker_url(settings)
    db = Database(settings.effective_database_url)
    publisher = CeleryPublisher(redis_url)
    try:
        # the API's server or `flowpool database upgrade` migrates; a scheduler only checks
        schema.ensure_current(db.engine, masked_url(db.url), upgrade_if_behind=False)
        Scheduler(db, publisher, settings, redis_url).run()
    finally:
        publisher.close()
        db.dispose()


def broker_url(settings: Settings) -> str:
    """FLOWPOOL_REDIS_URL, else the Redis the API says it uses (the server's bundled one)."""
    if settings.redis_url:
        return settings.redis_url
    from ..client import FlowpoolClient

    with FlowpoolClient(settings.api_url, settings.http_timeout_s, settings.http_retry_for_s,
                        settings.api_key) as client:
        url = client.broker_url()
    if not url:
        raise InvalidInput("no broker: set FLOWPOOL_REDIS_URL", [FieldError(
            "FLOWPOOL_REDIS_URL", "point it at the Redis the server and workers use")])
    return url
