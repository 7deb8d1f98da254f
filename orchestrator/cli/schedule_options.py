"""The schedule flags shared by `flowpool deploy` and `flowpool deployment schedule create`, and
turning them into a schedule (validated here, so a bad one is refused before anything is sent)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

import typer

from ..models.deployments import StoredSchedule
from ..schedules import DeploymentSchedule, IntervalSchedule, schedule_from_flags

CRON_OPTION = typer.Option(None, "--cron", help="cron schedule, e.g. '0 9 * * 1-5'")
INTERVAL_OPTION = typer.Option(None, "--interval",
                               help="interval schedule: seconds (3600), PT1H or 1:00:00")
ANCHOR_OPTION = typer.Option(None, "--anchor-date",
                             help="with --interval: when the intervals count from"
                                  " (default: now, or the anchor the deployment has already)")
RRULE_OPTION = typer.Option(None, "--rrule", help="RFC 5545 rule, e.g. 'FREQ=WEEKLY;BYDAY=MO'")
TIMEZONE_OPTION = typer.Option(None, "--timezone",
                               help="IANA time zone of the schedule, e.g. Europe/Paris (default UTC)")


def schedule_from_options(cron: str | None, interval: str | None, anchor_date: str | None,
                          rrule: str | None, timezone_name: str | None, *,
                          active: bool = True, parameters: dict[str, Any] | None = None,
                          slug: str | None = None) -> DeploymentSchedule | None:
    """The schedule the flags describe, or None when no schedule flag is given."""
    entry = schedule_from_flags(now=datetime.now(timezone.utc), cron=cron, interval=interval,
                                anchor_date=anchor_date, rrule=rrule, timezone=timezone_name,
                                active=active, parameters=parameters)
    if entry is not None and slug:
        entry = entry.model_copy(update={"slug": slug})
    return entry


def keep_interval_anchor(entry: DeploymentSchedule,
                         current: Sequence[StoredSchedule]) -> DeploymentSchedule:
    """An interval given without --anchor-date keeps the anchor of the deployment's current
    schedule with the same interval and time zone, so a redeploy does not shift its times."""
    schedule = entry.schedule
    if not isinstance(schedule, IntervalSchedule):
        return entry
    for stored in current:
        old = stored.schedule
        if (isinstance(old, IntervalSchedule) and old.interval_s == schedule.interval_s
                and old.timezone == schedule.timezone):
            return entry.model_copy(update={"schedule": schedule.model_copy(
                update={"anchor_date": old.anchor_date})})
    return entry
