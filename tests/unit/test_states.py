"""The transition rules, as a user of the state machine relies on them."""
from orchestrator.states import FINAL_STATES, Origin, StateType as S, decide


def test_only_the_current_token_holder_can_claim_a_pending_run():
    assert decide(S.PENDING, S.RUNNING, Origin.TOKEN_HOLDER, token_matches=True).accepted
    stale = decide(S.PENDING, S.RUNNING, Origin.TOKEN_HOLDER, token_matches=False)
    assert not stale.accepted and "token" in stale.reason


def test_a_running_run_cannot_be_claimed_again():
    assert not decide(S.RUNNING, S.RUNNING, Origin.TOKEN_HOLDER, token_matches=True).accepted


def test_the_engine_finishes_a_running_run_with_its_token():
    for final in (S.COMPLETED, S.FAILED, S.CRASHED):
        assert decide(S.RUNNING, final, Origin.TOKEN_HOLDER, token_matches=True).accepted
        assert not decide(S.RUNNING, final, Origin.TOKEN_HOLDER, token_matches=False).accepted


def test_only_the_server_dispatches():
    assert decide(S.SCHEDULED, S.PENDING, Origin.SERVER, token_matches=False).rule.issues_token
    assert not decide(S.SCHEDULED, S.PENDING, Origin.TOKEN_HOLDER, token_matches=True).accepted
    assert not decide(S.SCHEDULED, S.PENDING, Origin.USER, token_matches=False).accepted


def test_a_final_state_is_never_left_except_by_a_user_rerun():
    for final in FINAL_STATES:
        for target in S:
            for origin in (Origin.TOKEN_HOLDER, Origin.SERVER):
                assert not decide(final, target, origin, token_matches=True).accepted
        assert decide(final, S.SCHEDULED, Origin.USER, token_matches=False).accepted


def test_a_cancelling_run_can_only_end_cancelled():
    assert decide(S.CANCELLING, S.CANCELLED, Origin.TOKEN_HOLDER, token_matches=True).accepted
    assert not decide(S.CANCELLING, S.COMPLETED, Origin.TOKEN_HOLDER, token_matches=True).accepted


def test_a_refusal_names_both_states():
    decision = decide(S.SCHEDULED, S.COMPLETED, Origin.TOKEN_HOLDER, token_matches=True)
    assert "SCHEDULED" in decision.reason and "COMPLETED" in decision.reason
