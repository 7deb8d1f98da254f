"""Admission policy: every limit at once, priority order, no head-of-line blocking."""
from collections import Counter

from orchestrator.admission import (Candidate, DeploymentLimit, Limits, Usage, admit,
                                    full_deployments)


def runs(*specs):
    return [Candidate(f"r{i}", pool, queue, dep) for i, (pool, queue, dep) in enumerate(specs)]


def test_a_pool_limit_admits_only_the_free_slots_in_order():
    candidates = runs(*[("p", "q", None)] * 5)
    result = admit(candidates, Limits(pools={"p": 3}), Usage(pools=Counter({"p": 1})))
    assert [c.run_id for c in result.admitted] == ["r0", "r1"]


def test_a_blocked_deployment_does_not_hold_back_the_runs_behind_it():
    candidates = runs(("p", "q", "d1"), ("p", "q", "d1"), ("p", "q", "d2"), ("p", "q", "d1"))
    result = admit(candidates, Limits(deployments={"d1": DeploymentLimit(1)}), Usage())
    assert [c.run_id for c in result.admitted] == ["r0", "r2"]
    assert result.cancelled == []


def test_a_full_queue_lets_other_queues_of_the_pool_through():
    candidates = runs(("p", "high", None), ("p", "high", None), ("p", "low", None))
    result = admit(candidates, Limits(pools={"p": 5}, queues={("p", "high"): 1}), Usage())
    assert [c.run_id for c in result.admitted] == ["r0", "r2"]


def test_cancel_new_cancels_a_collision_with_the_reason():
    candidates = runs(("p", "q", "d"), ("p", "q", "d"))
    result = admit(candidates, Limits(deployments={"d": DeploymentLimit(1, "CANCEL_NEW")}), Usage())
    assert [c.run_id for c in result.admitted] == ["r0"]
    [(cancelled, reason)] = result.cancelled
    assert cancelled.run_id == "r1"
    assert "concurrency limit of 1" in reason and "CANCEL_NEW" in reason


def test_all_limits_must_have_room():
    limits = Limits(pools={"p": 10}, queues={("p", "q"): 10}, deployments={"d": DeploymentLimit(10)})
    usage = Usage(pools=Counter({"p": 10}))
    assert admit(runs(("p", "q", "d")), limits, usage).admitted == []


def test_a_limit_of_zero_admits_nothing():
    assert admit(runs(("p", "q", None)), Limits(pools={"p": 0}), Usage()).admitted == []


def test_full_deployments_can_be_filtered_by_strategy():
    limits = Limits(deployments={"a": DeploymentLimit(1), "b": DeploymentLimit(1, "CANCEL_NEW")})
    usage = Usage(deployments=Counter({"a": 1, "b": 1}))
    assert full_deployments(limits, usage, "ENQUEUE") == {"a"}
    assert full_deployments(limits, usage) == {"a", "b"}
