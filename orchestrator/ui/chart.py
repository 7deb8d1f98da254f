"""The dashboard's chart: runs created per hour over the last 24 hours, stacked by state, as
server-drawn SVG geometry (no script, no library)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..states import StateType

HOURS = 24
WIDTH, HEIGHT = 720, 140
GAP = 2
# bottom to top: what ended badly first, so failures stand out at the base of each bar
STACK = (StateType.CRASHED, StateType.FAILED, StateType.CANCELLED, StateType.CANCELLING,
         StateType.COMPLETED, StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED)


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    state: str
    title: str


@dataclass(frozen=True)
class Chart:
    segments: list[Segment]
    peak: int
    totals: dict[str, int]  # state -> runs over the window
    start: datetime
    width: int = WIDTH
    height: int = HEIGHT


def window_start(now: datetime) -> datetime:
    """The start of the 24 whole hours ending with the current one."""
    return now.replace(minute=0, second=0, microsecond=0, tzinfo=timezone.utc) - timedelta(
        hours=HOURS - 1)


def build_chart(rows: list[tuple[str, str, int]], now: datetime) -> Chart:
    start = window_start(now)
    hours = [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H") for i in range(HOURS)]
    counts: dict[tuple[str, str], int] = {(h, s): c for h, s, c in rows}
    per_hour = [sum(counts.get((h, s.value), 0) for s in StateType) for h in hours]
    peak = max(per_hour, default=0)
    slot = WIDTH / HOURS
    segments = []
    for index, hour in enumerate(hours):
        y = float(HEIGHT)
        for state in STACK:
            count = counts.get((hour, state.value), 0)
            if not count:
                continue
            height = HEIGHT * count / peak
            y -= height
            segments.append(Segment(round(index * slot + GAP / 2, 1), round(y, 1),
                                    round(slot - GAP, 1), round(height, 1), state.value.lower(),
                                    f"{hour}:00 UTC: {count} {state.value.lower()}"))
    totals = {s.value: sum(counts.get((h, s.value), 0) for h in hours) for s in StateType}
    return Chart(segments, peak, {s: n for s, n in totals.items() if n}, start)
