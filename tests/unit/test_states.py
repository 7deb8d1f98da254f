"""The transition rules, as a user of the state machine relies on them."""
from orchestrator.states import (FINAL_STATES, NO_RETRIES, RULES, Attempts, Origin, StateType as S,
                                 decide)


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


ATTEMPTS_LEFT = Attempts(attempt=1, retries=2, delays=[5.0, 30.0])


def test_a_failure_with_attempts_left_is_answered_by_a_retry_with_its_delay():
    for failure, origin in ((S.FAILED, Origin.TOKEN_HOLDER), (S.CRASHED, Origin.TOKEN_HOLDER),
                            (S.CRASHED, Origin.SERVER)):
        decision = decide(S.RUNNING, failure, origin, token_matches=True, attempts=ATTEMPTS_LEFT)
        assert decision.accepted and decision.is_retry
        assert (decision.rule.name, decision.target, decision.name, decision.delay_s) == (
            "RetryAttempt", S.SCHEDULED, "AwaitingRetry", 5.0)


def test_the_last_attempt_fails_for_good():
    last = Attempts(attempt=3, retries=2, delays=[5.0, 30.0])
    decision = decide(S.RUNNING, S.FAILED, Origin.TOKEN_HOLDER, token_matches=True, attempts=last)
    assert (decision.accepted, decision.rule.name, decision.target) == (True, "Finish", S.FAILED)


def test_a_retry_still_needs_the_token():
    decision = decide(S.RUNNING, S.FAILED, Origin.TOKEN_HOLDER, token_matches=False,
                      attempts=ATTEMPTS_LEFT)
    assert not decision.accepted and not decision.is_retry


def test_a_retry_is_never_proposed_directly():
    for origin in Origin:
        assert not decide(S.RUNNING, S.SCHEDULED, origin, token_matches=True,
                          attempts=ATTEMPTS_LEFT).accepted


def test_every_rule_in_the_table_is_reachable():
    reached = {decide(current, proposed, origin, token_matches, attempts).rule.name
               for current in S for proposed in S for origin in Origin
               for token_matches in (True, False) for attempts in (NO_RETRIES, ATTEMPTS_LEFT)
               if decide(current, proposed, origin, token_matches, attempts).accepted}
    assert reached == {rule.name for rule in RULES}
