"""`flowpool worker start`: a Celery worker consuming one pool's queues in priority order."""
from __future__ import annotations

import json
import logging
import os
import socket
import sys

from config.settings import Settings
from orchestrator.client import FlowpoolClient
from orchestrator.errors import FieldError, InvalidInput
from orchestrator.keys import celery_queue

from . import context
from .warm_start import zygote_environment

THREADS = "workers.thread_pool:WakingThreadPool"
CLEAN_START_FD_VARIABLE = "FLOWPOOL_WORKER_START_FD"
MAX_START_BYTES = 1 << 20  # a pipe holds this much at most (Linux's default maximum)


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def start_worker(settings: Settings, pool_name: str, limit: int, name: str | None,
                 work_queues: list[str] | None = None, worker_type: str | None = None,
                 clean: bool = False) -> int:
    """Check the arguments against the API, then run the worker until it is stopped. A
    threads-pool worker of warm process runs first restarts clean (`clean_start`), unless
    it is that restart (`clean`)."""
    client = FlowpoolClient(settings.api_url, settings.http_timeout_s, settings.http_retry_for_s,
                            settings.api_key)
    pool = client.read_work_pool(pool_name)
    if worker_type and worker_type != pool.type:
        raise InvalidInput(f"pool {pool_name!r} is of type {pool.type}, not {worker_type}", [
            FieldError("--type", f"start a {pool.type} worker for this pool, or pick a {worker_type} pool")])
    _check_infrastructure(pool.type)
    broker_url = settings.redis_url or client.broker_url()
    if not broker_url:
        raise InvalidInput("no broker: set FLOWPOOL_REDIS_URL", [FieldError("FLOWPOOL_REDIS_URL", "point it at the Redis the server uses")])
    queues = [q.name for q in client.list_work_queues(pool_name)]
    chosen = _choose_queues(queues, work_queues, pool_name)
    name = name or default_worker_name()
    celery_pool = choose_celery_pool(pool.type, settings.process_cgroups)
    if celery_pool == THREADS and pool.type == "process" and settings.process_start == "fork":
        if not clean:
            client.close()
            restart_clean({"pool_name": pool_name, "limit": limit, "name": name,
                           "work_queues": work_queues, "worker_type": worker_type})
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    context.set_current(context.WorkerContext(
        name=name, pool_name=pool_name, api_url=settings.api_url, api_key=settings.api_key,
        work_queues=list(work_queues or []), limit=limit, redis_url=broker_url, home=settings.home,
        heartbeat_interval_s=settings.heartbeat_interval_s, crash_after_s=settings.crash_after_s,
        cancel_grace_s=settings.cancel_grace_s, process_cgroups=settings.process_cgroups,
        process_start=settings.process_start,
        http_timeout_s=settings.http_timeout_s, http_retry_for_s=settings.http_retry_for_s))
    client.close()
    from celery.utils.nodenames import default_nodename, host_format

    from .app import configure

    app = configure(broker_url)
    if pool.type == "process" and settings.process_start == "fork":
        from celery.signals import worker_init, worker_process_init

        from .warm_start import prestart

        # the zygote, ready before the first run: the worker's own, or each prefork slot's
        ready = worker_init if celery_pool == THREADS else worker_process_init
        ready.connect(prestart, weak=False)
    # Celery's worker itself, not its command line, which loads every command plugin found
    # installed (a REPL, monitoring tools) into the worker's memory for nothing.
    worker = app.Worker(
        hostname=host_format(default_nodename(f"{name}@%h")), pool_cls=celery_pool,
        concurrency=limit, loglevel=logging.INFO,
        queues=[celery_queue(pool_name, q) for q in chosen],
        without_mingle=True, without_gossip=True, without_heartbeat=True)
    worker.start()
    from celery.worker import state

    if state.should_stop not in (None, False) and not state.should_terminate:
        return 0  # a warm shutdown, asked for (Ctrl-C, SIGTERM), is a clean stop
    return worker.exitcode or 0


def choose_celery_pool(pool_type: str, use_cgroups: bool) -> str:
    """Threads, one per slot, in this process: unless the pool runs local processes and
    they cannot be given a cgroup each, the only way to tell apart the processes of runs
    supervised side by side. Then each slot is a prefork process of its own."""
    if pool_type != "process":
        return THREADS
    from .process_tree import cgroups_usable

    if cgroups_usable(use_cgroups):
        return THREADS
    return "prefork"


def _check_infrastructure(worker_type: str) -> None:
    """Fail at start, not at the first run, when the pool's engine or cluster does not answer."""
    if worker_type == "docker":
        from .docker import connect
    elif worker_type == "kubernetes":
        from .kubernetes import connect
    else:
        return
    connect()


def _choose_queues(queues: list[str], wanted: list[str] | None, pool_name: str) -> list[str]:
    if not wanted:
        return queues
    unknown = [q for q in wanted if q not in queues]
    if unknown:
        raise InvalidInput(f"pool {pool_name!r} has no work queue {', '.join(unknown)}", [FieldError(
            "--work-queue", f"use one of: {', '.join(queues)}")])
    return [q for q in queues if q in wanted]  # keep the pool's priority order


def restart_clean(arguments: dict) -> None:
    """Replace this process with a clean start of the worker (`workers/clean_start.py`);
    returns only if it cannot (an environment too large to pass on a pipe), and then the
    worker starts here, with a warm-start process of its own interpreter."""
    payload = json.dumps({"environ": dict(os.environ), "arguments": arguments}).encode()
    read_end, write_end = os.pipe()
    try:
        _fit(write_end, len(payload))
        os.write(write_end, payload)
    except OSError:
        os.close(read_end)
        return
    finally:
        os.close(write_end)
    os.set_inheritable(read_end, True)
    env = {**zygote_environment(os.environ), CLEAN_START_FD_VARIABLE: str(read_end)}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "workers.clean_start"], env)


def _fit(fd: int, size: int) -> None:
    """Grow the pipe to hold `size` bytes, so the write cannot wait for a reader."""
    import fcntl

    if size > MAX_START_BYTES:
        raise OSError("too large")
    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, max(size, 4096))
