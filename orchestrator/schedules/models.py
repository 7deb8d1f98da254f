"""The schedule models: what is stored and sent over HTTP (a cron, an interval or an RFC 5545
rule, and a deployment's schedule entry), and one line to describe each."""
from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, ClassVar, Mapping, Union
from zoneinfo import ZoneInfo

from pydantic import (AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Strict, Tag,
                      ValidationInfo, field_validator, model_validator)

from ..bounds import DAY_S, MAX_INTERVAL_S, MIN_INTERVAL_S, check_json_size, check_year
from .values import (DTSTART_TZID, INTERVAL_HELP, UTC, check_cron, check_cron_fires, check_rrule,
                     check_timezone, parse_interval_s, wall_to_utc)


class Model(BaseModel):
    """Base of the schedule models, configured as orchestrator.models.Model (unknown fields
    refused). Defined here, not imported from there, because the deployment models are
    built on the schedule models."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class CronSchedule(Model):
    """Fires at the wall-clock times a cron expression matches, in `timezone`."""

    kind: ClassVar[str] = "cron"
    cron: str
    timezone: str = "UTC"
    # True: day-of-month OR day-of-week (classic cron); False: both must match (fcron).
    day_or: bool = True

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _fires_at_all(self) -> CronSchedule:
        check_cron_fires(self.cron, self.day_or)
        return self


def _from_store(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def check_interval_s(seconds: float) -> float:
    """`seconds` when it is an interval flowpool runs (1 s .. 100 years); else ValueError."""
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise ValueError(f"the interval is {seconds:g} seconds; give {MIN_INTERVAL_S:g} second"
                         f" to {MAX_INTERVAL_S // (365.25 * DAY_S):.0f} years"
                         f" ({MAX_INTERVAL_S:.0f} seconds) at most")
    return seconds


class IntervalSchedule(Model):
    """Fires every `interval_s` seconds (1 s .. 100 years) counted from `anchor_date` (years
    1900..2200, stored in UTC)."""

    kind: ClassVar[str] = "interval"
    interval_s: float
    anchor_date: datetime
    timezone: str = "UTC"

    @field_validator("interval_s", mode="before")
    @classmethod
    def _positive_interval(cls, value: Any, info: ValidationInfo) -> float:
        seconds = parse_interval_s(value)
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"the interval must be more than 0 seconds; {INTERVAL_HELP}")
        return seconds if _from_store(info) else check_interval_s(seconds)

    @field_validator("anchor_date", mode="before")
    @classmethod
    def _date_means_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time())  # YAML reads 2026-01-01 as a date
        return value

    @field_validator("anchor_date")
    @classmethod
    def _anchor_in_range(cls, value: datetime, info: ValidationInfo) -> datetime:
        # Checked as written, before the conversion to UTC below can overflow.
        return value if _from_store(info) else check_year(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _anchor_in_utc(self) -> IntervalSchedule:
        # A naive anchor is a wall-clock time in the schedule's zone (as in Prefect).
        if self.anchor_date.tzinfo is None:
            self.anchor_date = wall_to_utc(self.anchor_date, ZoneInfo(self.timezone))
        else:
            self.anchor_date = self.anchor_date.astimezone(UTC)
        return self


class RRuleSchedule(Model):
    """Fires at the times of an RFC 5545 recurrence rule, on the wall clock of `timezone`."""

    kind: ClassVar[str] = "rrule"
    rrule: str
    timezone: str = "UTC"

    @model_validator(mode="before")
    @classmethod
    def _timezone_from_dtstart(cls, data: Any) -> Any:
        # `DTSTART;TZID=Europe/Paris:...` names the zone when `timezone` is not given.
        if isinstance(data, dict) and data.get("timezone") is None:
            found = DTSTART_TZID.search(str(data.get("rrule", "")))
            data = {**data, "timezone": found.group(1) if found else "UTC"}
        return data

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, value: str) -> str:
        return check_rrule(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _one_timezone(self) -> RRuleSchedule:
        found = DTSTART_TZID.search(self.rrule)
        if found and found.group(1) != self.timezone:
            raise ValueError(f"DTSTART says TZID={found.group(1)} but timezone is "
                             f"{self.timezone}; give the same zone in both, or drop one")
        return self


_KIND_OF_KEY = {"cron": "cron", "interval_s": "interval", "rrule": "rrule"}


def _schedule_kind(value: Any) -> str | None:
    """Which schedule a value is: by its key when it is a mapping, else by its class."""
    if isinstance(value, Mapping):
        return next((kind for key, kind in _KIND_OF_KEY.items() if key in value), None)
    return getattr(value, "kind", None)


Schedule = Annotated[
    Union[Annotated[CronSchedule, Tag("cron")],
          Annotated[IntervalSchedule, Tag("interval")],
          Annotated[RRuleSchedule, Tag("rrule")]],
    Discriminator(_schedule_kind, custom_error_type="schedule_kind",
                  custom_error_message="a schedule needs one of: cron, interval_s, rrule"),
]


class DeploymentSchedule(Model):
    """One schedule of a deployment: when, whether it creates runs, and its parameters."""

    schedule: Schedule
    active: Annotated[bool, Strict()] = True
    # Merged over the deployment's parameters for the runs this schedule creates.
    parameters: Annotated[dict[str, Any], AfterValidator(check_json_size)] = Field(
        default_factory=dict)
    slug: Annotated[str, Field(max_length=100)] | None = None


def run_parameters(deployment_parameters: Mapping[str, Any],
                   entry: DeploymentSchedule) -> dict[str, Any]:
    """The parameters of a run this schedule creates: the schedule's win over the deployment's."""
    return {**deployment_parameters, **entry.parameters}


def describe(schedule: Schedule) -> str:
    """One line for listings: `cron '0 9 * * 1-5' (Europe/Paris)`."""
    if isinstance(schedule, CronSchedule):
        day_rule = "" if schedule.day_or else ", day_or off"
        return f"cron '{schedule.cron}' ({schedule.timezone}{day_rule})"
    if isinstance(schedule, IntervalSchedule):
        return (f"every {_duration_text(schedule.interval_s)} from "
                f"{schedule.anchor_date.isoformat()} ({schedule.timezone})")
    return f"rrule '{schedule.rrule}' ({schedule.timezone})"


def _duration_text(seconds: float) -> str:
    try:
        return str(timedelta(seconds=seconds))
    except OverflowError:  # a stored schedule from before the bounds
        return f"{seconds:g} seconds"


def check_stored(entry: DeploymentSchedule) -> None:
    """Refuse (ValueError) a schedule read from the database that today's bounds refuse:
    only interval schedules gained bounds since they could first be stored."""
    schedule = entry.schedule
    if not isinstance(schedule, IntervalSchedule):
        return
    problems = []
    for check, value in ((check_interval_s, schedule.interval_s),
                         (check_year, schedule.anchor_date)):
        try:
            check(value)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
