"""The limits of what flowpool accepts from users, in one place (README, "Limits").

Every number, size and time a client sends is bounded, so a typo or a hostile value is a
422 naming the field instead of an overflow deep in the scheduler or the database.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

DAY_S = 86_400
MAX_COUNT = 1_000_000  # priorities, concurrency limits, retries, log levels
MAX_DURATION_S = 365 * DAY_S  # timeouts and retry delays
MIN_YEAR, MAX_YEAR = 1900, 2200  # timestamps and schedule anchors
MIN_INTERVAL_S, MAX_INTERVAL_S = 1.0, 36_525 * DAY_S  # an interval schedule: 1 s .. 100 years
MAX_JSON_BYTES = 512 * 1024  # parameters and job variables, as JSON
MAX_JSON_DEPTH = 64  # nesting of a request body (what is stored must serialize back)
MAX_LIST_ITEMS = 1_000  # tags, retry delays, schedules of one deployment
MAX_PAGE = 1_000  # items in one page of a listing


def check_year(moment: datetime) -> datetime:
    """`moment` when its year is within MIN_YEAR..MAX_YEAR; ValueError naming the range."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"the year {moment.year} is out of range; give a date in the years"
                         f" {MIN_YEAR}..{MAX_YEAR}")
    return moment


def check_json_size(value: Any) -> Any:
    """`value` when it is at most MAX_JSON_BYTES of JSON; ValueError saying how big it is."""
    size = len(json.dumps(value, default=str).encode())
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{size} bytes of JSON, more than {MAX_JSON_BYTES // 1024} KiB; keep"
                         " large data in storage and pass its location")
    return value
