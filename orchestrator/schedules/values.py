"""The single values a schedule is made of (time zones, cron expressions, rrules, intervals),
each checked with an error that says how to write it, and how a wall-clock time becomes an
instant."""
from __future__ import annotations

import difflib
import functools
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, available_timezones


from ..bounds import DAY_S


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
        parse_rrule(text, RRULE_DEFAULT_DTSTART)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"malformed rrule {text!r}: {exc}; {RRULE_HELP}") from None
    return text


def _ignore_tzid(_name: str) -> None:
    return None


def parse_rrule(text: str, dtstart: datetime):
    """The rule as a dateutil rruleset of naive wall-clock times (own Z and TZID dropped)."""
    from dateutil.rrule import rrulestr

    return rrulestr(text, dtstart=dtstart, forceset=True, ignoretz=True, tzids=_ignore_tzid)


DTSTART_TZID = re.compile(r"DTSTART;TZID=([^:;\s]+):", re.IGNORECASE)


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


def wall_to_utc(wall: datetime, zone: ZoneInfo, second_pass: bool = False) -> datetime:
    """The instant a naive wall-clock time in `zone` means: a repeated time's first pass
    (or its second), a skipped time read with the offset before the jump (fold=0 does it)."""
    return wall.replace(tzinfo=zone, fold=int(second_pass)).astimezone(UTC)


def require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")
