"""Global concurrency limits (Prefect's "gcl"): named limits on what flow code may do at once,
and the slot leases flow runs take on them.

A limit has `limit` slots. `with concurrency("gpu", occupy=k)` holds k slots of each named
limit while its block runs (a lease the run renews); `rate_limit("api")` takes slots that are
never given back but decay at the limit's `slot_decay_per_second`. An inactive limit is not
enforced.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, Strict, StringConstraints

from ..bounds import MAX_COUNT
from .base import Count, Flag, Model, PositiveCount, unset_by_default
from .reports import RunId

# ':' is allowed: per-worker limits are commonly named like "gpu:worker-1".
LIMIT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
LimitName = Annotated[str, StringConstraints(pattern=LIMIT_NAME_PATTERN, max_length=100)]
DecayRate = Annotated[float, Strict(), Field(ge=0, le=MAX_COUNT, allow_inf_nan=False)]
MAX_NAMES_PER_REQUEST = 100
MAX_LEASES_PER_RENEWAL = 1000


class ConcurrencyLimitCreate(Model):
    name: LimitName
    limit: Count
    slot_decay_per_second: DecayRate = 0.0
    active: Flag = True


class ConcurrencyLimitUpdate(Model):
    """Fields to change; left out: unchanged (null is refused). Slots held stay held."""

    limit: Count = Field(default=None, json_schema_extra=unset_by_default)
    slot_decay_per_second: DecayRate = Field(default=None, json_schema_extra=unset_by_default)
    active: Flag = Field(default=None, json_schema_extra=unset_by_default)


class ConcurrencyLimit(Model):
    id: str
    name: str
    limit: int
    slot_decay_per_second: float = 0.0
    active: bool = True
    created: datetime
    updated: datetime
    # Read from Redis when the limit is read: slots in use now (held plus not yet decayed);
    # None when the broker does not answer.
    active_slots: float | None = None


class SlotHolding(Model):
    """One lease holding slots of a limit."""

    lease_id: str
    flow_run_id: str
    occupy: int
    expires: datetime


class ConcurrencyLimitDetail(ConcurrencyLimit):
    holders: list[SlotHolding] = Field(default_factory=list)


LimitNames = Annotated[list[LimitName], Field(min_length=1, max_length=MAX_NAMES_PER_REQUEST)]


class SlotRequest(Model):
    """Take `occupy` slots on every limit in `names` at once (all or none)."""

    names: LimitNames
    occupy: PositiveCount = 1
    mode: Literal["concurrency", "rate_limit"] = "concurrency"
    strict: Flag = False  # a missing limit is an error (404), not skipped


class SlotGrant(Model):
    """The answer: acquired, or not now (ask again, after `retry_after_s` when known)."""

    acquired: bool
    lease_id: str | None = None
    names: list[str] = Field(default_factory=list)  # the limits the lease holds slots on
    inactive: list[str] = Field(default_factory=list)  # limits that exist, not enforced
    missing: list[str] = Field(default_factory=list)
    retry_after_s: float | None = None
    lease_ttl_s: float  # renew a held lease well within this


class SlotLeaseRef(Model):
    """A lease, as its holder gives it back or renews it."""

    lease_id: RunId
    names: LimitNames
    occupy: PositiveCount = 1


class SlotRenewal(Model):
    leases: Annotated[list[SlotLeaseRef], Field(min_length=1, max_length=MAX_LEASES_PER_RENEWAL)]


class SlotRenewResult(Model):
    """Leases renewed, and leases lost (expired before this renewal: their slots may be
    someone else's now)."""

    renewed: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)


class SlotReleaseResult(Model):
    released: bool  # False: it was released already, or had expired
