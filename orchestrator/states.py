"""Flow-run state types and the rules that say which changes are allowed.

The rules are data: each names the states it leaves from, the states it goes to, who may
propose it (a worker or engine holding the attempt's dispatch token, or the server itself)
and whether it issues a new dispatch token. `decide()` is the only judge; the store applies
an accepted change as one compare-and-set on (state, token).
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
    """One allowed kind of state change."""

    name: str
    from_states: frozenset[StateType]
    to_states: frozenset[StateType]
    origins: frozenset[Origin]
    issues_token: bool = False


def _rule(name, from_states, to_states, origins, issues_token=False) -> Rule:
    return Rule(name, frozenset(from_states), frozenset(to_states), frozenset(origins), issues_token)


RULES: tuple[Rule, ...] = (
    _rule("Dispatch", {S.SCHEDULED}, {S.PENDING}, {Origin.SERVER}, issues_token=True),
    _rule("RedispatchUnclaimed", {S.PENDING}, {S.PENDING}, {Origin.SERVER}, issues_token=True),
    _rule("ReturnUnclaimedToQueue", {S.PENDING}, {S.SCHEDULED}, {Origin.SERVER}),
    _rule("Claim", {S.PENDING}, {S.RUNNING}, {Origin.TOKEN_HOLDER}),
    _rule("Finish", {S.RUNNING}, {S.COMPLETED, S.FAILED, S.CRASHED}, {Origin.TOKEN_HOLDER}),
    _rule("RetryAttempt", {S.RUNNING, S.CANCELLING}, {S.SCHEDULED}, {Origin.SERVER}),
    _rule("MarkCrashed", {S.PENDING, S.RUNNING}, {S.CRASHED}, {Origin.SERVER}),
    _rule("CancelWaiting", {S.SCHEDULED, S.PENDING}, {S.CANCELLED}, {Origin.USER, Origin.SERVER}),
    _rule("RequestCancel", {S.RUNNING}, {S.CANCELLING}, {Origin.USER, Origin.SERVER}),
    _rule("FinishCancel", {S.CANCELLING}, {S.CANCELLED}, {Origin.TOKEN_HOLDER, Origin.SERVER}),
    _rule("RerunFinished", FINAL_STATES, {S.SCHEDULED}, {Origin.USER}),
)


@dataclass(frozen=True)
class Decision:
    accepted: bool
    rule: Rule | None
    reason: str = ""


def decide(current: StateType, proposed: StateType, origin: Origin,
           token_matches: bool) -> Decision:
    """Judge a proposed change of a run from `current` to `proposed` (pure)."""
    for rule in RULES:
        if current in rule.from_states and proposed in rule.to_states and origin in rule.origins:
            if origin is Origin.TOKEN_HOLDER and not token_matches:
                return Decision(False, rule, "the dispatch token is not the current attempt's")
            return Decision(True, rule)
    return Decision(False, None, f"a run cannot go from {current.value} to {proposed.value}"
                                 f" ({origin.value})")


def is_final(state: StateType) -> bool:
    return state in FINAL_STATES


RETRIABLE_STATES = frozenset({S.FAILED, S.CRASHED})


def should_retry(current: StateType, proposed: StateType, attempt: int, retries: int) -> bool:
    """A failed or crashed attempt of a running run is retried while attempts remain."""
    return current is S.RUNNING and proposed in RETRIABLE_STATES and attempt <= retries


def retry_delay_s(delays: float | list[float], attempt: int) -> float:
    """The wait before retrying after `attempt` (1-based); a list's last delay repeats."""
    if isinstance(delays, list):
        return float(delays[min(attempt, len(delays)) - 1]) if delays else 0.0
    return float(delays)
