"""The scheduler holds dispatch while the broker does not answer (a run marked PENDING then
would only wait out the claim timeout), and dispatches as soon as it answers again."""
from __future__ import annotations

from config.settings import Settings
from orchestrator.leases import WorkerBeat, record_worker_beat
from orchestrator.models import utcnow
from orchestrator.scheduler.service import BROKER_RETRY_S, Scheduler
from orchestrator.states import StateType
from orchestrator.store import flow_runs
from tests.test_store import RecordingPublisher, make_deployment, make_run


def test_nothing_is_dispatched_while_the_broker_is_down(database, own_redis):
    scheduler = Scheduler(database, RecordingPublisher(), Settings(), own_redis.url)
    run_id = make_run(database, make_deployment(database, pool="outage")).id
    own_redis.stop()
    held = scheduler.tick(utcnow())
    with database.connect() as conn:
        while_down = flow_runs.read_flow_run(conn, run_id).state_type

    own_redis.start()
    record_worker_beat(scheduler.redis, WorkerBeat(name="w", pool="outage", limit=1))
    scheduler.tick(utcnow())
    with database.connect() as conn:
        after = flow_runs.read_flow_run(conn, run_id).state_type

    assert held == BROKER_RETRY_S and while_down is StateType.SCHEDULED
    assert after is StateType.PENDING
    assert [m.run_id for _, m in scheduler.publisher.sent] == [run_id]
