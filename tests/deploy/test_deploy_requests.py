"""The request deploy sends for a planned deployment: schedules replace the deployment's only
when the file gives them, an interval without an anchor keeps the one already stored, and
the run-option flags win over the flow's decorator."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from orchestrator.deploy import Selection, load_project, plan_deploy, prepare_registration
from orchestrator.deploy.requests import RunOptions, deployment_request
from orchestrator.errors import InvalidInput
from orchestrator.models.deployments import StoredSchedule
from orchestrator.schedules import DeploymentSchedule, IntervalSchedule

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
FLOWS = """
    from orchestrator import flow

    @flow(retries=3, timeout_seconds=60)
    def ship(order: int = 1):
        return order
"""


def request_for(project_dir, entry: str, **kwargs):
    root = project_dir({"flows.py": FLOWS, "flowpool.yaml": f"""
        deployments:
        - name: shop
          entrypoint: flows.py:ship
          work_pool: {{name: pool}}
          {entry}
        """})
    planned = plan_deploy(load_project(root), Selection(all=True)).deployments[0]
    return deployment_request(prepare_registration(planned), planned, now=NOW, **kwargs)


def stored_interval(anchor: datetime) -> StoredSchedule:
    entry = DeploymentSchedule(schedule=IntervalSchedule(interval_s=3600, anchor_date=anchor))
    return StoredSchedule(**entry.model_dump(), id="s1", created=NOW, updated=NOW)


def test_no_schedule_in_the_file_keeps_the_deployments_schedules(project_dir):
    assert request_for(project_dir, "tags: []").schedules is None


def test_an_empty_schedules_list_removes_them(project_dir):
    assert request_for(project_dir, "schedules: []").schedules == []


def test_an_interval_without_anchor_keeps_the_stored_anchor(project_dir):
    anchor = NOW - timedelta(days=30, minutes=7)
    request = request_for(project_dir, "schedule: {interval: 3600}",
                          current_schedules=[stored_interval(anchor)])
    written = request_for(project_dir, "schedule: {interval: 3600, anchor_date: 2029-06-01}",
                          current_schedules=[stored_interval(anchor)])

    assert request.schedules[0].schedule.anchor_date == anchor
    assert written.schedules[0].schedule.anchor_date == datetime(2029, 6, 1, tzinfo=timezone.utc)


def test_run_options_come_from_the_flow_unless_a_flag_gives_them(project_dir):
    from_flow = request_for(project_dir, "paused: true")
    from_flags = request_for(project_dir, "tags: []",
                             options=RunOptions(retries=0, retry_delay_seconds=(5.0, 30.0)))

    assert (from_flow.retries, from_flow.timeout_seconds, from_flow.paused) == (3, 60, True)
    assert (from_flags.retries, from_flags.retry_delay_seconds) == (0, [5.0, 30.0])
    assert from_flags.timeout_seconds == 60 and from_flags.paused is None


def test_a_bad_schedule_names_its_field(project_dir):
    with pytest.raises(InvalidInput) as error:
        request_for(project_dir, "schedules: [{cron: 'not a cron'}]")
    assert "deployments[0].schedules[0].cron" in str(error.value)
