"""A run page draws its task runs, child flow runs and artifacts when a flow made some,
escaped (drawn here from view objects; the pages of real runs are checked in
tests/integration/test_http_reporter.py)."""
from __future__ import annotations

from datetime import datetime, timezone

from orchestrator.models import FlowRunDetail
from orchestrator.states import StateType
from orchestrator.ui.related import ArtifactView, TaskRunView
from orchestrator.ui.rendering import render_text

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def run(**changes) -> FlowRunDetail:
    values = dict(id="r1", name="<b>nightly</b>", flow_name="etl", work_pool_name="p",
                  work_queue_name="default", state_type=StateType.RUNNING, state_name="Running",
                  state_changed=NOW, scheduled_time=NOW, created=NOW, updated=NOW)
    return FlowRunDetail(**{**values, **changes})


def page(**sections) -> str:
    context = dict(task_runs=[], more_task_runs=False, child_runs=[], artifacts=[], lines=[], cursor=0, final=False,
                   poll_ms=1000, run=run(), title="t", path="/ui/runs/r1", signed_in=False,
                   csrf_token="tok")
    return render_text("run.html", **{**context, **sections})


def test_without_task_runs_children_or_artifacts_their_sections_are_absent():
    html = page()
    assert "Task runs" not in html and "Child flow runs" not in html and "Artifacts" not in html
    assert "&lt;b&gt;nightly&lt;/b&gt;" in html and "<b>nightly" not in html


def test_each_section_is_drawn_when_there_is_something_to_show():
    html = page(
        task_runs=[TaskRunView("t1", "fetch-<1>", "COMPLETED", "Completed", NOW, NOW)],
        child_runs=[run(id="c1", name="child-run", state_type=StateType.COMPLETED,
                        state_name="Completed")],
        artifacts=[ArtifactView("markdown", "# Report\n<script>alert(1)</script>", key="report"),
                   ArtifactView("table", [{"city": "<Paris>", "n": 3}], key="cities"),
                   ArtifactView("progress", 40.0)])

    assert "Task runs" in html and "fetch-&lt;1&gt;" in html
    assert "Child flow runs" in html and 'href="/ui/runs/c1"' in html
    assert "<h1>Report</h1>" in html and "<script>alert" not in html
    assert "<th>city</th>" in html and "<td>&lt;Paris&gt;</td>" in html
    assert '<progress max="100" value="40.0">' in html
