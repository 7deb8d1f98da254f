"""Late and waiting reasons: pure rules over a run, a snapshot of what blocks dispatch, and now."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from orchestrator.admission import DeploymentLimit, Limits, Usage, WorkerCapacity
from orchestrator.models import FlowRun
from orchestrator.models.flow_runs import WaitingCode
from orchestrator.states import StateType
from orchestrator.waiting_reasons import (DispatchSnapshot, is_late, waiting_reason,
                                          with_waiting_info)

NOW = datetime(2026, 3, 2, 9, 0, 30, tzinfo=timezone.utc)
LIMITS = Limits(pools={"p": None}, queues={("p", "default"): None})


def run(state=StateType.SCHEDULED, scheduled_s_ago=30.0, state_name=None, queue="default",
        deployment_id="d1") -> FlowRun:
    return FlowRun(id="r1", name="r", flow_name="f", deployment_id=deployment_id,
                   work_pool_name="p", work_queue_name=queue, state_type=state,
                   state_name=state_name or state.value.title(), state_changed=NOW,
                   scheduled_time=NOW - timedelta(seconds=scheduled_s_ago), created=NOW,
                   updated=NOW)


def snapshot(**changes) -> DispatchSnapshot:
    values = dict(paused_pools=frozenset(), paused_queues=frozenset(), limits=LIMITS,
                  usage=Usage(), capacity=WorkerCapacity(pools={"p": 4},
                                                         pools_serving_all=frozenset({"p"})),
                  scheduler_running=True)
    return DispatchSnapshot(**{**values, **changes})


def code(r: FlowRun, s: DispatchSnapshot) -> WaitingCode | None:
    reason = waiting_reason(r, s, NOW)
    return reason.code if reason else None


def test_a_run_is_late_only_while_scheduled_and_past_the_threshold():
    assert is_late(run(scheduled_s_ago=16), NOW, late_after_s=15)
    assert not is_late(run(scheduled_s_ago=15), NOW, late_after_s=15)
    assert not is_late(run(scheduled_s_ago=-60), NOW, late_after_s=15)
    assert not is_late(run(StateType.PENDING, scheduled_s_ago=600), NOW, late_after_s=15)


def test_a_run_in_the_future_says_when_it_is_due():
    reason = waiting_reason(run(scheduled_s_ago=-90), snapshot(), NOW)
    assert reason.code is WaitingCode.SCHEDULED_IN_FUTURE
    assert "2026-03-02 09:02:00 UTC (in 90s)" in reason.message


def test_a_run_waiting_to_be_retried_says_so():
    reason = waiting_reason(run(scheduled_s_ago=-5, state_name="AwaitingRetry"), snapshot(), NOW)
    assert reason.code is WaitingCode.AWAITING_RETRY


@pytest.mark.parametrize("changes, expected", [
    ({"broker_up": False}, WaitingCode.BROKER_UNREACHABLE),
    ({"broker_up": True}, WaitingCode.AWAITING_DISPATCH),
    ({"scheduler_running": False}, WaitingCode.NO_SCHEDULER),
    ({"paused_pools": frozenset({"p"})}, WaitingCode.WORK_POOL_PAUSED),
    ({"paused_queues": frozenset({("p", "default")})}, WaitingCode.WORK_QUEUE_PAUSED),
    ({"capacity": WorkerCapacity()}, WaitingCode.NO_WORKER_ONLINE),
    ({"capacity": WorkerCapacity(pools={"p": 2}, queues={("p", "other"): 2})},
     WaitingCode.NO_WORKER_ONLINE),  # the online worker serves another queue only
    ({"limits": Limits({"p": 1}, LIMITS.queues), "usage": Usage(pools=Counter({"p": 1}))},
     WaitingCode.WORK_POOL_LIMIT_FULL),
    ({"limits": Limits(LIMITS.pools, {("p", "default"): 2}),
      "usage": Usage(queues=Counter({("p", "default"): 2}))}, WaitingCode.WORK_QUEUE_LIMIT_FULL),
    ({"limits": Limits(LIMITS.pools, LIMITS.queues, {"d1": DeploymentLimit(1)}),
      "usage": Usage(deployments=Counter({"d1": 1}))}, WaitingCode.DEPLOYMENT_LIMIT_FULL),
    ({"usage": Usage(pools=Counter({"p": 4}), queues=Counter({("p", "default"): 4}))},
     WaitingCode.WORKERS_BUSY),
    ({}, WaitingCode.AWAITING_DISPATCH),
    ({"capacity": None, "scheduler_running": None}, WaitingCode.AWAITING_DISPATCH),
])
def test_a_due_run_names_what_holds_it_back(changes, expected):
    assert code(run(), snapshot(**changes)) is expected


def test_the_first_blocker_in_dispatch_order_is_named():
    everything = snapshot(paused_pools=frozenset({"p"}), capacity=WorkerCapacity())
    assert code(run(), everything) is WaitingCode.WORK_POOL_PAUSED


def test_while_the_broker_is_down_every_due_or_dispatched_run_says_so_first():
    down = snapshot(broker_up=False, scheduler_running=None, capacity=None,
                    paused_pools=frozenset({"p"}))
    assert code(run(), down) is WaitingCode.BROKER_UNREACHABLE
    assert code(run(StateType.PENDING), down) is WaitingCode.BROKER_UNREACHABLE
    assert code(run(scheduled_s_ago=-90), down) is WaitingCode.SCHEDULED_IN_FUTURE  # not due
    assert "FLOWPOOL_REDIS_URL" in waiting_reason(run(), down, NOW).message


def test_reasons_tell_the_fix():
    reason = waiting_reason(run(), snapshot(capacity=WorkerCapacity()), NOW)
    assert "flowpool worker start --pool p" in reason.message


def test_a_pending_run_waits_for_a_claim_and_a_started_run_does_not_wait():
    assert code(run(StateType.PENDING), snapshot()) is WaitingCode.AWAITING_CLAIM
    assert code(run(StateType.RUNNING), snapshot()) is None
    assert code(run(StateType.COMPLETED), snapshot()) is None


def test_with_waiting_info_fills_both_fields():
    annotated = with_waiting_info(run(scheduled_s_ago=20), snapshot(capacity=WorkerCapacity()),
                                  NOW, late_after_s=15)
    assert annotated.late and annotated.waiting_reason.code is WaitingCode.NO_WORKER_ONLINE
    assert with_waiting_info(run(), None, NOW, 15).waiting_reason is None
