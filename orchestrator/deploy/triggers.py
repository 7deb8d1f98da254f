"""A deployment's `triggers:` as automations that run it, as Prefect makes them.

Each entry is an event trigger (`match`, `match_related`, `after`, `expect`, `for_each`,
`posture`, `threshold`, `within`), or a compound or sequence of them (`type`, `triggers`,
`require`, `within`), plus what Prefect puts beside it: `enabled`, `name`,
`description`, and the `parameters` / `job_variables` of the run it creates, templated from
the event (`{{ event.payload.result }}`).
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import FieldError
from ..models.automations import METRIC_UNSUPPORTED, AutomationCreate
from ..steps.diagnostics import LineIndex, Loc, field_error
from .schema import describe_error

TRIGGER_FIELDS = ("type", "match", "match_related", "after", "expect", "for_each", "posture",
                  "threshold", "within", "triggers", "require")
ACTION_FIELDS = ("parameters", "job_variables")


def automations_of(triggers: Any, full_name: str, loc: Loc, lines: LineIndex | None
                   ) -> tuple[list[AutomationCreate] | None, list[FieldError]]:
    """The automations of `triggers:` (None when the key is absent: the deployment's
    automations stay as they are), and the errors found."""
    if triggers is None:
        return None, []
    if not isinstance(triggers, list):
        return None, [field_error(loc + ("triggers",), "write a list of triggers, each with"
                                  " `expect:` and `match:` or `match_related:`", lines)]
    automations, errors = [], []
    for position, entry in enumerate(triggers):
        where = loc + ("triggers", position)
        if not isinstance(entry, dict):
            errors.append(field_error(where, "a trigger is a mapping (expect:, match:, ...)",
                                      lines))
        elif entry.get("type") == "metric":
            errors.append(field_error(where + ("type",), METRIC_UNSUPPORTED, lines))
        else:
            found = _automation(entry, full_name, position, where, lines)
            (automations if isinstance(found, AutomationCreate) else errors).extend(
                [found] if isinstance(found, AutomationCreate) else found)
    return automations, errors


def _automation(entry: dict[str, Any], full_name: str, position: int, where: Loc,
                lines: LineIndex | None) -> AutomationCreate | list[FieldError]:
    known = {"enabled", "name", "description", *TRIGGER_FIELDS, *ACTION_FIELDS}
    errors = [field_error(where + (key,), "unknown key of a trigger; use: "
                          + ", ".join(sorted(known)), lines) for key in sorted(set(entry) - known)]
    action = {"type": "run-deployment", **{k: entry[k] for k in ACTION_FIELDS if k in entry}}
    body = {"name": entry.get("name") or f"{full_name}__automation_{position + 1}",
            "description": entry.get("description") or "",
            "enabled": entry.get("enabled", True),
            "trigger": {k: entry[k] for k in TRIGGER_FIELDS if k in entry},
            "actions": [action]}
    try:
        automation = AutomationCreate.model_validate(body)
    except ValidationError as exc:
        return errors + [field_error(where + _in_entry(tuple(e["loc"])),
                                     describe_error(e).removeprefix("Value error, "), lines)
                         for e in exc.errors()]
    return errors or automation


def _in_entry(loc: tuple) -> tuple:
    """Where a field of the automation was written in the trigger entry."""
    if loc[:1] == ("trigger",):
        return loc[1:]
    if loc[:3] == ("actions", 0, "run-deployment"):
        return loc[3:]
    return loc
