"""The API rings the scheduler's doorbell on every run created and ended: a ring never makes a
request wait on Redis or fail with it, and the last ring is always heard."""
from __future__ import annotations

import threading

import redis as redis_lib

from devstack import wait_for
from orchestrator.embedded_redis import free_port
from orchestrator.keys import WAKE_CHANNEL
from orchestrator.wakeup import Doorbell, DoorbellListener


def test_the_listener_hears_the_last_of_many_rings(own_redis):
    heard, stop = threading.Event(), threading.Event()
    listener = DoorbellListener(own_redis.url, heard, stop)
    listener.start()
    doorbell = Doorbell(redis_lib.Redis.from_url(own_redis.url))
    try:
        wait_for(lambda: redis_lib.Redis.from_url(own_redis.url).pubsub_numsub(
            WAKE_CHANNEL)[0][1] == 1, 10, "the listener to subscribe")
        for n in range(200):
            doorbell.ring(f"run {n} created")
        wait_for(heard.is_set, 10, "the rings to be heard")
        heard.clear()
        doorbell.ring("one more")
        wait_for(heard.is_set, 10, "a ring after the others to be heard too")
    finally:
        stop.set()
        listener.join(timeout=5)


def test_a_ring_while_redis_is_away_does_not_fail_the_request_that_rang():
    client = redis_lib.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    doorbell = Doorbell(client)
    doorbell.ring("run created")  # nothing listens there: the ringer warns, the caller goes on
    doorbell.ring("run finished")


def test_closing_the_doorbell_ends_its_thread(own_redis):
    before = set(threading.enumerate())
    doorbell = Doorbell(redis_lib.Redis.from_url(own_redis.url))
    ringers = set(threading.enumerate()) - before
    assert ringers
    doorbell.ring("run created")
    doorbell.close()
    assert not any(thread.is_alive() for thread in ringers)


def test_an_app_that_stops_closes_its_doorbell(own_redis, tmp_path):
    from fastapi.testclient import TestClient

    from orchestrator.api.app import create_app
    from orchestrator.store.database import Database

    before = set(threading.enumerate())
    app = create_app(Database(f"sqlite:///{tmp_path / 'flowpool.db'}"), own_redis.url)
    with TestClient(app) as client:
        assert client.get("/api/health").status_code == 200
    assert not [thread.name for thread in set(threading.enumerate()) - before
                if thread.name == "flowpool-doorbell-ringer"]
