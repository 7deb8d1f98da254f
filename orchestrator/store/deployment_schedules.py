"""Schedules of deployments in the database, and the runs they create ahead of time.

A schedule row keeps its id across redeploys (matched by slug, else by an equal
definition), because the id is part of the idempotency key of every run it creates: a run
a user cancelled keeps its key, and is not created again.

"Future runs" below are the auto-scheduled runs that never started (SCHEDULED, attempt 0)
with a scheduled time at or after `now`. They are deleted when what created them changes
(the deployment, a schedule, a pause) and the materializer creates them again from the new
definition; runs already due are left to run, and retries (AwaitingRetry) are never touched.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from ..errors import AlreadyExists, FieldError, InvalidInput, NotFound
from ..models import Deployment, FlowRun, new_id
from ..models.deployments import StoredSchedule
from ..schedules import FutureRuns
from ..schedules import STORED, DeploymentSchedule, check_schedule_parameters
from ..states import StateType
from .events import deployment_event, flow_run_event, record_events
from .flow_runs import initial_state_record
from .tables import deployment_schedules, deployments, flow_run_states, flow_runs

SHORT_ID_CHARS = 8  # how many characters of a schedule id listings show
MIN_ID_PREFIX_CHARS = 4


# --- reading ---------------------------------------------------------------------------------

def read_schedules(conn: sa.Connection,
                   deployment_ids: Iterable[str]) -> dict[str, list[StoredSchedule]]:
    """The schedules of each deployment, in the order they were given."""
    ids = list(deployment_ids)
    found: dict[str, list[StoredSchedule]] = {ident: [] for ident in ids}
    if not ids:
        return found
    query = (sa.select(deployment_schedules).where(deployment_schedules.c.deployment_id.in_(ids))
             .order_by(deployment_schedules.c.deployment_id, deployment_schedules.c.position))
    for row in conn.execute(query).mappings():
        found[row["deployment_id"]].append(_stored(row))
    return found


def _stored(row: Any) -> StoredSchedule:
    return StoredSchedule.model_validate(dict(
        id=row["id"], schedule=row["schedule"], active=row["active"],
        parameters=row["parameters"], slug=row["slug"], created=row["created"],
        updated=row["updated"], error=row["error"]), context=STORED)


def find_schedule(deployment: Deployment, ref: str) -> StoredSchedule:
    """A schedule of `deployment` by id, slug, or an unambiguous prefix of its id."""
    exact = [s for s in deployment.schedules if ref in (s.id, s.slug)]
    prefixed = [s for s in deployment.schedules
                if len(ref) >= MIN_ID_PREFIX_CHARS and s.id.startswith(ref)]
    matches = exact or prefixed
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(s.slug or s.id[:SHORT_ID_CHARS] for s in deployment.schedules) or "none"
    problem = "matches several schedules" if matches else "is not a schedule of it"
    raise NotFound(f"{ref!r} {problem} (deployment {deployment.full_name})", [FieldError(
        "schedule", f"give a schedule's id or slug; see `flowpool deployment schedule ls"
                    f" {deployment.full_name}` (schedules: {known})")])


def upcoming_runs(conn: sa.Connection, deployment_id: str, limit: int = 10) -> list[FlowRun]:
    """The deployment's SCHEDULED runs, soonest first."""
    query = (sa.select(flow_runs).where(flow_runs.c.deployment_id == deployment_id,
                                        flow_runs.c.state_type == StateType.SCHEDULED.value)
             .order_by(flow_runs.c.scheduled_time).limit(limit))
    return [FlowRun.model_validate(dict(row)) for row in conn.execute(query).mappings()]


# --- checking -------------------------------------------------------------------------------

def check_unique_slugs(entries: Sequence[DeploymentSchedule]) -> None:
    """InvalidInput naming each schedule whose slug an earlier one already uses."""
    seen: set[str] = set()
    errors = []
    for index, entry in enumerate(entries):
        if entry.slug and entry.slug in seen:
            errors.append(FieldError(f"schedules[{index}].slug", f"slug {entry.slug!r} is used"
                                     " by another schedule; slugs are unique"))
        seen.add(entry.slug or "")
    if errors:
        raise InvalidInput("invalid schedules", errors)


def check_schedules_can_run(deployment: Deployment) -> None:
    """Refuse schedules whose runs could not start (a required parameter without a value,
    or one that does not fit the flow); raises InvalidInput naming each parameter."""
    check_schedule_parameters(deployment.schedules, deployment.parameter_schema,
                              deployment.parameters,
                              enforce_schema=deployment.enforce_parameter_schema)


def run_definition(deployment: Deployment) -> dict[str, Any]:
    """Everything about a deployment that its future runs are made from; when it changes,
    they are made again."""
    schedules = [s.model_dump(mode="json", exclude={"created", "updated"})
                 for s in deployment.schedules]
    return {**deployment.model_dump(mode="json", exclude={"created", "updated", "schedules"}),
            "schedules": schedules}


# --- writing schedules ------------------------------------------------------------------------

def replace_schedules(conn: sa.Connection, deployment_id: str,
                      entries: Sequence[DeploymentSchedule], existing: Sequence[StoredSchedule],
                      now: datetime) -> None:
    """Make the deployment's schedules `entries`, keeping the id of each one that matches an
    existing schedule (same slug, or without slugs the same schedule and parameters)."""
    unused = list(existing)
    for position, entry in enumerate(entries):
        match = next((s for s in unused if _same_schedule(s, entry)), None)
        if match is None:
            _insert_schedule(conn, deployment_id, entry, position, now)
            continue
        unused.remove(match)
        values = _schedule_values(entry, position)
        if values != _schedule_values(match, position):
            values["updated"] = now
        conn.execute(deployment_schedules.update().where(deployment_schedules.c.id == match.id)
                     .values(**values))
    for gone in unused:
        delete_future_runs(conn, now, schedule_id=gone.id)
        conn.execute(deployment_schedules.delete().where(deployment_schedules.c.id == gone.id))


def _same_schedule(stored: StoredSchedule, entry: DeploymentSchedule) -> bool:
    if stored.slug or entry.slug:
        return stored.slug == entry.slug
    return stored.schedule == entry.schedule and stored.parameters == entry.parameters


def _schedule_values(entry: DeploymentSchedule, position: int) -> dict[str, Any]:
    return dict(position=position, slug=entry.slug, active=entry.active,
                schedule=entry.schedule.model_dump(mode="json"), parameters=entry.parameters)


def _insert_schedule(conn: sa.Connection, deployment_id: str, entry: DeploymentSchedule,
                     position: int, now: datetime) -> str:
    ident = new_id()
    conn.execute(deployment_schedules.insert().values(
        id=ident, deployment_id=deployment_id, **_schedule_values(entry, position),
        created=now, updated=now))
    return ident


def create_schedule(conn: sa.Connection, deployment: Deployment, entry: DeploymentSchedule,
                    now: datetime) -> StoredSchedule:
    """Add a schedule to a deployment, after checking its runs could start."""
    if entry.slug and any(s.slug == entry.slug for s in deployment.schedules):
        raise AlreadyExists(f"deployment {deployment.full_name} already has a schedule"
                            f" {entry.slug!r}", [FieldError("slug", "choose another slug")])
    check_schedule_parameters([entry], deployment.parameter_schema, deployment.parameters,
                              field="schedule",
                              enforce_schema=deployment.enforce_parameter_schema)
    ident = _insert_schedule(conn, deployment.id, entry, _next_position(conn, deployment.id), now)
    _touch_deployment(conn, deployment, now)
    return StoredSchedule(**entry.model_dump(), id=ident, created=now, updated=now)


def _next_position(conn: sa.Connection, deployment_id: str) -> int:
    last = conn.execute(sa.select(sa.func.max(deployment_schedules.c.position)).where(
        deployment_schedules.c.deployment_id == deployment_id)).scalar()
    return 0 if last is None else last + 1


def set_schedule_active(conn: sa.Connection, deployment: Deployment, ref: str, active: bool,
                        now: datetime) -> StoredSchedule:
    """Pause (its future runs are deleted) or resume (they are made again) one schedule."""
    schedule = find_schedule(deployment, ref)
    if schedule.active == active:
        return schedule
    if not active:
        delete_future_runs(conn, now, schedule_id=schedule.id)
    conn.execute(deployment_schedules.update().where(deployment_schedules.c.id == schedule.id)
                 .values(active=active, updated=now))
    _touch_deployment(conn, deployment, now)
    return schedule.model_copy(update={"active": active, "updated": now})


def delete_schedule(conn: sa.Connection, deployment: Deployment, ref: str,
                    now: datetime) -> StoredSchedule:
    """Remove one schedule and its future runs; runs it created earlier are kept."""
    schedule = find_schedule(deployment, ref)
    delete_future_runs(conn, now, schedule_id=schedule.id)
    conn.execute(deployment_schedules.delete().where(deployment_schedules.c.id == schedule.id))
    _touch_deployment(conn, deployment, now)
    return schedule


def set_deployment_paused(conn: sa.Connection, deployment: Deployment, paused: bool,
                          now: datetime) -> None:
    """Pause (future runs deleted, none created) or resume (they are created again)."""
    if paused:
        delete_future_runs(conn, now, deployment_id=deployment.id)
    conn.execute(deployments.update().where(deployments.c.id == deployment.id)
                 .values(paused=paused, updated=now))
    if paused != deployment.paused:
        record_events(conn, [deployment_event(deployment, "paused" if paused else "resumed",
                                              now)])


def _touch_deployment(conn: sa.Connection, deployment: Deployment, now: datetime) -> None:
    """A schedule added, paused, resumed or removed changes its deployment."""
    conn.execute(deployments.update().where(deployments.c.id == deployment.id)
                 .values(updated=now))
    record_events(conn, [deployment_event(deployment, "updated", now)])


def set_schedule_errors(conn: sa.Connection, errors: dict[str, str | None]) -> None:
    """Record why the scheduler skips each schedule (None: it works again). Leaves `updated`
    alone: this is the scheduler's finding, not a change of the schedule."""
    for schedule_id, error in errors.items():
        conn.execute(deployment_schedules.update()
                     .where(deployment_schedules.c.id == schedule_id).values(error=error))


# --- future runs --------------------------------------------------------------------------------

def _future(now: datetime):
    return sa.and_(flow_runs.c.state_type == StateType.SCHEDULED.value,
                   flow_runs.c.scheduled_time >= now, flow_runs.c.auto_scheduled.is_(True),
                   flow_runs.c.attempt == 0)


def delete_future_runs(conn: sa.Connection, now: datetime, *, deployment_id: str | None = None,
                       schedule_id: str | None = None) -> int:
    """Delete the future runs of a deployment or of one schedule; how many went.

    Not a change of state but the one write besides them (states.py says so): the delete is
    its own compare-and-set on the state, so a run the dispatcher took meanwhile is PENDING
    and no longer matches."""
    owner = (flow_runs.c.schedule_id == schedule_id if schedule_id is not None
             else flow_runs.c.deployment_id == deployment_id)
    return conn.execute(flow_runs.delete().where(owner, _future(now))).rowcount


def future_runs(conn: sa.Connection, schedule_ids: Sequence[str],
                now: datetime) -> dict[str, FutureRuns]:
    """What each schedule already has ahead (one grouped query on the schedule index)."""
    if not schedule_ids:
        return {}
    query = (sa.select(flow_runs.c.schedule_id, sa.func.count(),
                       sa.func.max(flow_runs.c.scheduled_time))
             .where(flow_runs.c.schedule_id.in_(list(schedule_ids)), _future(now))
             .group_by(flow_runs.c.schedule_id))
    return {schedule_id: FutureRuns(count, latest)
            for schedule_id, count, latest in conn.execute(query)}


def insert_runs_once(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert runs, skipping any whose idempotency key exists already (one statement per
    page of rows, INSERT ... ON CONFLICT DO NOTHING); how many were new."""
    if not rows:
        return 0
    statement = _insert_skipping_duplicates(conn).returning(flow_runs.c.id)
    inserted = set(conn.execute(statement, list(rows)).scalars())
    if inserted:
        new_rows = [row for row in rows if row["id"] in inserted]
        conn.execute(flow_run_states.insert(), [initial_state_record(row) for row in new_rows])
        record_events(conn, [flow_run_event(row, row["state_type"], row["state_name"], None,
                                            row["created"]) for row in new_rows])
    return len(inserted)


def _insert_skipping_duplicates(conn: sa.Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"no idempotent insert for {conn.dialect.name}")
    return insert(flow_runs).on_conflict_do_nothing(index_elements=[flow_runs.c.idempotency_key])


# --- what the materializer reads ---------------------------------------------------------------

def schedules_version(conn: sa.Connection) -> tuple:
    """Changes whenever a deployment or a schedule is created, changed or deleted (each
    such change sets its deployment's `updated`): cheap enough to read on every tick."""
    return (*conn.execute(sa.select(sa.func.count(), sa.func.max(deployments.c.updated))).one(),
            *conn.execute(sa.select(sa.func.count(), sa.func.max(deployment_schedules.c.updated)))
            .one())


def schedulable_deployment_ids(conn: sa.Connection) -> list[str]:
    """Deployments that are not paused and have at least one active schedule."""
    query = (sa.select(deployments.c.id).distinct()
             .join(deployment_schedules, deployment_schedules.c.deployment_id == deployments.c.id)
             .where(deployments.c.paused.is_(False), deployment_schedules.c.active.is_(True))
             .order_by(deployments.c.id))
    return list(conn.execute(query).scalars())


def read_schedulable(conn: sa.Connection, deployment_ids: Sequence[str]) -> list[Deployment]:
    """Those deployments, with their schedules, read under a share lock (PostgreSQL) so a
    pause or a schedule change committed meanwhile waits for this transaction to end, then
    deletes what it created."""
    query = (sa.select(deployments)
             .where(deployments.c.id.in_(list(deployment_ids)), deployments.c.paused.is_(False))
             .with_for_update(read=True))
    found = [Deployment.model_validate(dict(row)) for row in conn.execute(query).mappings()]
    schedules = read_schedules(conn, [d.id for d in found])
    return [d.model_copy(update={"schedules": schedules[d.id]}) for d in found]
