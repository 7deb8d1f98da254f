"""Shared pieces of every model: the base class, names, UTC timestamps, and the bounded types
every number, size and time a client sends is checked against.

The bounds themselves are in `orchestrator/bounds.py`. Numbers are strict: `true` is not 1
and `"inf"` is not a float, so a typo is refused, not guessed.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict,
                      StringConstraints)

from ..bounds import MAX_COUNT, MAX_DURATION_S, MAX_LIST_ITEMS, check_json_size, check_year
from ..errors import PATTERN_ADVICE

# Pools and queues: their names are parts of queue names and keys, so plain words only.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
NAME_ADVICE = "use letters, digits, '.', '_' and '-', starting with a letter or digit (no spaces)"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=100)]

# Flows and deployments are named as people write them, as in Prefect ("Call API"): inner
# spaces are fine. A '/' would split FLOW/DEPLOYMENT; '%', '&', '<' and '>' are refused as
# Prefect refuses them; control characters and spaces at either end are typos.
_NAME_CHAR = r"[^\s/%&<>\x00-\x1f\x7f]"
DISPLAY_NAME_CORE = rf"{_NAME_CHAR}(?: *{_NAME_CHAR})*"
DISPLAY_NAME_PATTERN = rf"^{DISPLAY_NAME_CORE}$"
DISPLAY_NAME_ADVICE = ("use at most 100 characters, without '/', '%', '&', '<', '>', control"
                       " characters, or spaces at either end (e.g. \"Call API\")")
DisplayName = Annotated[str, StringConstraints(pattern=DISPLAY_NAME_PATTERN, max_length=100)]
PATTERN_ADVICE.update({NAME_PATTERN: NAME_ADVICE, DISPLAY_NAME_PATTERN: DISPLAY_NAME_ADVICE})
TAGS_FIELD = Field(default_factory=list, max_length=MAX_LIST_ITEMS)


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 3.0 is the integer 3, but true is not 1, nor "3" 3.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("give a whole number, e.g. 3")


WHOLE_NUMBER = BeforeValidator(_whole_number)
Count = Annotated[int, Field(ge=0, le=MAX_COUNT), WHOLE_NUMBER]
PositiveCount = Annotated[int, Field(ge=1, le=MAX_COUNT), BeforeValidator(_whole_number)]
Priority = PositiveCount
Seconds = Annotated[float, Strict(), Field(ge=0, le=MAX_DURATION_S, allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]


def _text_or_datetime(value: Any) -> Any:
    # Lax mode would read a number as seconds since 1970; a timestamp is written as ISO 8601.
    if isinstance(value, (str, datetime)):
        return value
    raise ValueError("a timestamp is an ISO 8601 string such as 2026-01-01T09:00:00Z")


def _in_utc(moment: datetime) -> datetime:
    """Aware timestamps in UTC; a naive one is read as UTC."""
    check_year(moment)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc)
    return check_year(moment.astimezone(timezone.utc))


Timestamp = Annotated[datetime, BeforeValidator(_text_or_datetime), AfterValidator(_in_utc)]


JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_size)]


def unset_by_default(schema: dict[str, Any]) -> None:
    """For fields that may be left out but not sent as null: no `default: null` in the
    schema, which would contradict their non-null type."""
    schema.pop("default", None)


class Model(BaseModel):
    """Base of every flowpool model: unknown fields are refused, not dropped."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
