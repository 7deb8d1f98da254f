"""`emit_event` from flow code (Prefect's `prefect.events.emit_event`): an event the
automations can trigger on, related to the flow run that emitted it.

    emit_event("orders.loaded", resource={"prefect.resource.id": "db.orders"},
               payload={"rows": 120})
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..errors import FieldError, InvalidInput
from ..models.events import Event, EventCreate, resource as labels
from .run_context import ambient_reporter, flow_run_context


def emit_event(event: str, resource: dict[str, str],
               related: list[dict[str, str]] | None = None,
               payload: dict[str, Any] | None = None, occurred: datetime | None = None,
               **_prefect_only: Any) -> Event | None:
    """Emit an event; the stored event, or None when the server could not be reached (the
    flow goes on). A malformed event raises InvalidInput naming the field."""
    related = list(related or []) + _this_run()
    try:
        request = EventCreate(event=event, resource=resource, related=related,
                              payload=payload or {}, occurred=occurred)
    except ValidationError as exc:
        raise InvalidInput("the event cannot be emitted", [FieldError(
            ".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in exc.errors()]) from None
    return ambient_reporter().emit_event(request)


def _this_run() -> list[dict[str, str]]:
    context = flow_run_context.get()
    if context is None:
        return []
    run = context.run
    return [labels(f"flowpool.flow-run.{run.id}", run.name, "flow-run")]


__all__ = ["emit_event"]
