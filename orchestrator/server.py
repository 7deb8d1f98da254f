"""`flowpool server start`: the API, the scheduler, and the bundled Redis when none is given."""
from __future__ import annotations

import logging

from config.settings import Settings

from .embedded_redis import EmbeddedRedis
from .private_files import private_directory
from .processes import exit_on_sigterm
from .store.database import Database

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str, port: int, with_scheduler: bool = True) -> None:
    import uvicorn

    from .api.app import create_app
    from .scheduler.publisher import CeleryPublisher
    from .scheduler.service import Scheduler

    exit_on_sigterm()  # uvicorn re-raises SIGTERM after its graceful stop; run our finally
    private_directory(settings.home)
    redis = None
    redis_url = settings.redis_url
    if not redis_url:
        redis = EmbeddedRedis(settings.home / "redis", settings.embedded_redis_port).start()
        redis_url = redis.url
        log.info("bundled Redis listening at %s (data in %s)", redis_url, redis.data_dir)
    db = Database(settings.effective_database_url)
    scheduler = None
    try:
        db.create_schema()
        if with_scheduler:
            scheduler = Scheduler(db, CeleryPublisher(redis_url), settings, redis_url)
            scheduler.start_in_thread()
        app = create_app(db, redis_url, settings.api_key)
        log.info("API at http://%s:%d/api, database %s", host, port, _safe_url(db.url))
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if scheduler:
            scheduler.shutdown()
        db.dispose()
        if redis:
            redis.stop()


def _safe_url(url: str) -> str:
    """The database URL without its password, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
