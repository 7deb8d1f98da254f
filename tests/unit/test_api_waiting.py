"""What a read of runs asks the database and Redis for, to say why they wait: pauses, limits,
usage, workers and the scheduler only when a run is due; else at most the broker probe."""
from __future__ import annotations

from orchestrator.api.waiting import annotate_waiting
from orchestrator.models.flow_runs import WaitingCode
from orchestrator.states import StateType
from tests.unit.test_waiting_reasons import run


FAR_AHEAD_S = 100 * 365 * 86400  # the test's runs are stamped with a fixed date


class Untouchable:
    """A connection or Redis client that fails the test when anything is asked of it."""

    def __getattr__(self, name):
        raise AssertionError(f"asked for {name}: nothing should be read for these runs")


class Probe:
    def __init__(self, up: bool):
        self.answer = up

    def up(self) -> bool:
        return self.answer


def test_pending_and_future_runs_read_neither_the_limits_nor_redis():
    pending, future = run(StateType.PENDING), run(scheduled_s_ago=-FAR_AHEAD_S)
    found = annotate_waiting(Untouchable(), Untouchable(), [pending, future], Probe(True))
    assert [r.waiting_reason.code for r in found] == [WaitingCode.AWAITING_CLAIM,
                                                      WaitingCode.SCHEDULED_IN_FUTURE]


def test_a_pending_run_still_says_when_the_broker_is_down():
    found = annotate_waiting(Untouchable(), Untouchable(), [run(StateType.PENDING)], Probe(False))
    assert found[0].waiting_reason.code is WaitingCode.BROKER_UNREACHABLE


def test_running_and_finished_runs_read_nothing_at_all():
    runs = [run(StateType.RUNNING), run(StateType.COMPLETED)]
    assert annotate_waiting(Untouchable(), Untouchable(), runs, Untouchable()) == runs
