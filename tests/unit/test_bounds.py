"""The bounded types every input is checked against, and the checks of the API's request
guard and keyset cursors: pure logic, no server."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from orchestrator.api.checks import json_problems
from orchestrator.errors import InvalidInput
from orchestrator.models import DeploymentCreate, FlowRunCreate, WorkPoolUpdate, WorkQueueCreate
from orchestrator.schedules import DeploymentSchedule, IntervalSchedule, check_stored
from orchestrator.store.pages import Order, decode_cursor, encode_cursor
from orchestrator.store.tables import flow_runs

DEPLOYMENT = {"flow_name": "f", "name": "d", "entrypoint": "flows.py:f", "work_pool_name": "p"}


def refused_field(model, **data) -> str:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return ".".join(str(p) for p in refused.value.errors()[0]["loc"])


@pytest.mark.parametrize("value", [True, "3", 2.5, -1, 1_000_001, 2 ** 63])
def test_counts_are_whole_numbers_within_a_million(value):
    assert refused_field(DeploymentCreate, **DEPLOYMENT, retries=value) == "retries"


def test_a_count_written_as_a_float_with_no_fraction_is_that_count():
    assert WorkQueueCreate(name="q", priority=3.0).priority == 3


@pytest.mark.parametrize("value", ["inf", float("nan"), float("inf"), 0, -1, 366 * 86_400, True])
def test_timeouts_are_finite_positive_seconds_up_to_a_year(value):
    assert refused_field(DeploymentCreate, **DEPLOYMENT, timeout_seconds=value) == "timeout_seconds"


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59Z", "1899-12-31T23:59:59Z",
                                   "9999-12-31T23:00:00-05:00", 1_700_000_000])
def test_timestamps_are_iso_text_in_the_years_1900_to_2200(value):
    assert refused_field(FlowRunCreate, scheduled_time=value) == "scheduled_time"


def test_a_naive_timestamp_is_read_as_utc():
    run = FlowRunCreate(scheduled_time="2026-01-01T09:00:00")
    assert run.scheduled_time == datetime(2026, 1, 1, 9, tzinfo=timezone.utc)


def test_parameters_over_512_kib_are_refused_naming_the_field():
    assert refused_field(FlowRunCreate, parameters={"x": "y" * 600_000}) == "parameters"


def test_null_is_refused_where_it_means_nothing_and_clears_a_limit():
    assert refused_field(WorkPoolUpdate, paused=None) == "paused"
    assert refused_field(WorkPoolUpdate, base_job_template=None) == "base_job_template"
    assert WorkPoolUpdate(concurrency_limit=None).model_fields_set == {"concurrency_limit"}


@pytest.mark.parametrize("interval, anchor", [(1.9e16, "2026-01-01T00:00:00Z"), (0.5, "2026-01-01"),
                                              (3600, "2414-01-01T00:00:00Z")])
def test_interval_schedules_are_bounded(interval, anchor):
    with pytest.raises(ValidationError):
        IntervalSchedule(interval_s=interval, anchor_date=anchor)


def test_a_stored_schedule_outside_the_bounds_is_read_and_refused_by_the_scheduler_check():
    stored = DeploymentSchedule.model_validate(
        {"schedule": {"interval_s": 1.9e16, "anchor_date": "2414-01-01T00:00:00Z"}},
        context={"stored": True})
    with pytest.raises(ValueError, match="100 years.*1900..2200"):
        check_stored(stored)


def test_non_finite_numbers_and_nul_characters_are_found_by_their_path():
    found = list(json_problems({"a": [1, float("nan")], "b\x00": 1, "c": {"d": "x\x00"},
                                "e": ["\ud800"]}))
    assert [loc for loc, _ in found] == [("a", 1), ("b\x00",), ("c", "d"), ("e", 0)]


def test_a_cursor_holds_its_sort_key_and_refuses_anything_else():
    order = Order((flow_runs.c.created, flow_runs.c.id), descending=True)
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=5)
    assert decode_cursor(encode_cursor([moment, "run-1"]), order) == [moment, "run-1"]
    for garbage in ["", "not-a-cursor", encode_cursor(["run-1"]), encode_cursor([1, "x"]),
                    encode_cursor(["2026-01-01T00:00:00", "x"])]:
        with pytest.raises(InvalidInput) as refused:
            decode_cursor(garbage, order)
        assert refused.value.errors[0].field == "after"
