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

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=100)]
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
