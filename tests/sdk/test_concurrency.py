"""Global concurrency limits: `concurrency(...)` never lets more than the limit in, under
contention from many threads; rate limits pace callers by their decay."""
import asyncio
import contextvars
import threading
import time

import pytest

from orchestrator import concurrency, flow, rate_limit, task
from orchestrator.errors import ConcurrencySlotError, ConcurrencySlotTimeout
from orchestrator.sdk.local_limits import LocalLimits


class Occupancy:
    """Counts who is inside a block at once."""

    def __init__(self):
        self.inside = self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1


def test_threads_never_exceed_the_limit_under_contention(reporter):
    reporter.create_concurrency_limit("db", 3)
    occupancy = Occupancy()

    def worker() -> None:
        for _ in range(20):
            with concurrency("db", occupy=1):
                occupancy.enter()
                time.sleep(0.001)
                occupancy.leave()

    # each thread in a copy of this context, so it reports to this test's reporter
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(worker,))
               for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert occupancy.peak == 3  # reached, never exceeded
    assert reporter.limits.active_slots("db") == 0


def test_occupy_takes_several_slots_and_several_limits_are_taken_together(reporter):
    reporter.create_concurrency_limit("a", 2)
    reporter.create_concurrency_limit("b", 4)
    with concurrency(["a", "b"], occupy=2):
        assert (reporter.limits.active_slots("a"), reporter.limits.active_slots("b")) == (2, 2)
        with pytest.raises(ConcurrencySlotTimeout):
            with concurrency("a", occupy=1, timeout_seconds=0.05):
                pass
    assert reporter.limits.active_slots("a") == 0


def test_slots_are_given_back_when_the_block_raises(reporter):
    reporter.create_concurrency_limit("one", 1)
    with pytest.raises(RuntimeError):
        with concurrency("one"):
            raise RuntimeError("inside")
    with concurrency("one", timeout_seconds=1):
        pass


def test_a_missing_limit_is_skipped_or_refused_when_strict(reporter):
    with concurrency("nobody-made-this"):
        pass
    with pytest.raises(ConcurrencySlotError, match="do not exist"):
        with concurrency("nobody-made-this", strict=True):
            pass
    reporter.create_concurrency_limit("small", 1)
    with pytest.raises(ConcurrencySlotError, match="it has 1"):
        with concurrency("small", occupy=2):
            pass


def test_async_concurrency_waits_without_blocking_the_loop(reporter):
    reporter.create_concurrency_limit("async", 1)
    occupancy = Occupancy()

    async def user() -> None:
        async with concurrency("async"):
            occupancy.enter()
            await asyncio.sleep(0.01)
            occupancy.leave()

    async def main() -> None:
        await asyncio.gather(*(user() for _ in range(5)))

    asyncio.run(main())
    assert occupancy.peak == 1


def test_tasks_of_a_flow_share_the_limit(reporter):
    reporter.create_concurrency_limit("gpu", 2)
    occupancy = Occupancy()

    @task
    def infer(i: int) -> int:
        with concurrency("gpu"):
            occupancy.enter()
            time.sleep(0.01)
            occupancy.leave()
        return i

    @flow
    def many() -> list:
        return infer.map(range(8)).result()

    assert many() == list(range(8))
    assert occupancy.peak == 2


def test_a_rate_limit_paces_callers_by_its_decay(reporter):
    reporter.create_concurrency_limit("api", 1, slot_decay_per_second=20)  # one call per 50 ms
    started = time.monotonic()
    for _ in range(3):
        rate_limit("api")
    assert time.monotonic() - started >= 0.09  # the 2nd and 3rd each waited for a decay
    reporter.create_concurrency_limit("no-decay", 1)
    with pytest.raises(ConcurrencySlotError, match="slot_decay_per_second"):
        rate_limit("no-decay")


def test_local_limits_release_is_idempotent():
    limits = LocalLimits()
    limits.define("x", 1)
    lease = limits.acquire(["x"], 1, None, rate_limit=False, strict=True)
    limits.release(lease)
    limits.release(lease)
    assert limits.active_slots("x") == 0
