"""Schedule flags of the CLI: an interval redeployed without --anchor-date keeps its times."""
from __future__ import annotations

from datetime import datetime, timezone

from orchestrator.cli.schedule_options import keep_interval_anchor, schedule_from_options
from orchestrator.models.deployments import StoredSchedule
from orchestrator.schedules import CronSchedule, IntervalSchedule

THEN = datetime(2026, 1, 1, 9, 17, tzinfo=timezone.utc)


def stored(schedule) -> StoredSchedule:
    return StoredSchedule(id="s1", schedule=schedule, created=THEN, updated=THEN)


def test_no_schedule_flag_means_no_schedule():
    assert schedule_from_options(None, None, None, None, None) is None


def test_an_interval_without_anchor_keeps_the_anchor_of_the_same_interval():
    entry = schedule_from_options(None, "3600", None, None, None)
    kept = keep_interval_anchor(entry, [stored(IntervalSchedule(interval_s=3600, anchor_date=THEN))])
    assert kept.schedule.anchor_date == THEN


def test_a_different_interval_or_time_zone_starts_from_now():
    entry = schedule_from_options(None, "3600", None, None, "Europe/Paris")
    current = [stored(IntervalSchedule(interval_s=1800, anchor_date=THEN, timezone="Europe/Paris")),
               stored(IntervalSchedule(interval_s=3600, anchor_date=THEN)),
               stored(CronSchedule(cron="0 9 * * *"))]
    assert keep_interval_anchor(entry, current).schedule.anchor_date != THEN


def test_a_slug_and_parameters_are_carried():
    entry = schedule_from_options("0 9 * * *", None, None, None, None, slug="nine",
                                  parameters={"n": 1}, active=False)
    assert (entry.slug, entry.parameters, entry.active) == ("nine", {"n": 1}, False)
