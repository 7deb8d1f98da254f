"""Pure iteration: `occurrences()` turns a schedule into UTC instants, by the daylight-saving
rule the package describes. Nothing here reads the clock."""
from __future__ import annotations

import heapq
import itertools
import math
import re
from datetime import datetime, timedelta
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo


from ..bounds import DAY_S
from .models import CronSchedule, IntervalSchedule, RRuleSchedule, Schedule
from .values import (DST_WINDOW, RRULE_DEFAULT_DTSTART, UTC, parse_rrule, require_aware,
                     wall_to_utc)


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
    require_aware(start, "start")
    start = start.astimezone(UTC)
    if isinstance(schedule, CronSchedule):
        times = _cron_times(schedule, start)
    elif isinstance(schedule, IntervalSchedule):
        times = _interval_times(schedule, start)
    else:
        times = _rrule_times(schedule, start)
    return (when for when in times if when >= start)


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
    rule = parse_rrule(schedule.rrule, _default_dtstart(schedule.rrule, first_wall))
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
