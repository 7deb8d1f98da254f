"""Schedules: when a deployment's runs fall due, as a cron, an interval or an RFC 5545 rule.

One module per part, each built on the ones before it: `values` (time zones, cron
expressions, rrules, intervals, checked one at a time), `models` (what is stored and sent
over HTTP), `parsing` (the shapes users write: `schedule:` / `schedules:` in flowpool.yaml or
prefect.yaml, and the CLI flags, with errors that name the field and the fix),
`occurrences` (pure iteration: a schedule to UTC instants) and `lookahead` (which of those
instants get runs ahead of time, and the key that makes creating them idempotent). Nothing
here reads the clock.

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

from .lookahead import (DEFAULT_LOOKAHEAD, NO_FUTURE_RUNS, FutureRuns, Lookahead, idempotency_key,
                        times_not_yet_created, times_to_create)
from .models import (CronSchedule, DeploymentSchedule, IntervalSchedule, RRuleSchedule, Schedule,
                     check_interval_s, check_stored, describe, run_parameters)
from .occurrences import iter_occurrences, occurrences
from .parsing import (SCHEDULE_KINDS, check_schedule_parameters, missing_required_parameters,
                      schedule_from_flags, schedules_from_config)
from .values import (CRON_HELP, INTERVAL_HELP, RRULE_HELP, STORED, check_cron, check_rrule,
                     check_timezone, parse_interval_s, wall_to_utc)

__all__ = [
    "CronSchedule", "DeploymentSchedule", "IntervalSchedule", "RRuleSchedule", "Schedule",
    "check_cron", "check_rrule", "check_schedule_parameters", "check_timezone", "describe",
    "iter_occurrences", "missing_required_parameters", "occurrences", "parse_interval_s",
    "run_parameters", "schedule_from_flags", "schedules_from_config", "wall_to_utc",
    "STORED", "check_interval_s", "check_stored", "CRON_HELP", "INTERVAL_HELP", "RRULE_HELP",
    "SCHEDULE_KINDS", "DEFAULT_LOOKAHEAD", "NO_FUTURE_RUNS", "FutureRuns", "Lookahead",
    "idempotency_key", "times_not_yet_created", "times_to_create",
]
