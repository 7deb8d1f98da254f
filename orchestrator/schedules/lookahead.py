"""Materialization: which scheduled runs to create ahead of time, and the key that makes
creating them idempotent.

Pure policy, no database: the caller passes the schedule, `now` and what already exists,
and inserts the returned times with `idempotency_key()` under a unique constraint,
skipping conflicts. A double tick, a restart or two scheduler processes then compute
the same times and keys and cannot create a run twice.

The lookahead is Prefect's: create the fewest runs that satisfy, in this order of
precedence, at most `max_runs` runs, none more than `max_ahead` away, at least
`min_runs` runs, and runs until at least `min_ahead` from now. (Prefect's docs also say
an hourly schedule keeps 100 hours of runs; its code, followed here, keeps the fewest.)
Times missed while no scheduler ran are not created afterwards: the first time is `now`
or later.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .models import DeploymentSchedule, Schedule
from .occurrences import iter_occurrences


@dataclass(frozen=True)
class Lookahead:
    """How far ahead runs are created; the defaults are Prefect's."""

    max_runs: int = 100
    max_ahead: timedelta = timedelta(days=100)
    min_runs: int = 3
    min_ahead: timedelta = timedelta(hours=1)


DEFAULT_LOOKAHEAD = Lookahead()


@dataclass(frozen=True)
class FutureRuns:
    """What a schedule already has from `now` on: auto-created runs still SCHEDULED with a
    scheduled time at or after `now` (one `count(*), max(scheduled_time)` query)."""

    count: int = 0
    latest: datetime | None = None


NO_FUTURE_RUNS = FutureRuns()


def needs_more_runs(existing: FutureRuns, now: datetime,
                    lookahead: Lookahead = DEFAULT_LOOKAHEAD) -> bool:
    """Whether a schedule falls short of the minimums: too few runs, or not far enough ahead."""
    if existing.count < lookahead.min_runs or existing.latest is None:
        return True
    return existing.latest < now + lookahead.min_ahead


def scheduled_times(schedule: Schedule, now: datetime,
                    lookahead: Lookahead = DEFAULT_LOOKAHEAD) -> list[datetime]:
    """The times that should have runs, from `now` (inclusive) on, under `lookahead`."""
    latest_allowed = now + lookahead.max_ahead
    wanted_until = now + lookahead.min_ahead
    times: list[datetime] = []
    for when in iter_occurrences(schedule, now):
        if when > latest_allowed or len(times) >= lookahead.max_runs:
            break
        times.append(when)
        if len(times) >= lookahead.min_runs and when >= wanted_until:
            break
    return times


def times_to_create(entry: DeploymentSchedule, now: datetime,
                    existing: FutureRuns = NO_FUTURE_RUNS,
                    lookahead: Lookahead = DEFAULT_LOOKAHEAD) -> list[datetime]:
    """The scheduled times to insert for one schedule of a deployment at `now`.

    Nothing for an inactive schedule or one that already meets the minimums; otherwise
    every time `scheduled_times()` wants, including those that exist already: the insert
    skips them on the idempotency key, so a gap (a deleted run) is filled and a run a user
    cancelled is not recreated (its key is taken).
    """
    if not entry.active or not needs_more_runs(existing, now, lookahead):
        return []
    return scheduled_times(entry.schedule, now, lookahead)


def times_not_yet_created(times: list[datetime], existing: FutureRuns) -> list[datetime]:
    """The part of `times` (from `times_to_create`) worth offering to the insert.

    When the schedule's future runs account for every wanted time up to the latest of them
    (as many runs as such times), only later times can be missing: the usual case, one new
    time per period. Otherwise a run was deleted or cancelled, and all times are offered;
    the idempotency key skips those that exist. Either way the result is the same rows.
    """
    if existing.latest is None:
        return times
    covered = sum(1 for when in times if when <= existing.latest)
    if covered != existing.count:
        return times
    return [when for when in times if when > existing.latest]


def idempotency_key(deployment_id: str, schedule_id: str, scheduled_time: datetime) -> str:
    """The run's unique key: the same text in every process for the same instant, whatever
    time zone `scheduled_time` is expressed in (no hash(), which varies per process)."""
    if scheduled_time.tzinfo is None or scheduled_time.utcoffset() is None:
        raise ValueError(f"scheduled_time must be timezone-aware, got {scheduled_time!r}")
    instant = scheduled_time.astimezone(timezone.utc)
    return f"scheduled {deployment_id} {schedule_id} {instant:%Y-%m-%dT%H:%M:%S.%fZ}"
