"""Flow-run state types and the rules that say which changes are allowed.

The rules are data: each names the states it leaves from, the states it goes to, who may
propose it (a worker or engine holding the attempt's dispatch token, the server itself, or a
user) and whether it issues a new dispatch token. `decide()` is the only judge and returns the
whole outcome, a retry included: a failure with attempts left is answered by RetryAttempt
(AwaitingRetry, due again after the retry delay). The store applies an accepted change as one
compare-and-set on (state, token): `store/flow_runs.set_state` for one run, and its bulk form
`issue_tokens` beside it for the dispatcher's Dispatch and RedispatchUnclaimed.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class StateType(str, Enum):
    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"


S = StateType
FINAL_STATES = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED, S.CRASHED})
# A run in one of these states holds a concurrency slot: its infrastructure may be alive.
SLOT_HOLDING_STATES = frozenset({S.PENDING, S.RUNNING, S.CANCELLING})
WAITING_STATES = frozenset({S.SCHEDULED})

DEFAULT_NAMES = {
    S.SCHEDULED: "Scheduled",
    S.PENDING: "Pending",
    S.RUNNING: "Running",
    S.CANCELLING: "Cancelling",
    S.COMPLETED: "Completed",
    S.FAILED: "Failed",
    S.CANCELLED: "Cancelled",
    S.CRASHED: "Crashed",
}


class Origin(str, Enum):
    """Who proposes a change: a worker or engine holding the token, or the server's own services."""

    TOKEN_HOLDER = "token-holder"
    SERVER = "server"
    USER = "user"


@dataclass(frozen=True)
class Rule:
    """One allowed kind of state change.

    A rule matches a proposal to go from one of `from_states` to one of `to_states`, by one of
    `origins`. A rule with `answers` is never proposed: it is the answer to a proposal of one
    of those states, while the run has attempts left (RetryAttempt answers a failure)."""

    name: str
    from_states: frozenset[StateType]
    to_states: frozenset[StateType]
    origins: frozenset[Origin]
    issues_token: bool = False
    answers: frozenset[StateType] = frozenset()


def _rule(name, from_states, to_states, origins, issues_token=False, answers=()) -> Rule:
    return Rule(name, frozenset(from_states), frozenset(to_states), frozenset(origins), issues_token,
                frozenset(answers))


RETRIABLE_STATES = frozenset({S.FAILED, S.CRASHED})
AWAITING_RETRY = "AwaitingRetry"

RULES: tuple[Rule, ...] = (
    _rule("Dispatch", {S.SCHEDULED}, {S.PENDING}, {Origin.SERVER}, issues_token=True),
    _rule("RedispatchUnclaimed", {S.PENDING}, {S.PENDING}, {Origin.SERVER}, issues_token=True),
    _rule("Claim", {S.PENDING}, {S.RUNNING}, {Origin.TOKEN_HOLDER}),
    _rule("Finish", {S.RUNNING}, {S.COMPLETED, S.FAILED, S.CRASHED}, {Origin.TOKEN_HOLDER}),
    _rule("RetryAttempt", {S.RUNNING}, {S.SCHEDULED}, {Origin.TOKEN_HOLDER, Origin.SERVER},
          answers=RETRIABLE_STATES),
    _rule("MarkCrashed", {S.PENDING, S.RUNNING}, {S.CRASHED}, {Origin.SERVER}),
    _rule("CancelWaiting", {S.SCHEDULED, S.PENDING}, {S.CANCELLED}, {Origin.USER, Origin.SERVER}),
    _rule("RequestCancel", {S.RUNNING}, {S.CANCELLING}, {Origin.USER, Origin.SERVER}),
    _rule("FinishCancel", {S.CANCELLING}, {S.CANCELLED}, {Origin.TOKEN_HOLDER, Origin.SERVER}),
    _rule("RerunFinished", FINAL_STATES, {S.SCHEDULED}, {Origin.USER}),
)
RETRY_ATTEMPT = next(rule for rule in RULES if rule.answers)

# Besides changes of state, one write removes runs: a schedule that changes takes back its
# future runs that are still SCHEDULED and never attempted, the state checked by the statement
# that deletes them (store/deployment_schedules.py: delete_future_runs).


@dataclass(frozen=True)
class Attempts:
    """Where a run stands in its attempts: the current one (1-based once claimed), how many
    retries it may have, and the delays before them."""

    attempt: int = 0
    retries: int = 0
    delays: float | list[float] = 0.0

    def left(self) -> bool:
        return self.attempt <= self.retries

    def delay_s(self) -> float:
        """The wait before retrying after this attempt; a list's last delay repeats."""
        return retry_delay_s(self.delays, self.attempt)


NO_RETRIES = Attempts()


@dataclass(frozen=True)
class Decision:
    """The whole outcome of a proposal: whether it is accepted, under which rule, and the state
    to write, which is the proposed one except when a failure is retried (AwaitingRetry, a
    SCHEDULED run due again after `delay_s`)."""

    accepted: bool
    rule: Rule | None
    reason: str = ""
    target: StateType | None = None
    name: str | None = None  # None: the proposal's own name, or the state's default
    delay_s: float | None = None  # set when the run is scheduled again after a delay

    @property
    def is_retry(self) -> bool:
        return self.rule is RETRY_ATTEMPT


def decide(current: StateType, proposed: StateType, origin: Origin, token_matches: bool,
           attempts: Attempts = NO_RETRIES) -> Decision:
    """Judge a proposed change of a run from `current` to `proposed` (pure)."""
    rule = _matching_rule(current, proposed, origin)
    if rule is None:
        return Decision(False, None, f"a run cannot go from {current.value} to {proposed.value}"
                                     f" ({origin.value})")
    if origin is Origin.TOKEN_HOLDER and not token_matches:
        return Decision(False, rule, "the dispatch token is not the current attempt's")
    if _retried(current, proposed, origin, attempts):
        return Decision(True, RETRY_ATTEMPT, target=S.SCHEDULED, name=AWAITING_RETRY,
                        delay_s=attempts.delay_s())
    return Decision(True, rule, target=proposed)


def _matching_rule(current: StateType, proposed: StateType, origin: Origin) -> Rule | None:
    return next((rule for rule in RULES if not rule.answers and current in rule.from_states
                 and proposed in rule.to_states and origin in rule.origins), None)


def _retried(current: StateType, proposed: StateType, origin: Origin, attempts: Attempts) -> bool:
    """A failed or crashed attempt of a running run is retried while attempts remain."""
    return (current in RETRY_ATTEMPT.from_states and proposed in RETRY_ATTEMPT.answers
            and origin in RETRY_ATTEMPT.origins and attempts.left())


def retry_message(attempts: Attempts, outcome: str, message: str | None, delay_s: float) -> str:
    """What AwaitingRetry says: how the attempt ended, and when the next one starts."""
    return (f"attempt {attempts.attempt} of {attempts.retries + 1} ended {outcome}"
            f"{': ' + message if message else ''}; retrying in {delay_s:g}s")


def is_final(state: StateType) -> bool:
    return state in FINAL_STATES


def retry_delay_s(delays: float | list[float], attempt: int) -> float:
    """The wait before retrying after `attempt` (1-based); a list's last delay repeats."""
    if isinstance(delays, list):
        return float(delays[min(attempt, len(delays)) - 1]) if delays else 0.0
    return float(delays)
