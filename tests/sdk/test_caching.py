"""Task caching: a cached result is served across runs, until it expires or is refreshed."""
import itertools
from datetime import timedelta

import pytest

from orchestrator import INPUTS, NO_CACHE, TASK_SOURCE, flow, task, task_input_hash
from orchestrator.sdk.caching import FLOW_PARAMETERS, RUN_ID, hash_objects

from .conftest import make_reporter


_tasks_made = itertools.count()


def counting_task(**options):
    """A new task (a function of its own, as far as the cache knows) and its calls."""
    calls = []

    def expensive(x, y=0):
        calls.append((x, y))
        return x + 100

    expensive.__qualname__ = f"expensive_{next(_tasks_made)}"
    return task(expensive, **options), calls


def run_in_flow(task_to_call, *args, **kwargs):
    @flow
    def calling():
        return task_to_call(*args, **kwargs)

    return calling()


def test_a_cached_result_is_served_to_a_later_run(reporter):
    expensive, calls = counting_task(cache_policy=INPUTS)
    assert run_in_flow(expensive, 2) == 102
    assert run_in_flow(expensive, 2) == 102
    assert run_in_flow(expensive, 3) == 103
    assert calls == [(2, 0), (3, 0)]
    served = [r for r in reporter.task_runs.values() if r.cache_hit]
    assert len(served) == 1 and served[0].state_name == "Cached"


def test_the_cache_persists_on_disk_across_reporters(tmp_path):
    expensive, calls = counting_task(cache_policy=INPUTS)
    for _ in range(2):
        with make_reporter(tmp_path):  # the same cache directory, as across processes
            assert run_in_flow(expensive, 5) == 105
    assert calls == [(5, 0)]
    assert list((tmp_path / "cache").iterdir())


def test_without_a_policy_nothing_is_cached(reporter):
    expensive, calls = counting_task()
    run_in_flow(expensive, 1)
    run_in_flow(expensive, 1)
    assert len(calls) == 2


def test_an_expired_result_is_computed_again(reporter):
    fresh, fresh_calls = counting_task(cache_policy=INPUTS, cache_expiration=timedelta(hours=1))
    stale, stale_calls = counting_task(cache_policy=INPUTS, cache_expiration=timedelta(seconds=-1))
    for _ in range(2):
        run_in_flow(fresh, 1)
        run_in_flow(stale, 1)
    assert (len(fresh_calls), len(stale_calls)) == (1, 2)


def test_refresh_cache_computes_again_and_replaces_the_cached_result(reporter):
    expensive, calls = counting_task(cache_policy=INPUTS)
    run_in_flow(expensive, 1)
    refreshing = expensive.with_options(refresh_cache=True)
    run_in_flow(refreshing, 1)
    run_in_flow(expensive, 1)
    assert len(calls) == 2


def test_policies_combine_and_exclude_arguments(reporter):
    expensive, calls = counting_task(cache_policy=(INPUTS + TASK_SOURCE) - "y")
    run_in_flow(expensive, 1, y=1)
    run_in_flow(expensive, 1, y=2)  # y is not part of the key
    run_in_flow(expensive, 2, y=1)
    assert calls == [(1, 1), (2, 1)]


def test_run_id_and_flow_parameters_scope_the_cache(reporter):
    per_run, per_run_calls = counting_task(cache_policy=RUN_ID)
    per_params, per_params_calls = counting_task(cache_policy=FLOW_PARAMETERS)

    @flow
    def twice(p: int) -> None:
        per_run(1), per_run(2), per_params(1), per_params(2)

    twice(1)
    twice(1)
    twice(2)
    assert len(per_run_calls) == 3  # once per flow run
    assert len(per_params_calls) == 2  # once per distinct flow parameters


def test_two_tasks_with_equal_arguments_do_not_share_a_policy_key(reporter):
    first, first_calls = counting_task(cache_policy=INPUTS)
    second, second_calls = counting_task(cache_policy=INPUTS)
    run_in_flow(first, 1)
    run_in_flow(second, 1)
    assert (len(first_calls), len(second_calls)) == (1, 1)


def test_cache_key_fn_and_task_input_hash(reporter):
    by_fn, calls = counting_task(cache_key_fn=lambda context, arguments: f"key-{arguments['x'] % 2}")
    for x in (1, 3, 2):
        run_in_flow(by_fn, x)
    assert calls == [(1, 0), (2, 0)]  # 3 shares 1's key
    hashed, hashed_calls = counting_task(cache_key_fn=task_input_hash)
    run_in_flow(hashed, 1), run_in_flow(hashed, 1)
    assert len(hashed_calls) == 1


def test_no_cache_and_unhashable_inputs_run_uncached(reporter):
    never, never_calls = counting_task(cache_policy=NO_CACHE)
    run_in_flow(never, 1), run_in_flow(never, 1)
    assert len(never_calls) == 2
    lock_like, calls = counting_task(cache_policy=INPUTS)

    class Unpicklable:
        def __reduce__(self):
            raise TypeError("no")

    run_in_flow(lock_like, 1, y=Unpicklable())
    assert len(calls) == 1


def test_a_result_that_cannot_be_stored_is_not_cached_and_says_so(reporter):
    @task(cache_policy=INPUTS)
    def makes_generator(x):
        return (i for i in range(x))

    run_in_flow(makes_generator, 2)
    assert any("was not cached" in message for message in reporter.log_messages())


def test_hash_objects_is_stable_and_sees_models_and_sets():
    pydantic = pytest.importorskip("pydantic")

    class Order(pydantic.BaseModel):
        sku: str

    assert hash_objects({"a": {3, 1}, "o": Order(sku="x")}) == \
        hash_objects({"o": Order(sku="x"), "a": {1, 3}})
    assert hash_objects(Order(sku="x")) != hash_objects(Order(sku="y"))
