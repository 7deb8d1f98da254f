"""Flow runs in the database, and `set_state`: the one function that changes a run's state.

Every change is judged by `states.decide` and written as one compare-and-set on the run's
(state, dispatch token), so two writers can never both win.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..errors import FieldError, InvalidInput, NotFound, StateRejected
from ..jobs import validate_job_variables
from ..models import (Deployment, FlowRun, FlowRunCreate, FlowRunDetail, StateProposal,
                      StateRecord, WorkPool, new_id)
from ..parameters import validate_against_schema
from ..states import (DEFAULT_NAMES, FINAL_STATES, Attempts, Decision, Origin, StateType, decide,
                      retry_message)
from .events import flow_run_event, record_events
from .pages import Order, Page, fetch_page
from .tables import flow_run_states, flow_runs
from .task_runs import end_open_task_runs
from .work_pools import read_work_queue

RESULT_REPR_LIMIT = 2000
RUN_EVENT_FIELDS = {"id", "name", "flow_name", "deployment_id", "deployment_name",
                    "work_pool_name", "tags"}  # what a run's events say about it
RUN_ORDER = Order((flow_runs.c.created, flow_runs.c.id), descending=True)  # newest first


def create_flow_run(conn: sa.Connection, deployment: Deployment, pool: WorkPool,
                    request: FlowRunCreate, now: datetime,
                    idempotency_key: str | None = None) -> FlowRun:
    """A SCHEDULED run of `deployment`; parameters and job variables are validated first."""
    parameters = {**deployment.parameters, **request.parameters}
    if deployment.enforce_parameter_schema:
        validate_against_schema(parameters, deployment.parameter_schema)
    validate_job_variables(pool.base_job_template, request.job_variables, "job_variable")
    queue_name = request.work_queue_name or deployment.work_queue_name
    read_work_queue(conn, pool.name, queue_name)
    values = new_run_values(deployment, queue_name, request, parameters, now, idempotency_key)
    conn.execute(flow_runs.insert().values(**values))
    conn.execute(flow_run_states.insert().values(**initial_state_record(values)))
    record_events(conn, [flow_run_event(values, values["state_type"], values["state_name"], None,
                                        now)])
    return FlowRun.model_validate(values)


def new_run_values(deployment: Deployment, queue_name: str, request: FlowRunCreate,
                   parameters: dict[str, Any], now: datetime,
                   idempotency_key: str | None = None) -> dict[str, Any]:
    """The row of a new SCHEDULED run of `deployment`: what a run copies from its deployment
    (tags, retries, timeout), decided here for triggered and scheduled runs alike."""
    ident = new_id()
    return dict(
        id=ident, name=request.name or f"{deployment.flow_name}-{ident[:8]}",
        flow_name=deployment.flow_name, deployment_id=deployment.id,
        deployment_name=deployment.name, work_pool_name=deployment.work_pool_name,
        work_queue_name=queue_name, parameters=parameters, job_variables=request.job_variables,
        tags=sorted(set(deployment.tags) | set(request.tags)),
        state_type=StateType.SCHEDULED.value, state_name=DEFAULT_NAMES[StateType.SCHEDULED],
        state_message=None, state_changed=now, attempt=0, dispatch_token=None,
        retries=deployment.retries, retry_delay_seconds=deployment.retry_delay_seconds,
        timeout_seconds=deployment.timeout_seconds,
        scheduled_time=request.scheduled_time or now, idempotency_key=idempotency_key,
        result_is_repr=False, created=now, updated=now)


def initial_state_record(run_values: dict[str, Any]) -> dict[str, Any]:
    """The first entry of a new run's state history."""
    return dict(flow_run_id=run_values["id"], type=run_values["state_type"],
                name=run_values["state_name"], message=None, attempt=0,
                timestamp=run_values["created"])


def read_flow_run(conn: sa.Connection, run_id: str) -> FlowRun:
    row = conn.execute(sa.select(flow_runs).where(flow_runs.c.id == run_id)).mappings().first()
    if row is None:
        raise flow_run_not_found(run_id)
    return FlowRun.model_validate(dict(row))


def flow_run_not_found(run_id: str) -> NotFound:
    return NotFound(f"flow run {run_id} does not exist", [FieldError(
        "flow_run", "see `flowpool flow-run ls` for the runs there are")])


def read_flow_run_detail(conn: sa.Connection, run_id: str) -> FlowRunDetail:
    run = read_flow_run(conn, run_id)
    return FlowRunDetail(**run.model_dump(), history=read_state_history(conn, run_id))


def read_state_history(conn: sa.Connection, run_id: str) -> list[StateRecord]:
    query = (sa.select(flow_run_states).where(flow_run_states.c.flow_run_id == run_id)
             .order_by(flow_run_states.c.id))
    return [StateRecord(type=row["type"], name=row["name"], message=row["message"],
                        timestamp=row["timestamp"], attempt=row["attempt"])
            for row in conn.execute(query).mappings()]


def list_flow_runs(conn: sa.Connection, state: StateType | None = None,
                   deployment_id: str | None = None, work_pool_name: str | None = None,
                   limit: int = 100) -> list[FlowRun]:
    return page_flow_runs(conn, state, deployment_id, work_pool_name, None, limit).items


def page_flow_runs(conn: sa.Connection, state: StateType | None, deployment_id: str | None,
                   work_pool_name: str | None, cursor: str | None, limit: int,
                   parent_flow_run_id: str | None = None) -> Page[FlowRun]:
    """Runs, newest first (with `parent_flow_run_id`: that run's child runs)."""
    query = sa.select(flow_runs)
    if parent_flow_run_id:
        query = query.where(flow_runs.c.parent_flow_run_id == parent_flow_run_id)
    if state:
        query = query.where(flow_runs.c.state_type == state.value)
    if deployment_id:
        query = query.where(flow_runs.c.deployment_id == deployment_id)
    if work_pool_name:
        query = query.where(flow_runs.c.work_pool_name == work_pool_name)
    return fetch_page(conn, query, RUN_ORDER, cursor, limit,
                      lambda row: FlowRun.model_validate(dict(row)))


def set_state(conn: sa.Connection, run_id: str, proposal: StateProposal, origin: Origin,
              now: datetime, worker_name: str | None = None,
              scheduled_time: datetime | None = None) -> FlowRun:
    """Apply `proposal` as the rules decide (a retried failure becomes AwaitingRetry); raise
    StateRejected when they refuse it."""
    run = read_flow_run(conn, run_id)
    attempts = Attempts(run.attempt, run.retries, run.retry_delay_seconds)
    decision = decide(run.state_type, proposal.type, origin,
                      token_matches=proposal.token is not None
                      and proposal.token == run.dispatch_token, attempts=attempts)
    if not decision.accepted:
        raise StateRejected(f"flow run {run_id} is {run.state_type.value}: {decision.reason}")
    outcome = proposal.type  # what the attempt ended with, before a retry takes its place
    if decision.is_retry:
        proposal, scheduled_time = _awaiting_retry(attempts, proposal, decision, now)
    values = _state_values(run, proposal, now, decision.rule.issues_token, worker_name)
    if scheduled_time is not None:
        values["scheduled_time"] = scheduled_time
    token_now = (flow_runs.c.dispatch_token.is_(None) if run.dispatch_token is None
                 else flow_runs.c.dispatch_token == run.dispatch_token)
    result = conn.execute(flow_runs.update().where(
        flow_runs.c.id == run_id, flow_runs.c.state_type == run.state_type.value, token_now,
    ).values(**values))
    if result.rowcount != 1:
        raise StateRejected(f"flow run {run_id} changed state concurrently; nothing written")
    _record_state(conn, run_id, proposal.type, values["state_name"], proposal.message,
                  values.get("attempt", run.attempt), now)
    record_events(conn, [flow_run_event(run.model_dump(include=RUN_EVENT_FIELDS), proposal.type.value,
                                        values["state_name"], proposal.message, now,
                                        values.get("result"))])
    if outcome in FINAL_STATES and run.parent_flow_run_id is None:
        end_descendants(conn, run_id, outcome, now)
    return run.model_copy(update={**values, "state_type": proposal.type})  # the enum, not its value


BULK_CHUNK = 500


def issue_tokens(conn: sa.Connection, run_ids: list[str], current: StateType, now: datetime,
                 message: str | None = None) -> list[sa.Row]:
    """The bulk form of `set_state`, for the dispatcher: many runs `current` -> PENDING, each
    with its own new token.

    Judged once by the same `decide()` (Dispatch, or RedispatchUnclaimed from PENDING: the
    server's rules, which need no token), then written as one compare-and-set statement per
    chunk, `UPDATE ... WHERE id IN (...) AND state = current`: a run whose state changed
    meanwhile is left out, as `set_state` would refuse it. No retry can arise (PENDING is not
    a failure). Returns (id, work_pool_name, work_queue_name, dispatch_token, attempt) of the
    runs dispatched.
    """
    decision = decide(current, StateType.PENDING, Origin.SERVER, token_matches=False)
    if not decision.accepted or not decision.rule.issues_token:
        raise StateRejected(f"runs cannot be dispatched from {current.value}: {decision.reason}")
    dispatched = []
    for start in range(0, len(run_ids), BULK_CHUNK):
        dispatched += _issue_token_chunk(conn, run_ids[start:start + BULK_CHUNK], current, now,
                                         message)
    return dispatched


def _issue_token_chunk(conn: sa.Connection, run_ids: list[str], current: StateType,
                       now: datetime, message: str | None) -> list[sa.Row]:
    tokens = {run_id: new_id() for run_id in run_ids}
    name = DEFAULT_NAMES[StateType.PENDING]
    rows = conn.execute(
        flow_runs.update()
        .where(flow_runs.c.id.in_(run_ids), flow_runs.c.state_type == current.value)
        .values(state_type=StateType.PENDING.value, state_name=name, state_message=message,
                state_changed=now, updated=now,
                dispatch_token=sa.case(tokens, value=flow_runs.c.id))
        .returning(flow_runs.c.id, flow_runs.c.work_pool_name, flow_runs.c.work_queue_name,
                   flow_runs.c.dispatch_token, flow_runs.c.attempt, flow_runs.c.name,
                   flow_runs.c.flow_name, flow_runs.c.deployment_id,
                   flow_runs.c.deployment_name, flow_runs.c.tags)).all()
    if rows:
        conn.execute(flow_run_states.insert(), [
            dict(flow_run_id=r.id, type=StateType.PENDING.value, name=name, message=message,
                 attempt=r.attempt, timestamp=now) for r in rows])
        record_events(conn, [flow_run_event(r._mapping, StateType.PENDING.value, name, message,
                                            now) for r in rows])
    return rows


def _awaiting_retry(attempts: Attempts, proposal: StateProposal, decision: Decision,
                    now: datetime) -> tuple[StateProposal, datetime]:
    """The decided retry as the state to write: the run waits in SCHEDULED for the delay,
    then runs as a new attempt; its message says how the failed attempt ended."""
    message = retry_message(attempts, proposal.name or DEFAULT_NAMES[proposal.type],
                            proposal.message, decision.delay_s)
    return (StateProposal(type=decision.target, name=decision.name, message=message),
            now + timedelta(seconds=decision.delay_s))


def end_descendants(conn: sa.Connection, root_id: str, root_state: StateType,
                    now: datetime) -> int:
    """The root run's attempt ended: its child flow runs and task runs still open end with it,
    CANCELLED when it was cancelled, else CRASHED (its process is gone, or its last reports
    were lost), so none is left RUNNING; how many child flow runs."""
    ending = StateType.CANCELLED if root_state is StateType.CANCELLED else StateType.CRASHED
    message = f"its root flow run {root_id} ended {root_state.value}"
    open_children = list(conn.execute(sa.select(
        flow_runs.c.id, flow_runs.c.attempt, flow_runs.c.name, flow_runs.c.flow_name,
        flow_runs.c.deployment_id, flow_runs.c.deployment_name, flow_runs.c.work_pool_name,
        flow_runs.c.tags).where(
        flow_runs.c.root_flow_run_id == root_id,
        flow_runs.c.state_type.not_in([s.value for s in FINAL_STATES]))))
    if open_children:
        conn.execute(flow_runs.update().where(
            flow_runs.c.id.in_([c.id for c in open_children]),
            flow_runs.c.state_type.not_in([s.value for s in FINAL_STATES]),
        ).values(state_type=ending.value, state_name=DEFAULT_NAMES[ending],
                 state_message=message, state_changed=now, end_time=now, updated=now))
        conn.execute(flow_run_states.insert(), [
            dict(flow_run_id=c.id, type=ending.value, name=DEFAULT_NAMES[ending],
                 message=message, attempt=c.attempt, timestamp=now) for c in open_children])
        record_events(conn, [flow_run_event(c._mapping, ending.value, DEFAULT_NAMES[ending],
                                            message, now) for c in open_children])
    end_open_task_runs(conn, root_id, ending, message, now)
    return len(open_children)


def cancel_flow_run(conn: sa.Connection, run_id: str, now: datetime) -> FlowRun:
    """A waiting run is cancelled at once; a running one is asked to stop (CANCELLING). A
    child run is cancelled with its root, whose worker can stop the process."""
    run = read_flow_run(conn, run_id)
    if run.root_flow_run_id is not None:
        raise InvalidInput(f"flow run {run_id} is a child flow run: it runs in the process of "
                           f"its root run {run.root_flow_run_id}", [FieldError(
                               "flow_run", f"cancel the root run: `flowpool flow-run cancel "
                                           f"{run.root_flow_run_id}`")])
    target = StateType.CANCELLING if run.state_type is StateType.RUNNING else StateType.CANCELLED
    return set_state(conn, run_id, StateProposal(type=target, message="cancelled by a user"),
                     Origin.USER, now)


def rerun_flow_run(conn: sa.Connection, run_id: str, now: datetime) -> FlowRun:
    """Schedule a finished run again, now, with the same parameters, as its next attempt."""
    run = read_flow_run(conn, run_id)
    if run.deployment_id is None:
        raise InvalidInput(f"flow run {run_id} has no deployment to run it again", [FieldError(
            "flow_run", "only runs of a deployment can be retried")])
    return set_state(conn, run_id, StateProposal(
        type=StateType.SCHEDULED, message=f"run again by a user after {run.state_name}"),
        Origin.USER, now, scheduled_time=now)


def _state_values(run: FlowRun, proposal: StateProposal, now: datetime, issues_token: bool,
                  worker_name: str | None) -> dict[str, Any]:
    to = proposal.type
    values: dict[str, Any] = dict(state_type=to.value, state_name=proposal.name or DEFAULT_NAMES[to],
                                  state_message=proposal.message, state_changed=now, updated=now)
    if issues_token:
        values["dispatch_token"] = new_id()
    elif to is StateType.SCHEDULED:
        values["dispatch_token"] = None  # the next dispatch issues the next attempt's token
        values["end_time"] = None
    if to is StateType.RUNNING:
        values["attempt"] = run.attempt + 1
        values["worker_name"] = worker_name
        values["start_time"] = now  # the current attempt's start; each is in the history
    if to in FINAL_STATES:
        values["end_time"] = now
    if to is StateType.COMPLETED:
        values["result"], values["result_is_repr"] = _storable_result(proposal)
    return values


def _storable_result(proposal: StateProposal) -> tuple[Any, bool]:
    if proposal.result_is_repr and isinstance(proposal.result, str):
        return proposal.result[:RESULT_REPR_LIMIT], True
    return proposal.result, proposal.result_is_repr


def _record_state(conn: sa.Connection, run_id: str, state: StateType, name: str,
                  message: str | None, attempt: int, now: datetime) -> None:
    conn.execute(flow_run_states.insert().values(flow_run_id=run_id, type=state.value, name=name,
                                                 message=message, attempt=attempt, timestamp=now))


def parse_state_type(state: str) -> StateType:
    try:
        return StateType(state.upper())
    except ValueError:
        known = ", ".join(s.value for s in StateType)
        raise InvalidInput(f"unknown state {state!r}", [FieldError("state", f"use one of: {known}")])
