"""The scheduler's leader lease on a real Redis: one holder, renewed while it lives, lost by a
holder that stops renewing, handed over at once on release."""
from __future__ import annotations

import threading

import pytest
import redis as redis_lib

from devstack import wait_for
from orchestrator import keys
from orchestrator.embedded_redis import EmbeddedRedis, free_port
from orchestrator.leases import current_leader
from orchestrator.scheduler.leader import LeaderLease, LeaseKeeper


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    """A Redis of its own: the session's server holds the lease on the shared one."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("leader-redis"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def redis(own_redis):
    client = redis_lib.Redis.from_url(own_redis.url)
    client.delete(keys.SCHEDULER_LEADER_LOCK)
    yield client
    client.close()


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_only_one_scheduler_holds_the_lease(redis):
    first, second = LeaderLease(redis, 5, "first"), LeaderLease(redis, 5, "second")
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    assert current_leader(redis) == "first"


def test_the_holder_trusts_its_lease_only_until_it_would_expire(redis):
    clock = FakeClock()
    lease = LeaderLease(redis, 5, "me", clock=clock)
    assert lease.acquire()
    clock.now += 4.9
    assert lease.held()
    clock.now += 0.2
    assert not lease.held()


def test_a_lease_nobody_renews_expires_and_another_takes_it(redis):
    first, second = LeaderLease(redis, 0.3, "first"), LeaderLease(redis, 0.3, "second")
    assert first.acquire()
    wait_for(second.acquire, 3, "the lease to pass to the second scheduler", interval_s=0.05)
    assert not first.renew() and not first.held()


def test_a_renewed_lease_outlives_its_period(redis):
    stop = threading.Event()
    first, second = LeaderLease(redis, 0.3, "first"), LeaderLease(redis, 0.3, "second")
    assert first.acquire()
    LeaseKeeper(first, stop, on_lost=lambda: None).start()
    try:
        for _ in range(10):  # a whole second: three periods
            assert not second.acquire()
            stop.wait(0.1)
        assert first.held()
    finally:
        stop.set()


def test_a_released_lease_is_taken_at_once_and_release_spares_a_newer_holder(redis):
    first, second = LeaderLease(redis, 30, "first"), LeaderLease(redis, 30, "second")
    assert first.acquire()
    first.release()
    assert second.acquire()
    first.release()  # late: must not remove the second's lease
    assert current_leader(redis) == "second"


def test_the_keeper_reports_a_lease_taken_over(redis):
    stop, lost = threading.Event(), threading.Event()
    lease = LeaderLease(redis, 0.3, "first")
    assert lease.acquire()
    redis.set(keys.SCHEDULER_LEADER_LOCK, "usurper")
    LeaseKeeper(lease, stop, on_lost=lost.set).start()
    try:
        assert lost.wait(2) and not lease.held()
    finally:
        stop.set()
