"""The HTTP reporter's own logic, against a client that records requests: batches merged and
cut into bounded requests, text cut to the API's bounds, a refused report isolated and
dropped, reports kept while the API is away, slots waited for with a deadline."""
from __future__ import annotations

import json
import math
import threading

import pytest

from orchestrator.engine import http_reporter
from orchestrator.engine.http_reporter import (HttpReporter, Piece, encode, round_trips,
                                               split_requests)
from orchestrator.errors import (ApiUnavailable, ConcurrencySlotError, ConcurrencySlotTimeout,
                                 InvalidInput, NotFound)
from orchestrator.models.concurrency_limits import SlotGrant
from orchestrator.models.reports import MAX_REPORTS, ReportBatchIn, ReportResult
from orchestrator.sdk.reporting import FlowRunReport, LogLine, ReportBatch, TaskRunReport

ROOT = "8c6f9a2e-1111-4222-8333-444455556666"
LEASE = "9c6f9a2e-1111-4222-8333-444455556666"


def task_run(n: int, state: str = "COMPLETED", **changes) -> TaskRunReport:
    report = TaskRunReport(f"00000000-0000-4000-8000-{n:012d}", ROOT, f"t-{n}", "m.t", (), state,
                           state.capitalize(), None, 1, 1.0, 2.0, None, False, "1", None,
                           (("RUNNING", "Running", 1.0), (state, state.capitalize(), 2.0)))
    return report._replace(**changes)


def flow_run(run_id: str, parent: str | None = ROOT, **changes) -> FlowRunReport:
    report = FlowRunReport(run_id, "child", "child-flow", parent, None, {"x": 1}, (), "RUNNING",
                           "Running", None, 1, 1.0, None, None, (("RUNNING", "Running", 1.0),))
    return report._replace(**changes)


class RecordingClient:
    """Takes report requests, refusing those holding `refuse` and failing `away` times."""

    def __init__(self, refuse: str | None = None, away: int = 0):
        self.bodies: list[dict] = []
        self.refuse, self.away = refuse, away
        self.grants: list = []

    def send_reports(self, run_id: str, body: bytes) -> ReportResult:
        if self.away:
            self.away -= 1
            raise ApiUnavailable("the API is away")
        if self.refuse and self.refuse.encode() in body:
            raise InvalidInput("refused")
        parsed = json.loads(body)
        ReportBatchIn.model_validate(parsed)  # as the API reads it
        self.bodies.append(parsed)
        return ReportResult()

    def acquire_slots(self, run_id, request):
        grant = self.grants.pop(0)
        if isinstance(grant, Exception):
            raise grant
        return grant

    def renew_slots(self, run_id, leases):
        raise AssertionError("not held long enough to be renewed")

    def release_slots(self, run_id, lease):
        self.released = lease


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(http_reporter, "RETRY_DELAYS_S", (0.001, 0.01))
    monkeypatch.setattr(http_reporter, "SLOT_POLL_S", (0.001, 0.01))


def shipped(client: RecordingClient, *batches: ReportBatch) -> list[dict]:
    reporter = HttpReporter(client, ROOT)
    for batch in batches:
        reporter.send(batch)
    reporter.close()
    return client.bodies


def held_sending(client: RecordingClient) -> tuple[threading.Event, threading.Event]:
    """Make the client's sends wait for `gate`; `in_flight` is set once one started."""
    in_flight, gate = threading.Event(), threading.Event()
    original = client.send_reports

    def slow_send(run_id, body):
        in_flight.set()
        assert gate.wait(5)
        return original(run_id, body)

    client.send_reports = slow_send
    return in_flight, gate


def test_queued_batches_are_merged_the_latest_snapshot_of_each_run_winning():
    client = RecordingClient()
    in_flight, gate = held_sending(client)
    reporter = HttpReporter(client, ROOT)
    reporter.send(ReportBatch([], [task_run(0)], [], []))  # in flight while the rest queue
    assert in_flight.wait(5)
    for n in range(1, 4):
        reporter.send(ReportBatch([], [task_run(n, "RUNNING")], [], []))
        reporter.send(ReportBatch([], [task_run(n)], [], []))
    gate.set()
    reporter.close()
    assert reporter.report_requests == 2
    second = client.bodies[1]["task_runs"]
    assert [(t["name"], t["state_type"]) for t in second] == [("t-1", "COMPLETED"),
                                                              ("t-2", "COMPLETED"),
                                                              ("t-3", "COMPLETED")]


def test_requests_hold_at_most_1000_reports_of_a_kind_and_max_bytes():
    pieces = encode(ReportBatch([], [task_run(n) for n in range(2500)], [], []), set())
    requests = split_requests(pieces, 1024 * 1024)
    assert [len(r) for r in requests] == [MAX_REPORTS, MAX_REPORTS, 500]
    small = split_requests(pieces[:10], 2000)
    assert all(sum(len(p.json) + 1 for p in r) <= 1900 for r in small)
    assert [p for r in small for p in r] == pieces[:10]  # in order, none lost


def test_the_root_s_own_snapshot_is_not_sent_and_text_is_cut_to_the_api_s_bounds():
    long_error = "Traceback\n" + "x" * 100_000 + "\nValueError: at the end"
    bodies = shipped(RecordingClient(), ReportBatch(
        [flow_run(ROOT, None), flow_run("1c6f9a2e-1111-4222-8333-444455556666",
                                        parameters={"n": math.nan, "s": "a\x00b\ud800"})],
        [task_run(1, "FAILED", error=long_error, message="m" * 20_000, name="n" * 300)],
        [LogLine(ROOT, None, 1.0, 20, "x", "secret-value and \x00")], []))
    body, = bodies
    assert [r["id"] for r in body["flow_runs"]] == ["1c6f9a2e-1111-4222-8333-444455556666"]
    assert body["flow_runs"][0]["parameters"] == {"n": "nan", "s": "a\ufffdb?"}
    failed, = body["task_runs"]
    assert failed["error"].endswith("ValueError: at the end") and len(failed["name"]) == 200
    assert body["logs"][0]["message"] == "secret-value and \ufffd"


def test_known_secrets_are_masked_in_what_is_sent():
    client = RecordingClient()
    reporter = HttpReporter(client, ROOT, secrets={"hunter2-password"})
    reporter.send(ReportBatch([], [task_run(1, "FAILED", message="bad hunter2-password")],
                              [LogLine(ROOT, None, 1.0, 20, "x", "using hunter2-password")], []))
    reporter.close()
    assert "hunter2" not in json.dumps(client.bodies)


def test_the_root_s_own_log_lines_are_handed_over_at_close_masked_and_the_rest_shipped():
    client, handed = RecordingClient(), []
    in_flight, gate = held_sending(client)

    def own_logs(entries):
        handed.extend(entries)
        gate.set()  # what is still queued is shipped after the hand-over

    reporter = HttpReporter(client, ROOT, secrets={"hunter2-password"}, own_logs=own_logs)
    reporter.send(ReportBatch([], [task_run(0)], [], []))  # in flight while the rest queue
    assert in_flight.wait(5)
    child = "1c6f9a2e-1111-4222-8333-444455556666"
    reporter.send(ReportBatch([], [task_run(1)], [
        LogLine(ROOT, None, 2.0, 20, "flowpool.flow_runs", "root uses hunter2-password"),
        LogLine(ROOT, task_run(1).id, 3.0, 20, "flowpool.task_runs", "a task's line"),
        LogLine(child, None, 4.0, 20, "flowpool.flow_runs", "a child run's line")], []))
    reporter.close()
    assert [(e.message, e.source, e.timestamp.timestamp()) for e in handed] == [
        ("root uses ********", "flow", 2.0)]
    shipped_lines = [line["message"] for body in client.bodies for line in body["logs"]]
    assert shipped_lines == ["a task's line", "a child run's line"]


def test_a_refused_report_is_dropped_and_the_others_are_kept():
    bad = task_run(7, name="refuse-me")
    bodies = shipped(RecordingClient(refuse="refuse-me"),
                     ReportBatch([], [task_run(n) for n in range(7)] + [bad], [], []))
    kept = [t["name"] for body in bodies for t in body["task_runs"]]
    assert kept == [f"t-{n}" for n in range(7)]


def test_reports_wait_while_the_api_is_away_and_are_shipped_when_it_is_back():
    bodies = shipped(RecordingClient(away=3), ReportBatch([], [task_run(1)], [], []))
    assert len(bodies) == 1 and bodies[0]["task_runs"][0]["name"] == "t-1"


def test_only_values_json_gives_back_as_they_are_are_cached():
    assert round_trips({"a": [1, 2.5, None, True, "x"]})
    assert not round_trips((1, 2)) and not round_trips({1: "a"}) and not round_trips({1, 2})
    assert not round_trips(math.inf) and not round_trips(object())


def test_slots_are_waited_for_until_granted_or_the_deadline():
    client = RecordingClient()
    full = SlotGrant(acquired=False, lease_ttl_s=30)
    client.grants = [full, ApiUnavailable("away"), full,
                     SlotGrant(acquired=True, lease_id=LEASE, names=["gpu"], lease_ttl_s=30)]
    reporter = HttpReporter(client, ROOT)
    lease = reporter.acquire_slots(["gpu"], 1, None, False, False)
    assert lease.id == LEASE and lease.names == ("gpu",)
    reporter.release_slots(lease)
    assert client.released.lease_id == LEASE

    client.grants = [full] * 1000
    with pytest.raises(ConcurrencySlotTimeout):
        reporter.acquire_slots(["gpu"], 1, 0.05, False, False)
    client.grants = [NotFound("concurrency limit(s) gpu do not exist")]
    with pytest.raises(ConcurrencySlotError):
        reporter.acquire_slots(["gpu"], 1, None, False, True)
    with pytest.raises(ConcurrencySlotError):
        reporter.acquire_slots(["bad/name"], 1, None, False, False)
    reporter.close()


def test_piece_bodies_are_what_the_api_reads():
    pieces = [Piece("logs", json.dumps({"flow_run_id": ROOT, "timestamp": "2026-01-01T00:00:00Z",
                                        "message": "x"}).encode())]
    body = json.loads(http_reporter.request_body(pieces))
    assert ReportBatchIn.model_validate(body).logs[0].message == "x"
