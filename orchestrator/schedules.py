"""Schedules: when a deployment's runs fall due, as a cron, an interval or an RFC 5545 rule.

Three parts, in this order: the models (what is stored and sent over HTTP), reading the
shapes users write (`schedule:` / `schedules:` in flowpool.yaml or prefect.yaml, and the
CLI flags) with errors that name the field and the fix, and pure iteration:
`occurrences()` turns a schedule into UTC instants. Nothing here reads the clock.

How a wall-clock time becomes an instant, the one daylight-saving rule of all three kinds
(the rule of RFC 5545 section 3.3.5, and what Prefect's cron and rrule schedules do):

- A wall-clock time that happens twice (clocks go back) means its first pass.
- A wall-clock time that never happens (clocks jump forward) is read with the UTC offset
  in force before the jump: a daily 02:30 falls at 03:30 local on the spring-forward day.
- Equal instants are produced once.

On top of that rule:

- Cron: a cron whose hour field is `*` fires in both passes of the repeated hour, so an
  hourly cron keeps one run per elapsed hour when clocks go back (Vixie cron does the same
  for such jobs); any other cron fires in the first pass only, so a daily 01:30 job still
  runs once. Prefect differs here: its hourly cron pauses two hours at that moment.
- Interval: the whole days of the interval step on the wall clock (a daily interval stays
  at 09:00 local across DST), the rest steps in absolute time (an hourly interval runs
  every 3600 s, so two runs show the same local hour when clocks go back), as Prefect
  documents.
  Each time is counted from the anchor, never from the previous one, so the answer does
  not depend on when it is asked.
- RRule: dateutil expands the rule on the schedule's wall clock; the rule above turns each
  time into an instant. All date-times written inside the rule (DTSTART, UNTIL, RDATE,
  EXDATE) are read as wall-clock times in `timezone`; their own Z suffix is ignored.
"""
from __future__ import annotations

import difflib
import functools
import heapq
import itertools
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, ClassVar, Iterable, Iterator, Mapping, Sequence, Union
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Strict, Tag,
                      ValidationError, ValidationInfo, field_validator, model_validator)

from .bounds import DAY_S, MAX_INTERVAL_S, MIN_INTERVAL_S, check_json_size, check_year
from .errors import FieldError, InvalidInput

UTC = timezone.utc
# Validation context of schedules read back from the database: an older version may have
# stored one that today's bounds refuse; it is read as it is and the scheduler skips it.
STORED = {"stored": True}
MAX_RRULE_CHARS = 6_500
# A rule without DTSTART counts from here (as in Prefect), so INTERVAL=2 keeps the same
# parity wherever and whenever it is evaluated.
RRULE_DEFAULT_DTSTART = datetime(2020, 1, 1)
# Longer than any daylight-saving shift: how far around a time an offset change can matter.
DST_WINDOW = timedelta(hours=3)

INTERVAL_HELP = "write seconds (3600), an ISO-8601 duration (PT1H, P1D) or H:MM:SS (1:00:00)"
CRON_HELP = "write 5 fields 'minute hour day-of-month month day-of-week', e.g. '0 9 * * 1-5'"
RRULE_HELP = "write it as in RFC 5545, e.g. 'FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=8'"


# --- validation of single values ------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _known_timezones() -> dict[str, str]:
    """Every IANA zone name, keyed by its lower-case spelling (for suggestions)."""
    return {name.lower(): name for name in available_timezones()}


def check_timezone(name: str) -> str:
    """`name` when it is an IANA time zone; else ValueError saying how to write one."""
    known = _known_timezones()
    if known.get(name.lower()) == name:
        return name
    lower = name.lower()
    matches = [lower] if lower in known else difflib.get_close_matches(lower, known, n=1)
    hint = f" (did you mean {known[matches[0]]}?)" if matches else ""
    raise ValueError(f"unknown time zone {name!r}{hint}; use an IANA name such as "
                     "Europe/Paris, America/New_York or UTC")


def check_cron(expression: str) -> str:
    """The cron expression, whitespace normalised; ValueError when croniter cannot read it."""
    from croniter import croniter

    expression = " ".join(expression.split())
    if _uses_random_or_hash(expression):
        raise ValueError(f"{expression!r} uses a random (R) or hashed (H) field, which "
                         "flowpool does not support; write explicit values, e.g. '17 * * * *'")
    if not croniter.is_valid(expression):
        raise ValueError(f"{expression!r} is not a valid cron expression; {CRON_HELP}")
    return expression


def _uses_random_or_hash(expression: str) -> bool:
    # Month and day names (JAN, THU...) never start with R or H, so a prefix test is exact.
    items = (item for field in expression.split() for item in field.split(","))
    return any(item[:1].upper() in ("R", "H") for item in items)


def check_cron_fires(expression: str, day_or: bool) -> None:
    """ValueError when the expression matches no date at all (30 February)."""
    from croniter import CroniterBadDateError, croniter

    try:  # from any fixed date: croniter searches years ahead before it gives up
        croniter(expression, datetime(2020, 1, 1), day_or=day_or).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"{expression!r} never fires (no date matches its day-of-month, month"
                         " and day-of-week); check those fields, or day_or") from None


def check_rrule(text: str) -> str:
    """The rule, stripped; ValueError when dateutil cannot read it or it uses COUNT."""
    text = text.strip()
    if not text:
        raise ValueError(f"the rrule is empty; {RRULE_HELP}")
    if len(text) > MAX_RRULE_CHARS:
        raise ValueError(f"the rrule has {len(text)} characters, more than {MAX_RRULE_CHARS};"
                         " shorten its RDATE/EXDATE lists")
    if re.search(r"(^|[;:\s])COUNT=", text, re.IGNORECASE):
        raise ValueError("COUNT is not supported (it would count from DTSTART, not from now);"
                         " end the rule with UNTIL=20271231T000000 instead")
    try:
        _parse_rrule(text, RRULE_DEFAULT_DTSTART)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"malformed rrule {text!r}: {exc}; {RRULE_HELP}") from None
    return text


def _ignore_tzid(_name: str) -> None:
    return None


def _parse_rrule(text: str, dtstart: datetime):
    """The rule as a dateutil rruleset of naive wall-clock times (own Z and TZID dropped)."""
    from dateutil.rrule import rrulestr

    return rrulestr(text, dtstart=dtstart, forceset=True, ignoretz=True, tzids=_ignore_tzid)


_DTSTART_TZID = re.compile(r"DTSTART;TZID=([^:;\s]+):", re.IGNORECASE)


def parse_interval_s(value: Any) -> float:
    """Seconds in an interval written as seconds, an ISO-8601 duration or H:MM:SS."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; {INTERVAL_HELP}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        return _parse_interval_text(value.strip())
    raise ValueError(f"{value!r} is not a duration; {INTERVAL_HELP}")


_NUMBER = r"(\d+(?:\.\d+)?)"
_ISO_DURATION = re.compile(
    rf"P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE)
_ISO_UNITS_S = (7 * DAY_S, DAY_S, 3600, 60, 1)
_CLOCK_DURATION = re.compile(r"(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)")


def _parse_interval_text(text: str) -> float:
    if re.fullmatch(r"[+-]?\d+(?:\.\d+)?", text):
        return float(text)
    iso = _ISO_DURATION.fullmatch(text)
    if iso and any(iso.groups()):
        return sum(float(n) * unit for n, unit in zip(iso.groups(), _ISO_UNITS_S) if n)
    clock = _CLOCK_DURATION.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if re.fullmatch(r"P[^T]*[YM].*", text, re.IGNORECASE):
        raise ValueError(f"{text!r} counts months or years, which have no fixed length; write "
                         "days (P30D), or use a cron or rrule schedule for calendar months")
    raise ValueError(f"{text!r} is not a duration; {INTERVAL_HELP}")


# --- models -----------------------------------------------------------------------------------

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
            found = _DTSTART_TZID.search(str(data.get("rrule", "")))
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
        found = _DTSTART_TZID.search(self.rrule)
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


# --- reading what users write -------------------------------------------------------------------

SCHEDULE_KINDS = ("cron", "interval", "rrule")
_MODEL_OF_KIND = {"cron": CronSchedule, "interval": IntervalSchedule, "rrule": RRuleSchedule}
_KEYS_OF_KIND = {"cron": ("cron", "day_or"), "interval": ("interval", "anchor_date"),
                 "rrule": ("rrule",)}
_SCHEDULE_KEYS = ("timezone",)
_ENTRY_KEYS = ("active", "parameters", "slug")
_FLAGS = {"cron": "--cron", "interval": "--interval", "anchor_date": "--anchor-date",
          "rrule": "--rrule", "timezone": "--timezone", "day_or": "--day-or",
          "active": "--active", "parameters": "--param", "slug": "--slug"}


@dataclass(frozen=True)
class _Source:
    """Where schedule input came from, to name its fields the way the user wrote them."""

    where: str
    flags: bool = False

    def field(self, key: str) -> str:
        if self.flags:
            return _FLAGS.get(key, self.where)
        return f"{self.where}.{key}" if key else self.where

    def spell(self, key: str) -> str:
        return _FLAGS.get(key, key) if self.flags else key

    def spell_all(self, keys: Iterable[str]) -> str:
        names = [self.spell(key) for key in keys]
        return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def schedules_from_config(config: Mapping[str, Any], now: datetime,
                          field: str = "") -> list[DeploymentSchedule]:
    """The schedules of one deployment entry of flowpool.yaml / prefect.yaml.

    Reads `schedule:` (one mapping) or `schedules:` (a list); null, {} and [] mean none.
    An interval without `anchor_date` is anchored at `now` (Prefect anchors at creation
    too), so give one `now` for a whole deploy. `field` prefixes the names in errors,
    e.g. "deployments[0]". Raises InvalidInput naming every bad field.
    """
    _require_aware(now, "now")
    items, sources = _schedule_items(config, field)
    parsed, errors = [], []
    for item, source in zip(items, sources):
        try:
            parsed.append((_entry_from_mapping(item, now, source), source))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    errors += _duplicate_slugs(parsed)
    if errors:
        raise InvalidInput("invalid schedule", errors)
    return [entry for entry, _source in parsed]


def _schedule_items(config: Mapping[str, Any], field: str) -> tuple[list[Any], list[_Source]]:
    prefix = f"{field}." if field else ""
    one, many = config.get("schedule"), config.get("schedules")
    if one and many:
        raise _invalid(f"{prefix}schedule", "give either schedule (one) or schedules (a list),"
                                            " not both")
    if one:
        if not isinstance(one, Mapping):
            raise _invalid(f"{prefix}schedule", "schedule is one mapping such as {cron: "
                                                "'0 9 * * *'}; for a list use schedules")
        return [one], [_Source(f"{prefix}schedule")]
    many = many or []
    if not isinstance(many, list):
        raise _invalid(f"{prefix}schedules", "schedules is a list; write each schedule as an"
                                             " item: '- cron: \"0 9 * * *\"'")
    return many, [_Source(f"{prefix}schedules[{i}]") for i in range(len(many))]


def schedule_from_flags(*, now: datetime, cron: str | None = None, interval: str | None = None,
                        anchor_date: str | None = None, rrule: str | None = None,
                        timezone: str | None = None, day_or: bool | None = None,
                        active: bool = True, parameters: Mapping[str, Any] | None = None,
                        ) -> DeploymentSchedule | None:
    """The schedule given by the CLI flags --cron/--interval/--anchor-date/--rrule/--timezone
    (None when no schedule flag is given); errors name the flags."""
    _require_aware(now, "now")
    given = {key: value for key, value in {
        "cron": cron, "interval": interval, "anchor_date": anchor_date, "rrule": rrule,
        "timezone": timezone, "day_or": day_or}.items() if value is not None}
    if not given:
        return None
    item = {**given, "active": active, "parameters": dict(parameters or {})}
    return _entry_from_mapping(item, now, _Source("schedule flags", flags=True))


def _entry_from_mapping(item: Any, now: datetime, source: _Source) -> DeploymentSchedule:
    if not isinstance(item, Mapping):
        raise _invalid(source.where, "a schedule is a mapping such as {cron: '0 9 * * *', "
                                     "timezone: Europe/Paris}")
    values = {key: value for key, value in item.items() if value is not None}
    kind = _kind_of(values, source)
    _refuse_foreign_keys(values, kind, source)
    schedule = _build(_MODEL_OF_KIND[kind], _schedule_fields(kind, values, now), source,
                      whole_key=kind)
    entry_fields = {key: values[key] for key in _ENTRY_KEYS if key in values}
    return _build(DeploymentSchedule, {"schedule": schedule, **entry_fields}, source)


def _kind_of(values: Mapping[str, Any], source: _Source) -> str:
    kinds = [kind for kind in SCHEDULE_KINDS if kind in values]
    if not kinds:
        # Name what was given: `--timezone` alone is the flag that needs a kind beside it.
        field = source.field(next(iter(values))) if source.flags else source.where
        raise _invalid(field, f"give one of {source.spell_all(SCHEDULE_KINDS)}")
    if len(kinds) > 1:
        raise _invalid(source.field(kinds[1]), f"give only one of {source.spell_all(kinds)}:"
                                               " one schedule has one kind")
    return kinds[0]


def _refuse_foreign_keys(values: Mapping[str, Any], kind: str, source: _Source) -> None:
    allowed = {*_KEYS_OF_KIND[kind], *_SCHEDULE_KEYS, *_ENTRY_KEYS}
    errors = [_foreign_key_error(str(key), kind, allowed, source)
              for key in values if key not in allowed]
    if errors:
        raise InvalidInput("invalid schedule", errors)


def _foreign_key_error(key: str, kind: str, allowed: set[str], source: _Source) -> FieldError:
    owner = next((other for other, keys in _KEYS_OF_KIND.items() if key in keys), None)
    if owner:
        return FieldError(source.field(key), f"{source.spell(key)} only applies to"
                                             f" {source.spell(owner)} schedules; remove it")
    return FieldError(source.field(key), f"unknown key; a {kind} schedule takes: "
                                         f"{', '.join(sorted(allowed))}")


def _schedule_fields(kind: str, values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    fields = {key: values[key] for key in (*_KEYS_OF_KIND[kind], *_SCHEDULE_KEYS)
              if key in values}
    if kind == "interval":
        fields["interval_s"] = fields.pop("interval")
        fields.setdefault("anchor_date", now.replace(microsecond=0))
    return fields


def _build(model: type[Model], data: dict[str, Any], source: _Source, whole_key: str = ""):
    """Validate `data` as `model`; errors of the whole model are filed under `whole_key`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("invalid schedule", [
            FieldError(source.field(_user_key(error["loc"], whole_key)), _message(error))
            for error in exc.errors()]) from None


def _user_key(loc: tuple, whole_key: str) -> str:
    key = str(loc[0]) if loc else whole_key
    return "interval" if key == "interval_s" else key


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    return error["msg"]


def _duplicate_slugs(parsed: Sequence[tuple[DeploymentSchedule, _Source]]) -> list[FieldError]:
    seen: set[str] = set()
    errors = []
    for entry, source in parsed:
        if entry.slug and entry.slug in seen:
            errors.append(FieldError(source.field("slug"), f"slug {entry.slug!r} is used by"
                                                           " another schedule; slugs are unique"))
        seen.add(entry.slug or "")
    return errors


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput("invalid schedule", [FieldError(field, message)])


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


# --- parameters --------------------------------------------------------------------------------

def missing_required_parameters(parameter_schema: Mapping[str, Any],
                                parameters: Mapping[str, Any]) -> list[str]:
    """The required parameters of the flow's schema that `parameters` gives no value."""
    return [name for name in parameter_schema.get("required", []) if name not in parameters]


def check_schedule_parameters(entries: Sequence[DeploymentSchedule],
                              parameter_schema: Mapping[str, Any],
                              deployment_parameters: Mapping[str, Any],
                              field: str = "schedules", enforce_schema: bool = True) -> None:
    """Refuse schedules whose runs could not start: a required parameter without a value
    (from the schedule, the deployment or a default in the flow), or, when the deployment
    enforces its schema, a value that does not fit. Errors name each parameter."""
    errors = []
    for index, entry in enumerate(entries):
        where = f"{field}[{index}].parameters"
        parameters = run_parameters(deployment_parameters, entry)
        errors += [FieldError(f"{where}.{name}", f"required parameter {name!r} has no value; set"
                              " it in this schedule's parameters or the deployment's parameters,"
                              " or give it a default in the flow")
                   for name in missing_required_parameters(parameter_schema, parameters)]
        if enforce_schema:
            errors += _schema_errors(parameters, parameter_schema, where)
    if errors:
        raise InvalidInput("a schedule would create runs that cannot start", errors)


def _schema_errors(parameters: Mapping[str, Any], parameter_schema: Mapping[str, Any],
                   where: str) -> list[FieldError]:
    from .parameters import validate_against_schema

    if not parameter_schema:
        return []
    # Missing values are reported above, in words that say where to give them.
    try:
        validate_against_schema(dict(parameters), {**parameter_schema, "required": []})
    except InvalidInput as exc:
        return [FieldError(f"{where}.{e.field}", e.message) for e in exc.errors]
    return []


# --- iteration --------------------------------------------------------------------------------

def occurrences(schedule: Schedule, start: datetime, end: datetime | None = None,
                limit: int | None = None) -> list[datetime]:
    """The schedule's times at or after `start` and at or before `end` (both inclusive), at
    most `limit` of them, ascending and distinct, as UTC datetimes. Give `end` or `limit`."""
    if end is None and limit is None:
        raise ValueError("give end or limit: a schedule can go on forever")
    times: list[datetime] = []
    if limit is not None and limit <= 0:
        return times
    for when in iter_occurrences(schedule, start):
        if end is not None and when > end:
            break
        times.append(when)
        if limit is not None and len(times) >= limit:
            break
    return times


def iter_occurrences(schedule: Schedule, start: datetime) -> Iterator[datetime]:
    """Every time of `schedule` at or after `start`, ascending and distinct, in UTC; endless
    unless the schedule ends (an rrule with UNTIL)."""
    _require_aware(start, "start")
    start = start.astimezone(UTC)
    if isinstance(schedule, CronSchedule):
        times = _cron_times(schedule, start)
    elif isinstance(schedule, IntervalSchedule):
        times = _interval_times(schedule, start)
    else:
        times = _rrule_times(schedule, start)
    return (when for when in times if when >= start)


def wall_to_utc(wall: datetime, zone: ZoneInfo, second_pass: bool = False) -> datetime:
    """The instant a naive wall-clock time in `zone` means: a repeated time's first pass
    (or its second), a skipped time read with the offset before the jump (fold=0 does it)."""
    return wall.replace(tzinfo=zone, fold=int(second_pass)).astimezone(UTC)


def _cron_times(schedule: CronSchedule, start: datetime) -> Iterator[datetime]:
    from croniter import croniter

    zone = ZoneInfo(schedule.timezone)
    # croniter answers strictly after its start; a second earlier lets `start` itself count.
    cron = croniter(schedule.cron, _earliest_wall(start, zone) - timedelta(seconds=1),
                    day_or=schedule.day_or)
    every_hour = cron.expanded[1] == ["*"]
    walls = (cron.get_next(datetime) for _ in itertools.count())
    return _walls_to_utc(walls, zone, both_passes=every_hour)


def _rrule_times(schedule: RRuleSchedule, start: datetime) -> Iterator[datetime]:
    zone = ZoneInfo(schedule.timezone)
    first_wall = _earliest_wall(start, zone)
    rule = _parse_rrule(schedule.rrule, _default_dtstart(schedule.rrule, first_wall))
    return _walls_to_utc(rule.xafter(first_wall, count=None, inc=True), zone, both_passes=False)


def _interval_times(schedule: IntervalSchedule, start: datetime) -> Iterator[datetime]:
    step = timedelta(seconds=schedule.interval_s)
    # One step early: whole days move on the wall clock, so a time can sit up to a DST
    # shift away from anchor + n * interval.
    index = math.floor((start - schedule.anchor_date) / step) - 1
    while _nth_interval_time(schedule, index) < start:
        index += 1
    return (_nth_interval_time(schedule, n) for n in itertools.count(index))


def _nth_interval_time(schedule: IntervalSchedule, n: int) -> datetime:
    """The anchor plus n intervals: whole days on the wall clock, the rest in absolute time."""
    whole_days, rest_s = divmod(schedule.interval_s, DAY_S)
    if n == 0 or not whole_days:
        return schedule.anchor_date + timedelta(seconds=n * schedule.interval_s)
    zone = ZoneInfo(schedule.timezone)
    anchor_wall = schedule.anchor_date.astimezone(zone).replace(tzinfo=None)
    days_later = wall_to_utc(anchor_wall + timedelta(days=n * whole_days), zone)
    return days_later + timedelta(seconds=n * rest_s)


def _earliest_wall(start: datetime, zone: ZoneInfo) -> datetime:
    """The earliest wall-clock time whose instant can be at or after `start`.

    Usually `start`'s own wall time; but near an offset change a skipped time (read with
    the earlier offset) or a second pass (read with the later one) lands after `start`
    while its wall time is earlier, so read `start` with the smallest nearby offset.
    """
    offset = min((start + shift).astimezone(zone).utcoffset()
                 for shift in (-DST_WINDOW, timedelta(0), DST_WINDOW))
    return (start + offset).replace(tzinfo=None)


_FREQ = re.compile(r"FREQ=(\w+)", re.IGNORECASE)
_INTERVAL = re.compile(r"INTERVAL=(\d+)", re.IGNORECASE)
_PERIOD_OF_FREQ = {"SECONDLY": timedelta(seconds=1), "MINUTELY": timedelta(minutes=1),
                   "HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1),
                   "WEEKLY": timedelta(weeks=1)}


def _default_dtstart(text: str, first_wall: datetime) -> datetime:
    """Where a rule without DTSTART starts: 2020-01-01, moved forward by whole periods to
    just before `first_wall`. Same occurrences, but a minutely rule is not expanded from
    2020 on every call (that takes seconds). Rules with several FREQs are left alone."""
    freqs, intervals = _FREQ.findall(text), _INTERVAL.findall(text)
    if len(freqs) != 1 or len(intervals) > 1 or freqs[0].upper() not in _PERIOD_OF_FREQ:
        return RRULE_DEFAULT_DTSTART
    step = _PERIOD_OF_FREQ[freqs[0].upper()] * int(intervals[0] if intervals else 1)
    periods = max(0, (first_wall - RRULE_DEFAULT_DTSTART) // step - 1)
    return RRULE_DEFAULT_DTSTART + periods * step


def _walls_to_utc(walls: Iterable[datetime], zone: ZoneInfo,
                  both_passes: bool) -> Iterator[datetime]:
    """Ascending naive wall-clock times to ascending, distinct UTC instants."""
    return _distinct(_sorted_instants(walls, zone, both_passes))


def _sorted_instants(walls: Iterable[datetime], zone: ZoneInfo,
                     both_passes: bool) -> Iterator[datetime]:
    # A skipped wall time lands after the jump, possibly after wall times that follow it,
    # and a second pass lands an hour after its first: such instants wait in a heap until
    # an ordinary wall time proves that nothing earlier can come.
    waiting: list[datetime] = []
    for wall in walls:
        first_offset, second_offset = _offsets(wall, zone)
        first = (wall - first_offset).replace(tzinfo=UTC)
        heapq.heappush(waiting, first)
        if both_passes and first_offset > second_offset:
            heapq.heappush(waiting, (wall - second_offset).replace(tzinfo=UTC))
        if first_offset >= second_offset:  # not skipped
            yield from _pop_through(waiting, first)
    yield from _pop_through(waiting, None)


def _offsets(wall: datetime, zone: ZoneInfo) -> tuple[timedelta, timedelta]:
    """UTC offsets of a wall time's first and second reading: equal unless it is repeated
    (first > second) or skipped (first < second)."""
    return (wall.replace(tzinfo=zone, fold=0).utcoffset(),
            wall.replace(tzinfo=zone, fold=1).utcoffset())


def _pop_through(heap: list[datetime], bound: datetime | None) -> Iterator[datetime]:
    while heap and (bound is None or heap[0] <= bound):
        yield heapq.heappop(heap)


def _distinct(times: Iterable[datetime]) -> Iterator[datetime]:
    last = None
    for when in times:
        if when != last:
            yield when
            last = when


__all__ = [
    "CronSchedule", "DeploymentSchedule", "IntervalSchedule", "RRuleSchedule", "Schedule",
    "check_cron", "check_rrule", "check_schedule_parameters", "check_timezone", "describe",
    "iter_occurrences", "missing_required_parameters", "occurrences", "parse_interval_s",
    "run_parameters", "schedule_from_flags", "schedules_from_config", "wall_to_utc",
    "STORED", "check_interval_s", "check_stored",
]
