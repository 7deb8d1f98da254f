"""`flowpool server start`: the API, the scheduler, and the bundled Redis when none is given."""
from __future__ import annotations

import ipaddress
import logging

from config.settings import Settings

from .embedded_redis import EmbeddedRedis, RedisKeeper, lock_data_dir, port_is_free
from .errors import FlowpoolError
from .private_files import private_directory
from .processes import exit_on_sigterm
from .store import schema
from .store.database import Database
from .urls import masked_url

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str, port: int, with_scheduler: bool = True,
          upgrade: bool = False) -> None:
    import uvicorn

    from .api.app import create_app
    from .scheduler.publisher import CeleryPublisher
    from .scheduler.service import Scheduler

    exit_on_sigterm()  # uvicorn re-raises SIGTERM after its graceful stop; run our finally
    check_api_port(host, port)  # first: a server that cannot listen must leave nothing behind
    private_directory(settings.home)
    warn_if_open(host, settings.api_key)
    db = Database(settings.effective_database_url)
    # before anything starts: a database that is behind is refused, or upgraded when asked
    schema.ensure_current(db.engine, masked_url(db.url), upgrade_if_behind=upgrade)
    keeper = None
    redis_url = settings.redis_url
    if not redis_url:
        keeper = start_bundled_redis(settings, settings.embedded_redis_port or port + 1)
        redis_url = keeper.redis.url
    scheduler = None
    try:
        if with_scheduler:
            scheduler = Scheduler(db, CeleryPublisher(redis_url), settings, redis_url)
            scheduler.start_in_thread()
        app = create_app(db, redis_url, settings.api_key)
        log.info("API at http://%s:%d/api, database %s, broker %s", host, port,
                 masked_url(db.url), masked_url(redis_url))
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if scheduler:
            scheduler.shutdown()
        db.dispose()
        if keeper:
            keeper.stop()


def check_api_port(host: str, port: int) -> None:
    if not port_is_free(host, port):
        raise FlowpoolError(f"port {port} is taken, so the API cannot listen on {host}:{port}:"
                            " stop what listens there, or give another --port")


def start_bundled_redis(settings: Settings, port: int) -> RedisKeeper:
    """The bundled Redis, kept alive: restarted by a watching thread whenever it dies."""
    if not settings.home.exists():
        private_directory(settings.home)
    data_dir = settings.home / "redis"
    data_lock = lock_data_dir(data_dir)  # one Redis per data directory
    try:
        redis = EmbeddedRedis(data_dir, port).start()
    except BaseException:
        data_lock.close()
        raise
    log.info("bundled Redis listening at %s (data and password in %s)", masked_url(redis.url),
             redis.data_dir)
    keeper = RedisKeeper(redis, data_lock)
    keeper.start()
    return keeper


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only: 127.0.0.0/8, ::1 or localhost."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def warn_if_open(host: str, api_key: str | None) -> None:
    """Without an API key, an API listening beyond loopback serves anyone who reaches it."""
    if api_key or is_loopback(host):
        return
    log.warning("the API listens on %s without an API key: anyone who can reach it can read and"
                " change everything, run flows, and read the broker's password. Set"
                " FLOWPOOL_API_KEY on the server and its clients, or listen on 127.0.0.1", host)
