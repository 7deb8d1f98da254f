"""The doorbell rings once per run created and once per run ended: a ring between the
scheduler's full passes only dispatches (and runs the automations), while reaping, schedules
and worker presence keep the pace of full passes however often it rings."""
from __future__ import annotations

import time
from datetime import timedelta

from config.settings import Settings
from orchestrator.leases import WorkerBeat, record_worker_beat
from orchestrator.models import DeploymentCreate, utcnow
from orchestrator.scheduler.service import Scheduler
from orchestrator.schedules import DeploymentSchedule
from orchestrator.schedules.models import IntervalSchedule
from orchestrator.states import StateType
from orchestrator.store import deployments, flow_runs
from tests.test_store import RecordingPublisher, make_deployment, make_run

FULL_PASS_EVERY_S = 0.5


def states(database, deployment_id: str) -> list[StateType]:
    with database.connect() as conn:
        return [r.state_type for r in flow_runs.list_flow_runs(conn, deployment_id=deployment_id)]


def test_a_ring_between_full_passes_dispatches_and_full_passes_keep_their_pace(database,
                                                                              own_redis):
    scheduler = Scheduler(database, RecordingPublisher(),
                          Settings(dispatch_interval_s=FULL_PASS_EVERY_S), own_redis.url)
    deployment = make_deployment(database, pool="rings")
    record_worker_beat(scheduler.redis, WorkerBeat(name="w", pool="rings", limit=100))
    make_run(database, deployment)
    assert scheduler.look() == FULL_PASS_EVERY_S  # the first look is a full pass
    assert states(database, deployment.id) == [StateType.PENDING]

    # A schedule appears and a run is created (the doorbell rings): the next look, before
    # the full pass is due, dispatches the run and leaves the schedule to the full pass.
    with database.begin() as conn:
        deployments.upsert_deployment(conn, DeploymentCreate(
            flow_name="f", name="d", entrypoint="flows.py:f", work_pool_name="rings",
            schedules=[DeploymentSchedule(schedule=IntervalSchedule(
                interval_s=3600, anchor_date=utcnow() + timedelta(hours=1)))]), utcnow())
    make_run(database, deployment)
    assert 0 < scheduler.look() <= FULL_PASS_EVERY_S
    assert states(database, deployment.id) == [StateType.PENDING] * 2

    # Ringing without pause never starves the full pass: the schedule gets its runs.
    deadline = time.monotonic() + 10 * FULL_PASS_EVERY_S
    while StateType.SCHEDULED not in states(database, deployment.id):
        assert time.monotonic() < deadline, "no full pass while the doorbell kept ringing"
        scheduler.look()

    assert len(scheduler.publisher.sent) == 2
