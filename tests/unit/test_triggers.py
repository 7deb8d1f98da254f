"""When a trigger fires: patterns, reactive thresholds within a window, `after`, proactive
windows, `for_each`; and the automation shapes refused with the field to fix."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from orchestrator.models.automations import Automation, AutomationCreate, EventTrigger
from orchestrator.models.events import Event, EventCreate
from orchestrator.triggers import (bucket_key, expire, mark_part_fired, matches_pattern,
                                   new_bucket, resource_matches, step)

T0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def event(name: str, at_s: float = 0, run: str = "r1", deployment: str = "ingest",
          **payload) -> Event:
    return Event(seq=1, id=f"e-{name}-{at_s}-{run}", event=name,
                 occurred=T0 + timedelta(seconds=at_s),
                 resource={"flowpool.resource.id": f"flowpool.flow-run.{run}",
                           "flowpool.resource.name": run},
                 related=[{"flowpool.resource.id": "flowpool.deployment.d1",
                           "flowpool.resource.name": deployment,
                           "flowpool.resource.role": "deployment"}],
                 payload=payload)


def trigger(**fields) -> EventTrigger:
    return EventTrigger.model_validate(fields)


def run_through(t: EventTrigger, events: list[Event]) -> list[bool]:
    bucket, fired = None, []
    for e in events:
        outcome = step(t, bucket, e)
        bucket = outcome.bucket
        fired.append(outcome.fired)
    return fired


def test_patterns_match_with_stars_and_refuse_with_a_bang():
    assert matches_pattern("flowpool.flow-run.abc", ["flowpool.flow-run.*"])
    assert not matches_pattern("flowpool.deployment.abc", ["flowpool.flow-run.*"])
    assert matches_pattern("anything", [])
    assert not matches_pattern("flowpool.flow-run.x", ["!flowpool.flow-run.*"])
    assert not matches_pattern(None, ["*"])


def test_prefect_names_match_flowpool_events():
    t = trigger(expect=["prefect.flow-run.Completed"],
                match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related={"prefect.resource.role": "deployment",
                               "prefect.resource.name": "ingest"})
    assert resource_matches(t, event("flowpool.flow-run.Completed"))
    assert run_through(t, [event("flowpool.flow-run.Completed")]) == [True]
    assert not resource_matches(t, event("flowpool.flow-run.Completed", deployment="other"))


def test_a_threshold_fires_once_on_the_third_event_within_the_window():
    t = trigger(expect=["flowpool.flow-run.Failed"], threshold=3, within=60)
    fails = [event("flowpool.flow-run.Failed", at) for at in (0, 20, 40, 50, 55, 58)]
    assert run_through(t, fails) == [False, False, True, False, False, True]


def test_events_further_apart_than_the_window_never_reach_the_threshold():
    t = trigger(expect=["flowpool.flow-run.Failed"], threshold=3, within=60)
    fails = [event("flowpool.flow-run.Failed", at) for at in (0, 50, 70, 130, 185)]
    assert run_through(t, fails) == [False] * 5


def test_after_arms_the_trigger():
    t = trigger(after=["flowpool.flow-run.Running"], expect=["flowpool.flow-run.Failed"])
    assert run_through(t, [event("flowpool.flow-run.Failed", 0)]) == [False]
    assert run_through(t, [event("flowpool.flow-run.Running", 0),
                           event("flowpool.flow-run.Failed", 1)]) == [False, True]


def test_for_each_keeps_a_window_per_resource():
    t = trigger(expect=["flowpool.flow-run.Failed"], threshold=2, within=60,
                for_each=["prefect.resource.id"])
    assert bucket_key(t, event("x", run="a")) != bucket_key(t, event("x", run="b"))


def test_a_proactive_window_fires_at_its_end_when_too_few_events_came():
    t = trigger(expect=["flowpool.flow-run.Completed"], posture="Proactive", within=3600)
    window = new_bucket(t, "", T0)
    assert not expire(t, window, T0 + timedelta(seconds=3599)).fired
    closed = expire(t, window, T0 + timedelta(seconds=3600))
    assert closed.fired and closed.bucket.start == T0 + timedelta(seconds=3600)


def test_a_proactive_window_that_saw_its_event_does_not_fire():
    t = trigger(expect=["flowpool.flow-run.Completed"], posture="Proactive", within=3600)
    counted = step(t, new_bucket(t, "", T0), event("flowpool.flow-run.Completed", 10)).bucket
    assert counted.count == 1
    assert not expire(t, counted, T0 + timedelta(seconds=3600)).fired


def test_after_a_long_outage_a_proactive_trigger_fires_once_and_starts_afresh():
    t = trigger(expect=["x"], posture="Proactive", within=60)
    now = T0 + timedelta(hours=5)
    closed = expire(t, new_bucket(t, "", T0), now)
    assert closed.fired and closed.bucket.start == now


@pytest.mark.parametrize("fields, field, words", [
    ({"posture": "Proactive"}, "trigger", "within: a Proactive trigger"),
    ({"threshold": 3}, "trigger", "within: a threshold above 1"),
    ({"within": "an hour"}, "trigger.within", "give `within` in seconds"),
    ({"threshold": 0}, "trigger.threshold", "greater than or equal to 1"),
    ({"type": "metric", "metric": {"name": "lateness"}}, "trigger.type",
     "metric triggers are not supported by flowpool"),
    ({"type": "compound", "triggers": [{"expect": "a"}], "require": 2}, "trigger",
     "require: 2 is more than its 1 triggers"),
    ({"type": "compound", "triggers": [{"expect": "a"}], "require": "most"}, "trigger.require",
     "give any, all, or how many"),
    ({"type": "compound", "expect": "a", "triggers": [{"expect": "a"}]}, "trigger",
     "expect: a compound trigger takes triggers, require and within"),
    ({"type": "sequence", "triggers": []}, "trigger", "triggers: a sequence trigger needs"),
    ({"type": "sequence", "triggers": [{"posture": "Proactive", "within": 60}]}, "trigger",
     "triggers[0]: the parts of a sequence trigger are Reactive event triggers"),
    ({"expect": "a", "triggers": [{"expect": "b"}]}, "trigger",
     "triggers: only a compound or sequence trigger has parts"),
])
def test_a_trigger_that_cannot_work_is_refused_naming_the_field(fields, field, words):
    with pytest.raises(ValidationError) as raised:
        AutomationCreate.model_validate({"name": "a", "trigger": fields,
                                         "actions": [{"type": "cancel-flow-run"}]})
    errors = {".".join(map(str, e["loc"])): e["msg"] for e in raised.value.errors()}
    assert field in errors and words in errors[field]


def test_actions_are_refused_by_type_and_template():
    base = {"name": "a", "trigger": {}}
    with pytest.raises(ValidationError, match="unknown action type 'send-email'"):
        AutomationCreate.model_validate({**base, "actions": [{"type": "send-email"}]})
    with pytest.raises(ValidationError, match="actions can use only the event"):
        AutomationCreate.model_validate({**base, "actions": [
            {"type": "run-deployment", "parameters": {"x": "{{ flow_run.id }}"}}]})
    with pytest.raises(ValidationError, match="List should have at least 1 item"):
        AutomationCreate.model_validate({**base, "actions": []})


def test_webhook_urls_are_masked_when_shown():
    automation = Automation.model_validate({
        "id": "1", "created": T0, "updated": T0, "name": "hook", "trigger": {},
        "actions": [{"type": "call-webhook", "url": "https://hooks.example.com/T0/B1/secret"}]})
    assert automation.masked().actions[0].url == "https://hooks.example.com/********"


def test_an_emitted_event_needs_a_resource_id_and_roles_on_related_resources():
    with pytest.raises(ValidationError, match="a resource needs an id"):
        EventCreate(event="x.y", resource={"flowpool.resource.name": "n"})
    with pytest.raises(ValidationError, match="a related resource needs a role"):
        EventCreate(event="x.y", resource={"flowpool.resource.id": "a"},
                    related=[{"flowpool.resource.id": "b"}])
    made = EventCreate(event="prefect.result.produced",
                       resource={"prefect.resource.id": "prefect.result.1"})
    assert made.event == "flowpool.result.produced"
    assert made.resource == {"flowpool.resource.id": "flowpool.result.1"}


def test_the_events_retention_setting_reads_durations_and_refuses_others(monkeypatch):
    from config.settings import Settings

    monkeypatch.setenv("FLOWPOOL_EVENTS_RETENTION", "12h")
    assert Settings().events_retention_s == 12 * 3600
    assert Settings(events_retention="90").events_retention_s == 90
    for bad, words in (("a week", "not a duration"), ("0s", "between 1s and 3650d")):
        with pytest.raises(ValidationError, match=words):
            Settings(events_retention=bad)


def test_the_firing_limit_setting_is_a_positive_whole_number(monkeypatch):
    from config.settings import Settings

    monkeypatch.setenv("FLOWPOOL_AUTOMATION_MAX_FIRINGS_PER_MINUTE", "5")
    assert Settings().automation_max_firings_per_minute == 5
    with pytest.raises(ValidationError, match="automation_max_firings_per_minute"):
        Settings(automation_max_firings_per_minute=0)


def run_parts(t: EventTrigger, firings: list[tuple[int, float]]) -> list[bool]:
    """Parts of compound `t` firing at (position, second): whether the compound fired."""
    marks, fired = {}, []
    for position, at_s in firings:
        outcome = mark_part_fired(t, marks, position, event(f"part{position}", at_s))
        for p, mark in outcome.changed.items():
            marks.pop(p, None) if mark is None else marks.__setitem__(p, mark)
        fired.append(outcome.fired)
    return fired


def parts(kind: str, count: int = 3, **fields) -> EventTrigger:
    return trigger(type=kind, triggers=[{"expect": f"part{i}"} for i in range(count)], **fields)


def test_a_compound_fires_when_all_its_parts_fired_within_its_window():
    t = parts("compound", within=60)
    assert run_parts(t, [(0, 0), (1, 10), (2, 59)]) == [False, False, True]
    assert run_parts(t, [(0, 0), (1, 10), (2, 61)]) == [False, False, False]  # 0 expired
    assert run_parts(t, [(0, 0), (0, 5), (1, 10)]) == [False, False, False]  # 0 twice is once


def test_a_compound_requires_any_or_a_number_of_its_parts():
    assert run_parts(parts("compound", require="any"), [(2, 0), (1, 1)]) == [True, True]
    assert run_parts(parts("compound", require=2, within=30),
                     [(0, 0), (2, 40), (1, 45), (0, 80)]) == [False, False, True, False]


def test_a_sequence_fires_only_when_its_parts_fire_in_order_within_its_window():
    t = parts("sequence", within=60)
    assert run_parts(t, [(0, 0), (1, 10), (2, 20)]) == [False, False, True]
    assert run_parts(t, [(1, 0), (2, 5), (0, 10), (2, 15), (1, 20), (2, 25)]) == [
        False, False, False, False, False, True]
    assert run_parts(t, [(0, 0), (1, 10), (2, 70)]) == [False, False, False]  # too late
