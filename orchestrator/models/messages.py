"""The one message that travels on the broker: which run to execute, and with which token."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class DispatchMessage(BaseModel):
    """A doorbell for one attempt of one run. Frozen; decoded strictly on the worker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    run_id: str
    token: str

    def encode(self) -> dict:
        return self.model_dump(mode="json")

    @classmethod
    def decode(cls, payload: dict) -> "DispatchMessage":
        return cls.model_validate(payload)
