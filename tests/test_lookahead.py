"""Materialization: which runs a schedule gets ahead of time (Prefect's lookahead), and the
idempotency key that lets every scheduler tick insert them without duplicates."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from orchestrator.schedules import (CronSchedule, DeploymentSchedule, IntervalSchedule,
                                    RRuleSchedule)
from orchestrator.schedules.lookahead import (DEFAULT_LOOKAHEAD, FutureRuns, Lookahead,
                                              idempotency_key, needs_more_runs,
                                              scheduled_times, times_not_yet_created,
                                              times_to_create)

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)


def cron(expression: str) -> DeploymentSchedule:
    return DeploymentSchedule(schedule=CronSchedule(cron=expression))


def hours(*values: int) -> list[datetime]:
    return [NOW.replace(minute=0) + timedelta(hours=h) for h in values]


# --- Prefect's lookahead -------------------------------------------------------------------------

def test_the_defaults_are_prefects():
    assert DEFAULT_LOOKAHEAD == Lookahead(max_runs=100, max_ahead=timedelta(days=100),
                                          min_runs=3, min_ahead=timedelta(hours=1))


def test_an_hourly_schedule_gets_the_fewest_runs_meeting_both_minimums():
    # 11:00 and 12:00 already reach one hour ahead, but three runs are the minimum
    assert times_to_create(cron("0 * * * *"), NOW) == hours(1, 2, 3)


def test_a_weekly_schedule_gets_three_runs_not_a_hundred_days_of_them():
    times = times_to_create(cron("0 9 * * MON"), NOW)
    assert times == [datetime(2026, 3, d, 9, tzinfo=UTC) for d in (9, 16, 23)]


def test_a_frequent_schedule_gets_runs_until_one_hour_ahead():
    times = times_to_create(cron("*/5 * * * *"), NOW)
    assert times[0] == NOW and times[-1] == NOW + HOUR
    assert len(times) == 13


def test_no_schedule_gets_more_than_a_hundred_runs():
    every_second = DeploymentSchedule(schedule=IntervalSchedule(interval_s=1, anchor_date=NOW))
    times = times_to_create(every_second, NOW)
    assert len(times) == 100 and times[-1] == NOW + timedelta(seconds=99)


def test_no_run_is_created_more_than_a_hundred_days_ahead_even_below_the_minimum():
    yearly_in_june = cron("0 0 1 6 *")  # 91 days away: one run, not three
    assert times_to_create(yearly_in_june, NOW) == [datetime(2026, 6, 1, tzinfo=UTC)]
    yearly_in_december = cron("0 0 1 12 *")  # 274 days away: nothing yet
    assert times_to_create(yearly_in_december, NOW) == []


def test_a_time_equal_to_now_is_created_and_missed_times_are_not():
    on_the_hour = NOW.replace(minute=0)
    assert times_to_create(cron("0 * * * *"), on_the_hour)[0] == on_the_hour
    assert all(t >= NOW for t in times_to_create(cron("* * * * *"), NOW))


def test_a_custom_lookahead_is_followed():
    lookahead = Lookahead(max_runs=10, max_ahead=timedelta(days=1), min_runs=5,
                          min_ahead=timedelta(minutes=10))
    assert len(scheduled_times(CronSchedule(cron="0 * * * *"), NOW, lookahead)) == 5
    assert len(scheduled_times(CronSchedule(cron="* * * * *"), NOW, lookahead)) == 10


def test_every_kind_of_schedule_is_materialized():
    for schedule in (CronSchedule(cron="0 * * * *"),
                     IntervalSchedule(interval_s=3600, anchor_date=NOW - timedelta(minutes=30)),
                     RRuleSchedule(rrule="FREQ=HOURLY")):
        assert scheduled_times(schedule, NOW) == hours(1, 2, 3)


# --- when runs already exist ----------------------------------------------------------------------

def test_an_inactive_schedule_creates_nothing():
    paused = DeploymentSchedule(schedule=CronSchedule(cron="0 * * * *"), active=False)
    assert times_to_create(paused, NOW) == []


@pytest.mark.parametrize("existing, needed", [
    (FutureRuns(), True),
    (FutureRuns(count=2, latest=NOW + 5 * HOUR), True),       # too few
    (FutureRuns(count=3, latest=NOW + timedelta(minutes=59)), True),  # not far enough
    (FutureRuns(count=3, latest=NOW + HOUR), False),
    (FutureRuns(count=40, latest=NOW + 40 * HOUR), False),
])
def test_a_schedule_needs_runs_while_it_is_short_of_either_minimum(existing, needed):
    assert needs_more_runs(existing, NOW) is needed


def test_a_schedule_meeting_the_minimums_is_left_alone():
    existing = FutureRuns(count=3, latest=NOW + 3 * HOUR)
    assert times_to_create(cron("0 * * * *"), NOW, existing) == []


def test_a_schedule_short_of_runs_gets_every_wanted_time_including_existing_ones():
    """The insert skips the existing ones on their key; a gap (a deleted run) is refilled."""
    existing = FutureRuns(count=2, latest=NOW + 2 * HOUR)
    assert times_to_create(cron("0 * * * *"), NOW, existing) == hours(1, 2, 3)


def test_two_ticks_a_minute_apart_want_the_same_times_so_their_keys_collide():
    later = NOW + timedelta(minutes=1)
    first = times_to_create(cron("*/5 * * * *"), NOW)
    second = times_to_create(cron("*/5 * * * *"), later)
    still_ahead = [t for t in first if t >= later]
    assert set(still_ahead) <= set(second)  # every time still ahead is wanted again
    assert {idempotency_key("d", "s", t) for t in still_ahead} <= \
        {idempotency_key("d", "s", t) for t in second}


def test_interval_times_do_not_depend_on_when_the_scheduler_looks():
    every_90_min = DeploymentSchedule(schedule=IntervalSchedule(
        interval_s=5400, anchor_date=datetime(2026, 1, 1, tzinfo=UTC)))
    early = times_to_create(every_90_min, NOW)
    late = times_to_create(every_90_min, NOW + timedelta(minutes=47))
    assert [t.strftime("%H:%M") for t in early] == ["10:30", "12:00", "13:30"]
    assert late[:2] == early[1:]


def test_the_repeated_hour_of_an_hourly_cron_gives_two_runs_with_two_keys():
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 11, 1, 0, 30, tzinfo=new_york)
    times = scheduled_times(CronSchedule(cron="0 * * * *", timezone="America/New_York"), now)
    assert [t.astimezone(new_york).strftime("%H %Z") for t in times] == \
        ["01 EDT", "01 EST", "02 EST"]
    assert len({idempotency_key("d", "s", t) for t in times}) == 3


def test_when_the_existing_runs_cover_every_time_up_to_the_latest_only_later_times_are_offered():
    every_5_min = cron("*/5 * * * *")
    later = NOW + timedelta(minutes=5)
    wanted = times_to_create(every_5_min, later, FutureRuns(count=12, latest=NOW + HOUR))
    assert times_not_yet_created(wanted, FutureRuns(count=12, latest=NOW + HOUR)) == \
        [NOW + HOUR + timedelta(minutes=5)]


def test_when_a_run_is_missing_every_time_is_offered_and_the_key_decides():
    wanted = hours(1, 2, 3)
    assert times_not_yet_created(wanted, FutureRuns(count=1, latest=wanted[1])) == wanted
    assert times_not_yet_created(wanted, FutureRuns()) == wanted


# --- the idempotency key -------------------------------------------------------------------------

def test_the_key_names_deployment_schedule_and_utc_instant():
    when = datetime(2026, 3, 29, 9, tzinfo=ZoneInfo("Europe/Paris"))
    assert idempotency_key("dep-1", "sched-1", when) == \
        "scheduled dep-1 sched-1 2026-03-29T07:00:00.000000Z"


def test_the_same_instant_in_any_time_zone_has_the_same_key():
    instant = datetime(2026, 7, 1, 7, tzinfo=UTC)
    in_paris = instant.astimezone(ZoneInfo("Europe/Paris"))
    assert idempotency_key("d", "s", instant) == idempotency_key("d", "s", in_paris)


def test_keys_differ_by_deployment_schedule_and_time():
    keys = {idempotency_key("d1", "s1", NOW), idempotency_key("d2", "s1", NOW),
            idempotency_key("d1", "s2", NOW), idempotency_key("d1", "s1", NOW + HOUR),
            idempotency_key("d1", "s1", NOW + timedelta(microseconds=1))}
    assert len(keys) == 5


def test_a_naive_time_has_no_key():
    with pytest.raises(ValueError, match="timezone-aware"):
        idempotency_key("d", "s", datetime(2026, 3, 2, 10, 30))


def test_the_key_is_the_same_in_another_process():
    code = ("from datetime import datetime, timezone;"
            "from orchestrator.schedules.lookahead import idempotency_key;"
            "print(idempotency_key('d', 's', datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc)))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert other == idempotency_key("d", "s", NOW)
    assert len(other) <= 300  # fits flow_runs.idempotency_key even with UUID ids
