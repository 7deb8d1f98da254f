"""How the CLI shows a run that has not started: Late, and why it waits."""
from __future__ import annotations

from ..models import FlowRun


def state_label(run: FlowRun) -> str:
    """The state name, or Late for a SCHEDULED run past its time by more than the threshold."""
    return "Late" if run.late else run.state_name


def waiting_code(run: FlowRun) -> str | None:
    return run.waiting_reason.code.value if run.waiting_reason else None


def waiting_text(run: FlowRun) -> str | None:
    reason = run.waiting_reason
    return f"{reason.code.value}: {reason.message}" if reason else None
