"""Deleting a deployment or a work pool, and what becomes of its runs.

Runs in progress (PENDING, RUNNING) may have live infrastructure, so a delete refuses while
there are any, naming them, unless forced: then they are cancelled like `flow-run cancel`
does. Runs still waiting would never start without their deployment or pool, so they are
deleted with it. Finished runs stay, as history.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..errors import FieldError, InUse
from ..models import FlowRun
from ..models.removals import Removal
from ..states import SLOT_HOLDING_STATES, WAITING_STATES, StateType
from .deployments import read_deployment
from .events import deployment_event, record_events
from .flow_runs import cancel_flow_run
from .tables import deployments, flow_runs, work_pools
from .work_pools import read_work_pool

SHOWN_RUN_IDS = 5  # an error names this many runs at most


def delete_deployment(conn: sa.Connection, flow_name: str, name: str, force: bool,
                      now: datetime) -> tuple[Removal, list[FlowRun]]:
    """Delete FLOW/NAME; its schedules go with it (cascade). Also returns the runs cancelled."""
    deployment = read_deployment(conn, flow_name, name)
    owned = flow_runs.c.deployment_id == deployment.id
    cancelled, deleted = _settle_runs(conn, owned, f"deployment {deployment.full_name}", force, now)
    conn.execute(deployments.delete().where(deployments.c.id == deployment.id))
    record_events(conn, [deployment_event(deployment, "deleted", now)])
    return Removal(name=deployment.full_name, cancelled_runs=[r.id for r in cancelled],
                   deleted_waiting_runs=deleted), cancelled


def delete_work_pool(conn: sa.Connection, name: str, force: bool,
                     now: datetime) -> tuple[Removal, list[FlowRun]]:
    """Delete a pool no deployment uses; its queues go with it (cascade)."""
    read_work_pool(conn, name)
    users = [f"{row.flow_name}/{row.name}" for row in conn.execute(
        sa.select(deployments.c.flow_name, deployments.c.name)
        .where(deployments.c.work_pool_name == name)
        .order_by(deployments.c.flow_name, deployments.c.name))]
    if users:
        raise InUse(f"work pool {name!r} is used by {len(users)} deployment(s): "
                    + _listed(users), [FieldError(
                        "work_pool", "delete those deployments, or deploy them to another pool,"
                                     " first")])
    owned = flow_runs.c.work_pool_name == name
    cancelled, deleted = _settle_runs(conn, owned, f"work pool {name!r}", force, now)
    conn.execute(work_pools.delete().where(work_pools.c.name == name))
    return Removal(name=name, cancelled_runs=[r.id for r in cancelled],
                   deleted_waiting_runs=deleted), cancelled


def _settle_runs(conn: sa.Connection, owned, owner: str, force: bool,
                 now: datetime) -> tuple[list[FlowRun], int]:
    """Refuse while runs are in progress unless `force` (then cancel them); delete waiting runs."""
    roots = sa.and_(owned, flow_runs.c.parent_flow_run_id.is_(None))  # children go with roots
    active = list(conn.execute(sa.select(flow_runs.c.id, flow_runs.c.state_type).where(
        roots, flow_runs.c.state_type.in_([s.value for s in SLOT_HOLDING_STATES]))
        .order_by(flow_runs.c.created)))
    if active and not force:
        raise InUse(f"{owner} has {len(active)} run(s) in progress: "
                    + _listed([row.id for row in active]), [FieldError(
                        "force", "wait for them to finish, or give --force to cancel them and"
                                 " delete it now")])
    cancelled = [cancel_flow_run(conn, row.id, now) for row in active
                 if row.state_type != StateType.CANCELLING.value]  # those are stopping already
    deleted = conn.execute(flow_runs.delete().where(
        roots, flow_runs.c.state_type.in_([s.value for s in WAITING_STATES]))).rowcount
    return cancelled, deleted


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_RUN_IDS])
    return shown + (f" and {len(names) - SHOWN_RUN_IDS} more" if len(names) > SHOWN_RUN_IDS else "")
