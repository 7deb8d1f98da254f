"""Schedules: what users may write, what is refused and why, and which instants come out,
including both daylight-saving transitions of Europe/Paris and America/New_York."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from orchestrator.errors import InvalidInput
from orchestrator.parameters import parameter_schema
from orchestrator.schedules import (CronSchedule, DeploymentSchedule, IntervalSchedule,
                                    RRuleSchedule, check_schedule_parameters, describe,
                                    iter_occurrences, occurrences, run_parameters,
                                    schedule_from_flags, schedules_from_config)

UTC = timezone.utc
NOW = datetime(2026, 3, 1, 10, 30, 15, 123456, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")

# 2026 transitions. Spring: 02:00 jumps to 03:00 in both zones. Autumn: the hour that
# repeats is 02:00-03:00 in Paris and 01:00-02:00 in New York.
TRANSITIONS = {
    "Europe/Paris": {"spring": date(2026, 3, 29), "fall": date(2026, 10, 25), "repeated_hour": 2},
    "America/New_York": {"spring": date(2026, 3, 8), "fall": date(2026, 11, 1),
                         "repeated_hour": 1},
}
ZONES = sorted(TRANSITIONS)


def at(zone: str, day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)


def local(times: list[datetime], zone: str) -> list[str]:
    """Times as local ISO strings: the offset shows which pass of a repeated hour it is."""
    return [t.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes") for t in times]


def gaps(times: list[datetime]) -> set[timedelta]:
    return {later - earlier for earlier, later in zip(times, times[1:])}


def one_entry(item: dict) -> DeploymentSchedule:
    [entry] = schedules_from_config({"schedules": [item]}, NOW)
    return entry


def refusal(item, **config) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        schedules_from_config(config or {"schedules": [item]}, NOW)
    return caught.value


def only_error(exc: InvalidInput) -> tuple[str, str]:
    [error] = exc.errors
    return error.field, error.message


# --- reading flowpool.yaml / prefect.yaml --------------------------------------------------

@pytest.mark.parametrize("config", [
    {}, {"schedule": None}, {"schedule": {}}, {"schedules": []}, {"schedules": None},
    {"schedule": None, "schedules": []},
])
def test_a_missing_null_or_empty_schedule_means_no_schedule(config):
    assert schedules_from_config(config, NOW) == []


def test_the_singular_schedule_key_holds_one_schedule():
    [entry] = schedules_from_config({"schedule": {"cron": "0 9 * * 1-5"}}, NOW)
    assert entry.schedule == CronSchedule(cron="0 9 * * 1-5", timezone="UTC", day_or=True)
    assert entry.active is True and entry.parameters == {}


def test_a_prefect_yaml_schedules_list_reads_every_kind_with_its_options():
    deployment = yaml.safe_load("""
        name: nightly
        schedules:
          - cron: "0 9 * * 1-5"
            timezone: Europe/Paris
            day_or: false
            active: false
            parameters: {repo: flowpool}
            slug: weekday-mornings
          - interval: 600
            anchor_date: 2026-01-01T00:00:00
            timezone: America/New_York
          - rrule: "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=8"
    """)
    cron, interval, rrule = schedules_from_config(deployment, NOW)
    assert cron.schedule == CronSchedule(cron="0 9 * * 1-5", timezone="Europe/Paris",
                                         day_or=False)
    assert (cron.active, cron.parameters, cron.slug) == (False, {"repo": "flowpool"},
                                                         "weekday-mornings")
    assert interval.schedule.interval_s == 600
    # a naive anchor is a wall-clock time in the schedule's zone, stored in UTC
    assert interval.schedule.anchor_date == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert rrule.schedule == RRuleSchedule(rrule="FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=8",
                                           timezone="UTC")


@pytest.mark.parametrize("written, seconds", [
    (3600, 3600), (3600.5, 3600.5), ("3600", 3600), ("PT1H", 3600), ("PT10M", 600),
    ("1:00:00", 3600), ("0:00:30", 30), ("P1D", 86400), ("P1DT2H", 93600), ("P1W", 604800),
    (timedelta(minutes=5), 300),
])
def test_an_interval_is_seconds_an_iso_8601_duration_or_h_mm_ss(written, seconds):
    assert one_entry({"interval": written}).schedule.interval_s == seconds


def test_the_schedule_defaults_prefect_3_0_release_candidates_wrote_are_accepted():
    """`prefect deploy` wrote `max_active_runs:` (null) and `catchup: false` into each
    schedule: both are what flowpool does anyway."""
    entry = one_entry({"cron": "0 16 * * *", "timezone": "Europe/Lisbon", "day_or": True,
                       "active": True, "max_active_runs": None, "catchup": False})
    assert entry.schedule == CronSchedule(cron="0 16 * * *", timezone="Europe/Lisbon")
    assert entry.active


def test_an_interval_without_anchor_date_is_anchored_at_now_to_the_second():
    schedule = one_entry({"interval": 3600}).schedule
    assert schedule.anchor_date == NOW.replace(microsecond=0)


@pytest.mark.parametrize("anchor, expected_utc", [
    ("2026-07-01T09:00:00", datetime(2026, 7, 1, 7, tzinfo=UTC)),        # wall clock, CEST
    ("2026-07-01T09:00:00+00:00", datetime(2026, 7, 1, 9, tzinfo=UTC)),  # an instant
    (date(2026, 1, 1), datetime(2025, 12, 31, 23, tzinfo=UTC)),          # YAML date: midnight
])
def test_an_anchor_date_is_read_in_the_schedule_timezone_unless_it_has_an_offset(
        anchor, expected_utc):
    entry = one_entry({"interval": 3600, "anchor_date": anchor, "timezone": "Europe/Paris"})
    assert entry.schedule.anchor_date == expected_utc


def test_an_rrule_takes_its_timezone_from_dtstart_when_none_is_given():
    entry = one_entry({"rrule": "DTSTART;TZID=Europe/Paris:20260105T090000\nRRULE:FREQ=DAILY"})
    assert entry.schedule.timezone == "Europe/Paris"
    first = occurrences(entry.schedule, datetime(2026, 1, 6, tzinfo=UTC), limit=1)
    assert local(first, "Europe/Paris") == ["2026-01-06T09:00+01:00"]


def test_error_fields_carry_the_prefix_of_the_deployment_they_belong_to():
    with pytest.raises(InvalidInput) as caught:
        schedules_from_config({"schedules": [{"cron": "0 9 * * *"}, {"cron": "bad"}]}, NOW,
                              field="deployments[2]")
    assert [e.field for e in caught.value.errors] == ["deployments[2].schedules[1].cron"]


# --- bad input: refused with the field and the fix ---------------------------------------------

@pytest.mark.parametrize("item, field, says", [
    ({"cron": "61 * * * *"}, "schedules[0].cron", "is not a valid cron expression"),
    ({"cron": "0 9 * *"}, "schedules[0].cron", "e.g. '0 9 * * 1-5'"),
    ({"cron": "R 1 * * *"}, "schedules[0].cron", "random (R) or hashed (H)"),
    ({"cron": "H * * * *"}, "schedules[0].cron", "write explicit values"),
    ({"cron": "0 0 30 2 *"}, "schedules[0].cron", "never fires"),
    ({"cron": "0 0 13 * MON", "day_or": False, "timezone": "Europe/Pariss"},
     "schedules[0].timezone", "did you mean Europe/Paris?"),
    ({"cron": "0 9 * * *", "timezone": "europe/paris"}, "schedules[0].timezone",
     "unknown time zone 'europe/paris' (did you mean Europe/Paris?)"),
    ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "schedules[0].timezone",
     "use an IANA name such as Europe/Paris"),
    ({"rrule": "FREQ=SOMETIMES"}, "schedules[0].rrule", "malformed rrule"),
    ({"rrule": "FREQ=DAILY;BYHOUR=25"}, "schedules[0].rrule", "RFC 5545"),
    ({"rrule": ""}, "schedules[0].rrule", "the rrule is empty"),
    ({"rrule": "FREQ=DAILY;COUNT=3"}, "schedules[0].rrule", "instead"),
    ({"rrule": "RRULE:FREQ=DAILY\nRDATE:" + ",".join(["20260101T000000"] * 500)},
     "schedules[0].rrule", "more than 6500"),
    ({"rrule": "DTSTART;TZID=Europe/Paris:20260105T090000\nRRULE:FREQ=DAILY",
      "timezone": "America/New_York"}, "schedules[0].rrule", "give the same zone"),
    ({"interval": 0}, "schedules[0].interval", "more than 0 seconds"),
    ({"interval": -5}, "schedules[0].interval", "more than 0 seconds"),
    ({"interval": "PT0S"}, "schedules[0].interval", "more than 0 seconds"),
    ({"interval": "P1M"}, "schedules[0].interval", "no fixed length"),
    ({"interval": "soon"}, "schedules[0].interval", "ISO-8601 duration (PT1H"),
    ({"interval": True}, "schedules[0].interval", "is not a duration"),
    ({"interval": 60, "anchor_date": "next tuesday"}, "schedules[0].anchor_date", "datetime"),
    ({"cron": "0 9 * * *", "active": "maybe"}, "schedules[0].active", "boolean"),
    ({"cron": "0 9 * * *", "parameters": ["repo"]}, "schedules[0].parameters", "dictionary"),
])
def test_bad_schedules_are_refused_naming_the_field_and_the_fix(item, field, says):
    error_field, message = only_error(refusal(item))
    assert error_field == field
    assert says in message


@pytest.mark.parametrize("item, field, says", [
    ("0 9 * * *", "schedules[0]", "a schedule is a mapping such as {cron:"),
    ({"timezone": "UTC"}, "schedules[0]", "give one of cron, interval or rrule"),
    ({"cron": "0 9 * * *", "interval": 60}, "schedules[0].interval",
     "give only one of cron or interval"),
    ({"cron": "0 9 * * *", "anchor_date": "2026-01-01"}, "schedules[0].anchor_date",
     "anchor_date only applies to interval schedules"),
    ({"interval": 60, "day_or": False}, "schedules[0].day_or", "only applies to cron"),
    ({"cron": "0 9 * * *", "catchup": True}, "schedules[0].catchup",
     "flowpool does not run the times missed while no scheduler ran; remove catchup"),
    ({"cron": "0 9 * * *", "tz": "UTC"}, "schedules[0].tz",
     "unknown key; a cron schedule takes: active, cron, day_or, parameters, slug, timezone"),
])
def test_schedule_items_of_the_wrong_shape_are_refused(item, field, says):
    error_field, message = only_error(refusal(item))
    assert error_field == field and says in message


@pytest.mark.parametrize("config, field, says", [
    ({"schedule": {"cron": "0 9 * * *"}, "schedules": [{"cron": "0 9 * * *"}]}, "schedule",
     "not both"),
    ({"schedules": {"cron": "0 9 * * *"}}, "schedules", "schedules is a list"),
    ({"schedule": [{"cron": "0 9 * * *"}]}, "schedule", "for a list use schedules"),
])
def test_the_schedule_keys_of_a_deployment_are_refused_when_misused(config, field, says):
    error_field, message = only_error(refusal(None, **config))
    assert error_field == field and says in message


def test_every_bad_schedule_of_a_deployment_is_reported_at_once():
    exc = refusal(None, schedules=[{"cron": "bad"}, {"cron": "0 9 * * *"},
                                   {"interval": 0}])
    assert [e.field for e in exc.errors] == ["schedules[0].cron", "schedules[2].interval"]
    assert "schedules[0].cron:" in str(exc)


def test_two_schedules_cannot_share_a_slug():
    exc = refusal(None, schedules=[{"cron": "0 9 * * *", "slug": "daily"},
                                   {"interval": 60, "slug": "daily"}])
    assert only_error(exc) == ("schedules[1].slug",
                               "slug 'daily' is used by another schedule; slugs are unique")


def test_schedule_models_refuse_bad_values_on_their_own_too():
    """The API receives models, not YAML: the same checks and words apply."""
    with pytest.raises(ValidationError, match="is not a valid cron expression"):
        CronSchedule(cron="every morning")
    with pytest.raises(ValidationError, match="more than 0 seconds"):
        IntervalSchedule(interval_s=0, anchor_date=NOW)
    with pytest.raises(ValidationError, match="a schedule needs one of: cron, interval_s, rrule"):
        DeploymentSchedule.model_validate({"schedule": {"timezone": "UTC"}})


def test_a_deployment_schedule_survives_a_round_trip_through_json():
    for item in ({"cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "day_or": False},
                 {"interval": "PT90M", "anchor_date": "2026-01-01T00:00:00"},
                 {"rrule": "FREQ=WEEKLY;BYDAY=MO", "parameters": {"n": 1}, "active": False}):
        entry = one_entry(item)
        assert DeploymentSchedule.model_validate_json(entry.model_dump_json()) == entry


def test_describe_gives_one_line_per_kind():
    assert describe(CronSchedule(cron="0 9 * * 1-5", timezone="Europe/Paris")) == \
        "cron '0 9 * * 1-5' (Europe/Paris)"
    assert describe(IntervalSchedule(interval_s=5400, anchor_date=NOW.replace(microsecond=0))) \
        == "every 1:30:00 from 2026-03-01T10:30:15+00:00 (UTC)"
    assert describe(RRuleSchedule(rrule="FREQ=DAILY")) == "rrule 'FREQ=DAILY' (UTC)"


# --- CLI flags ---------------------------------------------------------------------------------

def test_no_schedule_flag_means_no_schedule():
    assert schedule_from_flags(now=NOW) is None


def test_cli_flags_build_each_kind():
    cron = schedule_from_flags(now=NOW, cron="0 9 * * 1-5", timezone="Europe/Paris")
    assert cron.schedule == CronSchedule(cron="0 9 * * 1-5", timezone="Europe/Paris")
    interval = schedule_from_flags(now=NOW, interval="3600", anchor_date="2026-01-01T00:00:00")
    assert interval.schedule == IntervalSchedule(interval_s=3600,
                                                 anchor_date=datetime(2026, 1, 1, tzinfo=UTC))
    rrule = schedule_from_flags(now=NOW, rrule="FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=8",
                                active=False, parameters={"repo": "x"})
    assert (rrule.schedule.rrule, rrule.active, rrule.parameters) == \
        ("FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=8", False, {"repo": "x"})


@pytest.mark.parametrize("flags, field, says", [
    ({"cron": "0 9 * * *", "interval": "60"}, "--interval",
     "give only one of --cron or --interval"),
    ({"cron": "0 9 * * *", "anchor_date": "2026-01-01"}, "--anchor-date",
     "--anchor-date only applies to --interval schedules"),
    ({"timezone": "Europe/Paris"}, "--timezone", "give one of --cron, --interval or --rrule"),
    ({"cron": "0 9 * * *", "timezone": "Paris"}, "--timezone", "unknown time zone 'Paris'"),
    ({"interval": "0"}, "--interval", "more than 0 seconds"),
    ({"rrule": "FREQ=NEVER"}, "--rrule", "malformed rrule"),
])
def test_bad_cli_flags_are_refused_naming_the_flag(flags, field, says):
    with pytest.raises(InvalidInput) as caught:
        schedule_from_flags(now=NOW, **flags)
    error_field, message = only_error(caught.value)
    assert error_field == field and says in message


# --- parameters ------------------------------------------------------------------------------

def get_repo_info(repo: str, limit: int = 10) -> None:
    """A flow with one required parameter."""


SCHEMA = parameter_schema(get_repo_info)


def test_a_schedule_is_refused_when_a_required_parameter_has_no_value():
    with pytest.raises(InvalidInput) as caught:
        check_schedule_parameters([one_entry({"cron": "0 9 * * *"})], SCHEMA, {})
    field, message = only_error(caught.value)
    assert field == "schedules[0].parameters.repo"
    assert message.startswith("required parameter 'repo' has no value; set it in this "
                              "schedule's parameters or the deployment's parameters")


@pytest.mark.parametrize("schedule_parameters, deployment_parameters", [
    ({"repo": "flowpool"}, {}), ({}, {"repo": "flowpool"}), ({"limit": 3}, {"repo": "x"}),
])
def test_required_parameters_may_come_from_the_schedule_or_the_deployment(
        schedule_parameters, deployment_parameters):
    entry = one_entry({"cron": "0 9 * * *", "parameters": schedule_parameters})
    check_schedule_parameters([entry], SCHEMA, deployment_parameters)


def test_schedule_parameters_must_fit_the_flow_when_the_schema_is_enforced():
    entry = one_entry({"cron": "0 9 * * *", "parameters": {"limit": "many", "colour": 1}})
    with pytest.raises(InvalidInput) as caught:
        check_schedule_parameters([entry], SCHEMA, {"repo": "x"})
    assert sorted(e.field for e in caught.value.errors) == [
        "schedules[0].parameters.colour", "schedules[0].parameters.limit"]
    check_schedule_parameters([entry], SCHEMA, {"repo": "x"}, enforce_schema=False)


def test_a_run_takes_the_deployment_parameters_overridden_by_the_schedule_ones():
    entry = one_entry({"cron": "0 9 * * *", "parameters": {"limit": 3}})
    assert run_parameters({"repo": "x", "limit": 10}, entry) == {"repo": "x", "limit": 3}


# --- iteration basics --------------------------------------------------------------------------

def test_occurrences_start_inclusive_end_inclusive_ascending_in_utc():
    schedule = CronSchedule(cron="0 9 * * *")
    start = datetime(2026, 5, 1, 9, tzinfo=UTC)
    times = occurrences(schedule, start, end=datetime(2026, 5, 3, 9, tzinfo=UTC))
    assert times == [datetime(2026, 5, d, 9, tzinfo=UTC) for d in (1, 2, 3)]
    assert all(t.tzinfo is UTC for t in times)
    assert occurrences(schedule, start + timedelta(microseconds=1), limit=1) == \
        [datetime(2026, 5, 2, 9, tzinfo=UTC)]


def test_occurrences_stop_at_the_limit_or_the_end_whichever_comes_first():
    schedule = CronSchedule(cron="*/10 * * * *")
    start = datetime(2026, 5, 1, tzinfo=UTC)
    assert len(occurrences(schedule, start, limit=4)) == 4
    assert len(occurrences(schedule, start, end=start + timedelta(minutes=25), limit=9)) == 3
    assert occurrences(schedule, start, limit=0) == []


def test_occurrences_need_an_aware_start_and_a_bound():
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(CronSchedule(cron="0 9 * * *"), datetime(2026, 5, 1), limit=1)
    with pytest.raises(ValueError, match="give end or limit"):
        occurrences(CronSchedule(cron="0 9 * * *"), NOW)


def test_cron_day_or_chooses_between_either_day_field_and_both():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    either = occurrences(CronSchedule(cron="0 0 13 * FRI"), start, limit=10)
    both = occurrences(CronSchedule(cron="0 0 13 * FRI", day_or=False), start, limit=3)
    assert {(t.day, t.weekday()) for t in both} == {(13, 4)}  # Friday the 13th only
    assert any(t.day != 13 for t in either) and any(t.weekday() != 4 for t in either)


def test_a_cron_runs_on_the_wall_clock_of_its_timezone():
    times = occurrences(CronSchedule(cron="0 9 * * 1-5", timezone="Europe/Paris"),
                        datetime(2026, 1, 2, tzinfo=UTC), limit=2)
    assert local(times, "Europe/Paris") == ["2026-01-02T09:00+01:00", "2026-01-05T09:00+01:00"]


def test_an_interval_counts_from_its_anchor_not_from_the_start():
    schedule = IntervalSchedule(interval_s=3600, anchor_date=datetime(2026, 1, 1, 0, 20,
                                                                      tzinfo=UTC))
    times = occurrences(schedule, datetime(2026, 6, 1, 10, 0, tzinfo=UTC), limit=2)
    assert times == [datetime(2026, 6, 1, 10, 20, tzinfo=UTC),
                     datetime(2026, 6, 1, 11, 20, tzinfo=UTC)]


def test_an_anchor_in_the_future_also_fixes_the_times_before_it():
    schedule = IntervalSchedule(interval_s=86400, anchor_date=datetime(2026, 1, 1, tzinfo=UTC))
    assert occurrences(schedule, datetime(2025, 12, 30, 12, tzinfo=UTC), limit=2) == \
        [datetime(2025, 12, 31, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)]


def test_an_interval_of_a_day_and_a_half_moves_whole_days_on_the_wall_clock():
    """36 h = one wall-clock day + 12 h of absolute time, each counted from the anchor."""
    schedule = IntervalSchedule(interval_s=36 * 3600, timezone="Europe/Paris",
                                anchor_date=datetime(2026, 3, 27, 9))  # 09:00 CET
    times = occurrences(schedule, datetime(2026, 3, 27, tzinfo=UTC), limit=3)
    assert local(times, "Europe/Paris") == [
        "2026-03-27T09:00+01:00", "2026-03-28T21:00+01:00",
        "2026-03-30T09:00+02:00"]  # 2 wall days to the 29th 09:00 CEST, then + 24 h


def test_an_rrule_without_dtstart_counts_from_2020_so_its_parity_never_changes():
    every_other_day = RRuleSchedule(rrule="FREQ=DAILY;INTERVAL=2")
    [first] = occurrences(every_other_day, datetime(2026, 3, 1, tzinfo=UTC), limit=1)
    assert (first.date() - date(2020, 1, 1)).days % 2 == 0


def test_a_minutely_rrule_keeps_its_lattice_and_is_fast_far_from_2020():
    every_7_min = RRuleSchedule(rrule="FREQ=MINUTELY;INTERVAL=7")
    began = time.perf_counter()
    times = occurrences(every_7_min, datetime(2026, 3, 1, 10, 30, tzinfo=UTC), limit=100)
    assert time.perf_counter() - began < 0.5
    minutes_since_2020 = [(t - datetime(2020, 1, 1, tzinfo=UTC)) // timedelta(minutes=1)
                          for t in times]
    assert all(m % 7 == 0 for m in minutes_since_2020)
    assert gaps(times) == {timedelta(minutes=7)}


def test_an_rrule_honours_its_dtstart_and_ends_at_until():
    schedule = RRuleSchedule(rrule="DTSTART:20260105T083000\nRRULE:FREQ=WEEKLY;"
                                   "UNTIL=20260126T235959", timezone="Europe/Paris")
    times = list(iter_occurrences(schedule, datetime(2026, 1, 1, tzinfo=UTC)))
    assert local(times, "Europe/Paris") == [
        "2026-01-05T08:30+01:00", "2026-01-12T08:30+01:00", "2026-01-19T08:30+01:00",
        "2026-01-26T08:30+01:00"]


# --- daylight saving time: cron ------------------------------------------------------------------

@pytest.mark.parametrize("zone", ZONES)
def test_hourly_cron_at_spring_forward_skips_the_missing_hour_and_misses_no_real_one(zone):
    spring = TRANSITIONS[zone]["spring"]
    times = occurrences(CronSchedule(cron="0 * * * *", timezone=zone),
                        at(zone, spring, 0), limit=5)
    assert [t.astimezone(ZoneInfo(zone)).hour for t in times] == [0, 1, 3, 4, 5]
    assert gaps(times) == {timedelta(hours=1)}


@pytest.mark.parametrize("zone", ZONES)
def test_hourly_cron_at_fall_back_runs_in_both_passes_of_the_repeated_hour(zone):
    fall, repeated = TRANSITIONS[zone]["fall"], TRANSITIONS[zone]["repeated_hour"]
    times = occurrences(CronSchedule(cron="0 * * * *", timezone=zone),
                        at(zone, fall, 0), limit=5)
    hours = [t.astimezone(ZoneInfo(zone)).hour for t in times]
    assert hours.count(repeated) == 2
    assert gaps(times) == {timedelta(hours=1)}  # one run per elapsed hour, no instant twice
    assert len(set(times)) == len(times)


@pytest.mark.parametrize("zone", ZONES)
def test_daily_cron_in_the_skipped_hour_runs_an_hour_later_that_day(zone):
    spring = TRANSITIONS[zone]["spring"]
    times = occurrences(CronSchedule(cron="30 2 * * *", timezone=zone),
                        at(zone, spring - timedelta(days=1), 0), limit=3)
    assert [t.astimezone(ZoneInfo(zone)).strftime("%d %H:%M") for t in times] == [
        f"{spring.day - 1:02} 02:30", f"{spring.day:02} 03:30", f"{spring.day + 1:02} 02:30"]


@pytest.mark.parametrize("zone", ZONES)
def test_daily_cron_in_the_repeated_hour_runs_once_in_its_first_pass(zone):
    fall, repeated = TRANSITIONS[zone]["fall"], TRANSITIONS[zone]["repeated_hour"]
    times = occurrences(CronSchedule(cron=f"30 {repeated} * * *", timezone=zone),
                        at(zone, fall - timedelta(days=1), 0), limit=3)
    assert times[1] == at(zone, fall, repeated, 30, fold=0).astimezone(UTC)  # summer offset
    # one run that day; the next comes 24 h + the hour given back later
    assert [later - earlier for earlier, later in zip(times, times[1:])] == [
        timedelta(hours=24), timedelta(hours=25)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("transition", ["spring", "fall"])
def test_daily_cron_keeps_its_wall_clock_time_across_the_transition(zone, transition):
    day = TRANSITIONS[zone][transition]
    times = occurrences(CronSchedule(cron="0 9 * * *", timezone=zone),
                        at(zone, day - timedelta(days=2), 12), limit=4)
    assert {t.astimezone(ZoneInfo(zone)).hour for t in times} == {9}
    assert len({t.hour for t in times}) == 2  # the UTC hour moves by one


# --- daylight saving time: interval --------------------------------------------------------------

@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("transition", ["spring", "fall"])
def test_hourly_interval_runs_every_3600_seconds_across_the_transition(zone, transition):
    day = TRANSITIONS[zone][transition]
    schedule = IntervalSchedule(interval_s=3600, timezone=zone,
                                anchor_date=datetime(2026, 1, 1, 0, 15))
    times = occurrences(schedule, at(zone, day, 0), limit=6)
    assert gaps(times) == {timedelta(hours=1)}
    assert {t.minute for t in times} == {15}


@pytest.mark.parametrize("zone", ZONES)
def test_hourly_interval_at_fall_back_shows_the_repeated_hour_twice(zone):
    fall, repeated = TRANSITIONS[zone]["fall"], TRANSITIONS[zone]["repeated_hour"]
    schedule = IntervalSchedule(interval_s=3600, timezone=zone,
                                anchor_date=datetime(2026, 1, 1))
    times = occurrences(schedule, at(zone, fall, 0), limit=5)
    assert [t.astimezone(ZoneInfo(zone)).hour for t in times].count(repeated) == 2


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("transition", ["spring", "fall"])
def test_daily_interval_keeps_its_wall_clock_time_across_the_transition(zone, transition):
    day = TRANSITIONS[zone][transition]
    schedule = IntervalSchedule(interval_s=86400, timezone=zone,
                                anchor_date=datetime(2026, 1, 5, 9))  # 09:00 local, winter
    times = occurrences(schedule, at(zone, day - timedelta(days=2), 12), limit=4)
    assert {t.astimezone(ZoneInfo(zone)).hour for t in times} == {9}
    assert len({t.hour for t in times}) == 2


@pytest.mark.parametrize("zone", ZONES)
def test_daily_interval_stays_on_local_time_months_after_its_anchor(zone):
    schedule = IntervalSchedule(interval_s=86400, timezone=zone,
                                anchor_date=datetime(2026, 1, 5, 9))
    [summer] = occurrences(schedule, datetime(2026, 7, 1, tzinfo=UTC), limit=1)
    assert summer.astimezone(ZoneInfo(zone)).hour == 9


@pytest.mark.parametrize("zone", ZONES)
def test_daily_interval_anchored_in_the_skipped_hour_runs_an_hour_later_that_day(zone):
    spring = TRANSITIONS[zone]["spring"]
    schedule = IntervalSchedule(interval_s=86400, timezone=zone,
                                anchor_date=datetime(2026, 1, 1, 2, 30))
    times = occurrences(schedule, at(zone, spring - timedelta(days=1), 0), limit=3)
    assert [t.astimezone(ZoneInfo(zone)).strftime("%H:%M") for t in times] == \
        ["02:30", "03:30", "02:30"]


# --- daylight saving time: rrule ---------------------------------------------------------------

@pytest.mark.parametrize("zone", ZONES)
def test_hourly_rrule_at_spring_forward_skips_the_missing_hour_and_misses_no_real_one(zone):
    spring = TRANSITIONS[zone]["spring"]
    times = occurrences(RRuleSchedule(rrule="FREQ=HOURLY", timezone=zone),
                        at(zone, spring, 0), limit=5)
    assert [t.astimezone(ZoneInfo(zone)).hour for t in times] == [0, 1, 3, 4, 5]
    assert gaps(times) == {timedelta(hours=1)}


@pytest.mark.parametrize("zone", ZONES)
def test_hourly_rrule_at_fall_back_fires_in_the_first_pass_only_as_rfc_5545_says(zone):
    fall, repeated = TRANSITIONS[zone]["fall"], TRANSITIONS[zone]["repeated_hour"]
    times = occurrences(RRuleSchedule(rrule="FREQ=HOURLY", timezone=zone),
                        at(zone, fall, 0), limit=5)
    assert [t.astimezone(ZoneInfo(zone)).hour for t in times].count(repeated) == 1
    assert sorted(gaps(times)) == [timedelta(hours=1), timedelta(hours=2)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("transition", ["spring", "fall"])
def test_daily_rrule_keeps_its_wall_clock_time_across_the_transition(zone, transition):
    day = TRANSITIONS[zone][transition]
    times = occurrences(RRuleSchedule(rrule="FREQ=DAILY;BYHOUR=9", timezone=zone),
                        at(zone, day - timedelta(days=2), 12), limit=4)
    assert {t.astimezone(ZoneInfo(zone)).hour for t in times} == {9}
    assert len({t.hour for t in times}) == 2


@pytest.mark.parametrize("zone", ZONES)
def test_daily_rrule_in_the_skipped_hour_runs_an_hour_later_that_day(zone):
    spring = TRANSITIONS[zone]["spring"]
    times = occurrences(RRuleSchedule(rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timezone=zone),
                        at(zone, spring - timedelta(days=1), 0), limit=3)
    assert [t.astimezone(ZoneInfo(zone)).strftime("%H:%M") for t in times] == \
        ["02:30", "03:30", "02:30"]


@pytest.mark.parametrize("zone", ZONES)
def test_daily_rrule_in_the_repeated_hour_runs_once_in_its_first_pass(zone):
    fall, repeated = TRANSITIONS[zone]["fall"], TRANSITIONS[zone]["repeated_hour"]
    rule = f"FREQ=DAILY;BYHOUR={repeated};BYMINUTE=30"
    times = occurrences(RRuleSchedule(rrule=rule, timezone=zone),
                        at(zone, fall - timedelta(days=1), 0), limit=3)
    assert times[1] == at(zone, fall, repeated, 30, fold=0).astimezone(UTC)
    assert [later - earlier for earlier, later in zip(times, times[1:])] == [
        timedelta(hours=24), timedelta(hours=25)]


# --- daylight saving time: asking from inside a transition ----------------------------------------

def test_asking_during_the_second_pass_gives_the_second_pass_runs_still_ahead():
    start = datetime(2026, 11, 1, 1, 10, tzinfo=NEW_YORK, fold=1)  # 01:10 EST, 06:10 UTC
    times = occurrences(CronSchedule(cron="30 * * * *", timezone="America/New_York"),
                        start, limit=2)
    assert local(times, "America/New_York") == ["2026-11-01T01:30-05:00",
                                                "2026-11-01T02:30-05:00"]


def test_asking_during_the_first_pass_also_finds_the_second_pass_of_an_earlier_time():
    start = datetime(2026, 11, 1, 1, 10, tzinfo=NEW_YORK)  # 01:10 EDT, 05:10 UTC
    times = occurrences(CronSchedule(cron="0 * * * *", timezone="America/New_York"),
                        start, limit=2)
    assert local(times, "America/New_York") == ["2026-11-01T01:00-05:00",
                                                "2026-11-01T02:00-05:00"]


def test_asking_just_after_the_jump_still_finds_the_skipped_time_moved_later():
    start = datetime(2026, 3, 8, 3, 10, tzinfo=NEW_YORK)  # 10 min after 02:00 became 03:00
    for schedule in (CronSchedule(cron="30 2 * * *", timezone="America/New_York"),
                     RRuleSchedule(rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
                                   timezone="America/New_York")):
        [first] = occurrences(schedule, start, limit=1)
        assert local([first], "America/New_York") == ["2026-03-08T03:30-04:00"]
