"""When an automation's trigger fires: pure functions of the trigger, its bucket and an event
(or the clock), so every rule is tested without a server.

A bucket counts the events of one trigger (per `for_each` key) in a window of `within`
seconds. Reactive: the window opens on the first expected event (or on an `after` event);
the trigger fires when the count reaches `threshold` inside it. Proactive: the window opens
when the automation is created or resumed (or on an `after` event), and the trigger fires
at its end when fewer than `threshold` expected events came; without `after` the next
window starts where that one ended.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from .models.automations import EventTrigger, Posture
from .models.events import RESOURCE_ROLE, Event


@dataclass(frozen=True)
class Bucket:
    key: str
    start: datetime
    end: datetime
    count: int = 0
    event: dict[str, Any] | None = None  # the event that opened it (`after`), as JSON


@dataclass(frozen=True)
class Step:
    """What one event did to a bucket: the bucket to keep (None: delete it) and whether the
    trigger fired."""

    bucket: Bucket | None
    fired: bool = False


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def matches_pattern(value: str | None, patterns: list[str]) -> bool:
    """`*` matches any text; a `!` in front negates (Prefect's grammar)."""
    if value is None:
        return False
    positive = [p for p in patterns if not p.startswith("!")]
    negative = [p[1:] for p in patterns if p.startswith("!")]
    if any(_compiled(p).match(value) for p in negative):
        return False
    return not positive or any(_compiled(p).match(value) for p in positive)


def labels_match(labels: dict[str, str], matcher: dict[str, list[str]]) -> bool:
    return all(matches_pattern(labels.get(key), patterns) for key, patterns in matcher.items())


def resource_matches(trigger: EventTrigger, event: Event) -> bool:
    """The event's resource matches `match`, and each `match_related` matcher some related
    resource."""
    if not labels_match(event.resource, trigger.match):
        return False
    return all(any(labels_match(related, matcher) for related in event.related)
               for matcher in trigger.match_related)


def is_expected(trigger: EventTrigger, event: Event) -> bool:
    return not trigger.expect or matches_pattern(event.event, trigger.expect)


def is_after(trigger: EventTrigger, event: Event) -> bool:
    return bool(trigger.after) and matches_pattern(event.event, trigger.after)


MAX_KEY_CHARS = 200


def bucket_key(trigger: EventTrigger, event: Event) -> str:
    """The values of the `for_each` labels (on the resource, else on a related resource); a
    digest of them when they are long."""
    key = "\x1f".join(_label_value(event, label) for label in trigger.for_each)
    return key if len(key) <= MAX_KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()


def _label_value(event: Event, label: str) -> str:
    if label in event.resource:
        return event.resource[label]
    role, _, name = label.removeprefix("flowpool.").partition(".")
    for related in event.related:
        if related.get(RESOURCE_ROLE) == role and name and f"flowpool.resource.{name}" in related:
            return related[f"flowpool.resource.{name}"]
    return ""


def window(trigger: EventTrigger) -> timedelta:
    return timedelta(seconds=trigger.within)


def new_bucket(trigger: EventTrigger, key: str, start: datetime,
               event: dict[str, Any] | None = None) -> Bucket:
    return Bucket(key=key, start=start, end=start + window(trigger), event=event)


def step(trigger: EventTrigger, bucket: Bucket | None, event: Event) -> Step:
    """One matching event through the trigger: opens, counts, fires or leaves the bucket."""
    if trigger.posture is Posture.PROACTIVE:
        return _proactive_step(trigger, bucket, event)
    return _reactive_step(trigger, bucket, event)


def _reactive_step(trigger: EventTrigger, bucket: Bucket | None, event: Event) -> Step:
    key = bucket_key(trigger, event)
    if bucket is not None and event.occurred > bucket.end and trigger.within > 0:
        bucket = None  # its window has passed
    if is_after(trigger, event) and bucket is None:
        return Step(new_bucket(trigger, key, event.occurred, _as_json(event)))
    if not is_expected(trigger, event):
        return Step(bucket)
    if bucket is None:
        if trigger.after:
            return Step(None)  # not armed: no `after` event yet
        bucket = new_bucket(trigger, key, event.occurred)
    bucket = replace(bucket, count=bucket.count + 1)
    if bucket.count >= trigger.threshold:
        return Step(None, fired=True)
    return Step(bucket)


def _proactive_step(trigger: EventTrigger, bucket: Bucket | None, event: Event) -> Step:
    if bucket is None and is_after(trigger, event):
        return Step(new_bucket(trigger, bucket_key(trigger, event), event.occurred,
                               _as_json(event)))
    if bucket is not None and is_expected(trigger, event) and event.occurred <= bucket.end:
        return Step(replace(bucket, count=bucket.count + 1))
    return Step(bucket)


def expire(trigger: EventTrigger, bucket: Bucket, now: datetime) -> Step:
    """A proactive bucket whose window has ended: fire if too few events came, and open the
    next window (none when windows open on `after` events)."""
    if now < bucket.end:
        return Step(bucket)
    fired = bucket.count < trigger.threshold
    if trigger.after:
        return Step(None, fired=fired)
    # After a long outage, fire once for the missed windows and start afresh from now.
    start = bucket.end if bucket.end + window(trigger) > now else now
    return Step(new_bucket(trigger, bucket.key, start), fired=fired)


# --- compound and sequence triggers -----------------------------------------------------------
# Each part counts in buckets of its own (keyed by `part_key`); when a part fires, a mark
# (a bucket keyed by `mark_key`) records it until `within` seconds have passed.

def part_key(position: int, key: str) -> str:
    return f"{position}:{key}"


def mark_key(position: int) -> str:
    return f"fired:{position}"


@dataclass(frozen=True)
class Marks:
    """What a part's firing did to its compound's marks (position -> the mark to keep, None:
    delete it) and whether the compound fired."""

    changed: dict[int, Bucket | None]
    fired: bool = False


def mark_part_fired(trigger: EventTrigger, marks: dict[int, Bucket], position: int,
                    event: Event) -> Marks:
    """Part `position` fired on `event`: marked, and the compound fires once `required` parts
    are marked within its window. A sequence's part counts only after the one before it."""
    live = {p: m for p, m in marks.items() if trigger.within <= 0 or event.occurred <= m.end}
    changed: dict[int, Bucket | None] = {p: None for p in marks if p not in live}
    if trigger.type == "sequence" and position > 0 and position - 1 not in live:
        return Marks(changed)  # out of order: the sequence waits for the part before
    live[position] = new_bucket(trigger, mark_key(position), event.occurred, _as_json(event))
    if len(live) >= trigger.required:
        return Marks({p: None for p in set(marks) | set(live)}, fired=True)
    return Marks({**changed, position: live[position]})


def _as_json(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json")
