"""Shared pieces of every model: the base class, names, and UTC timestamps."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=100)]


class Model(BaseModel):
    """Base of every flowpool model: unknown fields are refused, not dropped."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
