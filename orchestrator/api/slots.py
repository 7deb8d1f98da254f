"""A flow run's slots on global concurrency limits: acquire (all the named limits at once),
renew the leases it holds, release one. The run's process has no Redis access: it takes its
slots here, with its run credential, and renews them from a background thread.

A full limit answers `acquired: false` at once (with `retry_after_s` when decay alone will
make room): the caller asks again with backoff, so no request waits on the server. Leases
last FLOWPOOL_CRASH_AFTER_S unless renewed, so a process that dies frees its slots within the
crash-detection time.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends

from config.settings import get_settings

from .. import slots
from ..errors import BrokerUnavailable, FieldError, InvalidInput, NotFound
from ..models import new_id
from ..models.concurrency_limits import (ConcurrencyLimit, SlotGrant, SlotLeaseRef,
                                         SlotReleaseResult, SlotRenewal, SlotRenewResult,
                                         SlotRequest)
from ..store import concurrency_limits as limits_store
from ..store import flow_runs as runs_store
from ..store.database import Database
from .checks import CheckedRoute
from .concurrency_limits import as_slot_limit
from .dependencies import get_db, get_redis
from .errors import BROKER_DOWN, ERROR_RESPONSES

router = APIRouter(prefix="/flow_runs", tags=["concurrency slots"], route_class=CheckedRoute,
                   responses={**ERROR_RESPONSES, **BROKER_DOWN})


async def lease_ttl_s() -> float:  # a coroutine: no thread hop (see `dependencies`)
    return get_settings().crash_after_s


@router.post("/{run_id}/slots")
def acquire_slots(run_id: str, request: SlotRequest, db: Database = Depends(get_db),
                  redis=Depends(get_redis), ttl_s: float = Depends(lease_ttl_s)) -> SlotGrant:
    """Take `occupy` slots on every limit in `names` at once, or none. A missing limit is
    skipped (404 when `strict`); an inactive one is not enforced."""
    names = list(dict.fromkeys(request.names))
    with db.connect() as conn:
        runs_store.read_flow_run(conn, run_id)
        found = limits_store.read_concurrency_limits(conn, names)
    missing = [name for name in names if name not in found]
    if missing and request.strict:
        raise NotFound(f"concurrency limit(s) {', '.join(missing)} do not exist", [FieldError(
            "names", "create them with `flowpool concurrency-limit create NAME --limit N`")])
    enforced = [found[name] for name in names if name in found and found[name].active]
    check_request(enforced, request)
    lease_id = new_id()
    attempt = _broker(redis, lambda client: slots.acquire(
        client, [as_slot_limit(limit) for limit in enforced], run_id, lease_id, request.occupy,
        request.mode == "rate_limit", ttl_s))
    return SlotGrant(acquired=attempt.acquired, lease_id=lease_id if attempt.acquired else None,
                     names=[limit.name for limit in enforced], missing=missing,
                     inactive=[name for name in found if not found[name].active],
                     retry_after_s=attempt.retry_after_s, lease_ttl_s=ttl_s)


def check_request(limits: list[ConcurrencyLimit], request: SlotRequest) -> None:
    """Refuse what no wait could grant: more slots than a limit has, a rate limit on a
    limit whose slots never decay."""
    errors = [FieldError("occupy", f"concurrency limit {limit.name} has {limit.limit} slot(s)")
              for limit in limits if request.occupy > limit.limit]
    if request.mode == "rate_limit":
        errors += [FieldError("names", f"concurrency limit {limit.name} has no "
                                       "slot_decay_per_second: rate limits need one")
                   for limit in limits if not limit.slot_decay_per_second]
    if errors:
        raise InvalidInput("these slots can never be taken", errors)


@router.post("/{run_id}/slots/renew")
def renew_slots(run_id: str, renewal: SlotRenewal, redis=Depends(get_redis),
                ttl_s: float = Depends(lease_ttl_s)) -> SlotRenewResult:
    """Extend the run's leases by the lease TTL; a lease that had expired is lost."""
    result = SlotRenewResult()
    for lease in renewal.leases:
        held = _broker(redis, lambda client: slots.renew(client, lease.names, run_id,
                                                         lease.lease_id, lease.occupy, ttl_s))
        (result.renewed if held else result.lost).append(lease.lease_id)
    return result


@router.post("/{run_id}/slots/release")
def release_slots(run_id: str, lease: SlotLeaseRef,
                  redis=Depends(get_redis)) -> SlotReleaseResult:
    """Give a lease's slots back (idempotent)."""
    return SlotReleaseResult(released=_broker(redis, lambda client: slots.release(
        client, lease.names, run_id, lease.lease_id, lease.occupy)))


def _broker(redis, call):
    """`call(redis)`; 503 while the broker does not answer (the caller tries again)."""
    import redis as redis_py

    if redis is None:
        raise _unavailable("no broker is configured")
    try:
        return call(redis)
    except redis_py.RedisError as exc:
        raise _unavailable(type(exc).__name__) from None


def _unavailable(why: str) -> BrokerUnavailable:
    return BrokerUnavailable(f"the broker does not answer ({why}): concurrency slots cannot "
                             "be taken or given back now", [FieldError(
                                 "broker", "try again; the bundled Redis is restarted by the "
                                           "server")])
