"""What a worker's supervisor makes of the run's state read back from the API (pure)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from orchestrator.models import FlowRun
from orchestrator.states import StateType
from workers.supervisor import Ending, judge

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)
S = StateType


def run(state: StateType, token: str | None = "mine") -> FlowRun:
    return FlowRun(id="r1", name="r", flow_name="f", work_pool_name="p",
                   work_queue_name="default", state_type=state, state_name=state.value.title(),
                   state_changed=NOW, scheduled_time=NOW, created=NOW, updated=NOW,
                   dispatch_token=token, attempt=1)


@pytest.mark.parametrize("state", [S.COMPLETED, S.FAILED, S.CANCELLED, S.CRASHED])
def test_a_final_state_under_this_attempts_token_means_its_process_is_exiting(state):
    assert judge(run(state), "mine") is Ending.EXITING


@pytest.mark.parametrize("state", [S.COMPLETED, S.RUNNING, S.CANCELLING, S.PENDING])
def test_another_token_means_the_run_was_taken_from_this_attempt(state):
    assert judge(run(state, token="theirs"), "mine") is Ending.FENCED


def test_a_retry_waiting_for_its_next_attempt_is_no_longer_this_attempts():
    assert judge(run(S.SCHEDULED, token=None), "mine") is Ending.FENCED


def test_running_goes_on_and_cancelling_stops_it():
    assert judge(run(S.RUNNING), "mine") is None
    assert judge(run(S.CANCELLING), "mine") is Ending.CANCELLED
