"""Slots of global concurrency limits in a real Redis: all or none across limits, leases that
free themselves when not renewed, rate limits that decay, and a limit never exceeded under
contention."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from orchestrator import slots
from orchestrator.broker import redis_client
from devstack import wait_for


@pytest.fixture
def redis(redis_server):
    client = redis_client(redis_server.url, 2.0)
    yield client
    client.close()


@pytest.fixture
def name(unique_name):
    return unique_name("gcl")


def take(redis, limits, occupy=1, rate_limit=False, ttl_s=30.0, run_id="run"):
    lease_id = str(uuid.uuid4())
    attempt = slots.acquire(redis, limits, run_id, lease_id, occupy, rate_limit, ttl_s)
    return lease_id if attempt.acquired else None


def test_slots_are_taken_on_every_limit_at_once_or_on_none(redis, name):
    small, large = slots.Limit(f"{name}-small", 1), slots.Limit(f"{name}-large", 5)
    assert take(redis, [small])
    assert take(redis, [small, large]) is None  # small is full: nothing taken on large either
    assert slots.usage(redis, large)[0] == 0
    assert take(redis, [large], occupy=5)
    assert take(redis, [large]) is None


def test_a_released_lease_frees_its_slots_once(redis, name):
    limit = slots.Limit(name, 2)
    lease = take(redis, [limit], occupy=2)
    assert slots.usage(redis, limit)[0] == 2
    assert slots.release(redis, [name], "run", lease, 2)
    assert not slots.release(redis, [name], "run", lease, 2)  # idempotent
    assert slots.usage(redis, limit) == (0.0, [])


def test_another_run_cannot_release_or_renew_a_lease(redis, name):
    limit = slots.Limit(name, 1)
    lease = take(redis, [limit], run_id="owner")
    assert not slots.release(redis, [name], "intruder", lease, 1)
    assert not slots.renew(redis, [name], "intruder", lease, 1, 30)
    assert take(redis, [limit]) is None


def test_a_lease_not_renewed_frees_its_slots_when_it_expires(redis, name):
    limit = slots.Limit(name, 1)
    renewed, forgotten = slots.Limit(f"{name}-renewed", 1), limit
    kept = take(redis, [renewed], ttl_s=0.5)
    assert take(redis, [forgotten], ttl_s=0.5)
    start = time.monotonic()
    while time.monotonic() - start < 1.5:  # renewed three times a TTL, as holders do
        assert slots.renew(redis, [renewed.name], "run", kept, 1, 0.5)
        time.sleep(0.15)
    assert take(redis, [renewed]) is None  # still held
    assert take(redis, [forgotten])  # expired, free again
    assert not slots.renew(redis, [forgotten.name], "run", "gone", 1, 0.5)


def test_rate_limit_slots_decay_and_say_when_there_is_room(redis, name):
    limit = slots.Limit(name, 2, slot_decay_per_second=10.0)
    assert take(redis, [limit], rate_limit=True) and take(redis, [limit], rate_limit=True)
    attempt = slots.acquire(redis, [limit], "run", "x", 1, True, 30)
    assert not attempt.acquired and 0 < attempt.retry_after_s <= 0.1
    time.sleep(attempt.retry_after_s + 0.01)
    assert take(redis, [limit], rate_limit=True)
    held, holders = slots.usage(redis, limit)
    assert 1.5 < held <= 2 and holders == []


def test_holders_never_exceed_the_limit_under_contention(redis, name):
    limit, holders, rounds = slots.Limit(name, 3), 12, 20
    inside, peak, done = [0], [0], []
    lock = threading.Lock()

    def holder():
        for _ in range(rounds):
            lease = None
            while lease is None:
                lease = take(redis, [limit])
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.001)
            with lock:
                inside[0] -= 1
            assert slots.release(redis, [name], "run", lease, 1)
        done.append(1)

    threads = [threading.Thread(target=holder) for _ in range(holders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(done) == holders and 1 < peak[0] <= limit.limit
    wait_for(lambda: slots.usage(redis, limit)[0] == 0, 5, "every slot back")
