"""The error a built-in step raises when the work it was asked to do failed; it lives in
flowpool's one error tree (orchestrator.errors) and is re-exported here for the steps."""
from __future__ import annotations

from ..errors import StepFailed

__all__ = ["StepFailed"]
