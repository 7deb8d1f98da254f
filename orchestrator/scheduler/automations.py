"""The automations, run by the scheduler leader: each new event through every enabled
trigger, proactive windows closed on time, actions taken, old events deleted.

Each event is evaluated once, even across a change of leader: a batch of events is marked
taken in the same transaction that updates the triggers' windows, records the firings and
takes the actions that write to the database (a run created, a deployment paused, a run
cancelled). Either all of it commits or none does, and the next leader starts from the
first event left untaken. A firing's key is unique, and the run each action creates carries
it (with the action's place) as its idempotency key, so a firing evaluated twice still acts
once. Webhooks are called
after the commit: a leader that dies in between leaves that call unmade (at most once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from ..errors import FlowpoolError, InvalidInput
from ..leases import request_cancel
from ..models import FlowRunCreate
from ..models.automations import (Automation, CallWebhook, CancelFlowRun, EventTrigger,
                                  PauseDeployment, PauseWorkPool, Posture, ResumeDeployment,
                                  RunDeployment)
from ..models.events import RESOURCE_ID, RESOURCE_NAME, RESOURCE_ROLE, Event, flowpool_name
from ..models.work_pools import WorkPoolUpdate
from ..states import StateType
from ..store import automations as store
from ..store import flow_runs as runs_store
from ..store.database import Database
from ..store.deployment_schedules import set_deployment_paused
from ..store.deployments import read_deployment, read_deployment_by_id
from ..store.events import claim_unevaluated, delete_events_before, mark_all_evaluated
from ..store.work_pools import read_work_pool, update_work_pool
from ..templating import render
from ..triggers import (Bucket, bucket_key, expire, is_after, is_expected, mark_key,
                        mark_part_fired, new_bucket, part_key, resource_matches, step)

log = logging.getLogger(__name__)
EVENT_BATCH = 500
# Trigger evaluations (events x automations) in one transaction at most: the transaction holds
# the database's write lock, which the API waits on; many automations mean smaller batches.
EVALUATIONS_PER_BATCH = 1000
CLEANUP_INTERVAL_S = 60.0
CLEANUP_BATCH = 5000
PASS_BY_INTERVAL_S = 5.0
RATE_WINDOW = timedelta(minutes=1)
DEFAULT_MAX_FIRINGS_PER_MINUTE = 60


class TakenElsewhere(Exception):
    """Another evaluator took some of this batch first; this transaction rolls back."""


@dataclass
class AfterCommit:
    """What the actions leave for after their transaction commits."""

    webhooks: list[tuple[CallWebhook, Any]] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    runs_created: int = 0


class Automator:
    def __init__(self, db: Database, redis, retention_s: float,
                 max_firings_per_minute: int = DEFAULT_MAX_FIRINGS_PER_MINUTE):
        self.db, self.redis, self.retention_s = db, redis, retention_s
        self.max_firings_per_minute = max_firings_per_minute
        self._cleaned_at: datetime | None = None
        self._passed_at: datetime | None = None
        self._warned_until: dict[str, datetime] = {}  # automation id -> end of its warning

    def run(self, now: datetime) -> bool:
        """One pass; True when it should run again at once (more events, or runs created)."""
        with self.db.connect() as conn:
            enabled = store.list_automations(conn, enabled_only=True)
        if not enabled:
            self._pass_events_by(now)
            self._clean_up(now)
            return False
        todo = AfterCommit()
        more = self._evaluate_events(now, todo, batch_size(len(enabled)))
        self._close_windows(enabled, now, todo)
        self._after_commit(todo)
        self._clean_up(now)
        return more or todo.runs_created > 0

    def _pass_events_by(self, now: datetime) -> None:
        """With no automation to run them through, events are only marked seen, in one
        statement now and then: an automation sees only the events from its creation on."""
        if self._passed_at and (now - self._passed_at).total_seconds() < PASS_BY_INTERVAL_S:
            return
        self._passed_at = now
        with self.db.begin() as conn:
            mark_all_evaluated(conn)

    # -- events ---------------------------------------------------------------------------
    def _evaluate_events(self, now: datetime, todo: AfterCommit, size: int) -> bool:
        try:
            with self.db.begin() as conn:
                batch = claim_unevaluated(conn, size)
                if batch is None:
                    raise TakenElsewhere()
                if batch:
                    self._through_triggers(conn, batch, now, todo)
        except TakenElsewhere:
            log.info("another scheduler evaluated these events; skipping them")
            return False
        return bool(batch) and len(batch) >= size

    def _through_triggers(self, conn: sa.Connection, batch: list[Event], now: datetime,
                          todo: AfterCommit) -> None:
        automations = store.list_automations(conn, enabled_only=True)
        buckets = store.read_buckets(conn, [a.id for a in automations])
        changed: set[tuple[str, str]] = set()
        fired: list[tuple[Automation, str, dict]] = []
        for event in batch:
            for automation in automations:
                if event.occurred < automation.updated:
                    continue  # it happened before the automation was created or resumed
                if _through_trigger(automation, event, buckets, changed):
                    fired.append((automation, f"{automation.id}:{event.id}",
                                  event.model_dump(mode="json")))
        for automation_id, key in changed:
            store.write_bucket(conn, automation_id, key, buckets[(automation_id, key)])
        for automation, firing_key, event in fired:
            self._fire(conn, automation, firing_key, event, now, todo)

    # -- proactive windows ----------------------------------------------------------------
    def _close_windows(self, enabled: list[Automation], now: datetime,
                       todo: AfterCommit) -> None:
        proactive = [a for a in enabled if a.trigger.posture is Posture.PROACTIVE]
        if not proactive:
            return
        with self.db.connect() as conn:
            buckets = store.read_buckets(conn, [a.id for a in proactive])
        due = [a for a in proactive if _needs_window(a, buckets)
               or any(b.end <= now for (aid, _), b in buckets.items() if aid == a.id)]
        if not due:
            return
        with self.db.begin() as conn:
            buckets = store.read_buckets(conn, [a.id for a in due])  # as of this transaction
            for automation in due:
                self._close_windows_of(conn, automation, buckets, now, todo)

    def _close_windows_of(self, conn: sa.Connection, automation: Automation,
                          buckets: dict[tuple[str, str], Bucket], now: datetime,
                          todo: AfterCommit) -> None:
        trigger = automation.trigger
        if _needs_window(automation, buckets):
            store.write_bucket(conn, automation.id, "", new_bucket(trigger, "", automation.updated))
            return
        for (automation_id, key), bucket in buckets.items():
            if automation_id != automation.id or bucket.end > now:
                continue
            outcome = expire(trigger, bucket, now)
            store.write_bucket(conn, automation.id, key, outcome.bucket)
            if outcome.fired:
                firing_key = f"{automation.id}:{key}:{bucket.end.isoformat()}"
                self._fire(conn, automation, firing_key, bucket.event, now, todo)

    # -- actions --------------------------------------------------------------------------
    def _fire(self, conn: sa.Connection, automation: Automation, firing_key: str,
              event: dict | None, now: datetime, todo: AfterCommit) -> None:
        if self._over_rate(conn, automation, now):
            return
        firing_id = store.record_firing(conn, automation.id, firing_key, now)
        if firing_id is None:
            return  # fired before: it acted then
        log.info("automation %r fired (%s)", automation.name, firing_key)
        outcome = []
        for position, action in enumerate(automation.actions):
            acting = Acting(conn, automation, event, f"{firing_key}:{position}", now, todo)
            try:
                with conn.begin_nested():
                    outcome.append({"action": action.type, **ACTIONS[type(action)](acting, action)})
            except (FlowpoolError, sa.exc.IntegrityError) as exc:  # the others still act
                reason = str(getattr(exc, "orig", exc))  # a database error without its SQL
                log.warning("automation %r: %s failed: %s", automation.name, action.type, reason)
                outcome.append({"action": action.type, "error": reason})
        store.set_firing_outcome(conn, firing_id, outcome)

    def _over_rate(self, conn: sa.Connection, automation: Automation, now: datetime) -> bool:
        """An automation that fired its limit within the last minute does not fire again
        until its rate drops. This bounds one whose actions make the events it triggers on (a
        run-deployment action on `flowpool.flow-run.*`): its loop ends at the limit, as the
        skipped firing acts on nothing."""
        if not store.fired_since(conn, automation.id, now - RATE_WINDOW,
                                 self.max_firings_per_minute):
            return False
        if self._warned_until.get(automation.id, now) <= now:
            self._warned_until[automation.id] = now + RATE_WINDOW
            log.warning("automation %r fired %d times within a minute: its firings are skipped"
                        " until the rate drops (FLOWPOOL_AUTOMATION_MAX_FIRINGS_PER_MINUTE); do"
                        " its actions cause the events it triggers on?", automation.name,
                        self.max_firings_per_minute)
        return True

    def _after_commit(self, todo: AfterCommit) -> None:
        for run_id in todo.cancels:
            try:
                request_cancel(self.redis, run_id)
            except Exception as exc:  # its worker sees CANCELLING on its next heartbeat
                log.warning("run %s: could not post the cancel request (%s)", run_id, exc)
        for webhook, body in todo.webhooks:
            _call(webhook, body)

    # -- retention ------------------------------------------------------------------------
    def _clean_up(self, now: datetime) -> None:
        if self._cleaned_at and (now - self._cleaned_at).total_seconds() < CLEANUP_INTERVAL_S:
            return
        self._cleaned_at = now
        with self.db.begin() as conn:
            deleted = delete_events_before(conn, now - timedelta(seconds=self.retention_s),
                                           CLEANUP_BATCH)
        if deleted:
            log.info("deleted %d event(s) older than the retention period", deleted)
            self._cleaned_at = None if deleted >= CLEANUP_BATCH else now


@dataclass
class Acting:
    """What an action acts with: the transaction, the automation and the event that fired it."""

    conn: sa.Connection
    automation: Automation
    event: dict | None
    action_key: str  # the firing's key and the action's place: a run it makes is keyed by it
    now: datetime
    todo: AfterCommit


def _run_deployment(acting: Acting, action: RunDeployment) -> dict:
    deployment = _deployment(acting.conn, action.deployment, acting.automation, acting.event)
    resolve = _resolver(acting.event)
    request = FlowRunCreate(parameters=render(action.parameters, resolve),
                            job_variables=render(action.job_variables, resolve),
                            tags=["automation"])
    run = runs_store.create_flow_run(
        acting.conn, deployment, read_work_pool(acting.conn, deployment.work_pool_name), request,
        acting.now, idempotency_key=f"automation:{acting.action_key}")
    acting.todo.runs_created += 1
    return {"flow_run": run.id}


def _pause_or_resume_deployment(acting: Acting, action: PauseDeployment | ResumeDeployment) -> dict:
    deployment = _deployment(acting.conn, action.deployment, acting.automation, acting.event)
    set_deployment_paused(acting.conn, deployment, isinstance(action, PauseDeployment),
                          acting.now)
    return {"deployment": deployment.id}


def _cancel_flow_run(acting: Acting, action: CancelFlowRun) -> dict:
    run = runs_store.cancel_flow_run(acting.conn, _related_id(acting.event, "flow-run"),
                                     acting.now)
    if run.state_type is StateType.CANCELLING:
        acting.todo.cancels.append(run.id)  # its worker is told once this commits
    return {"flow_run": run.id}


def _pause_work_pool(acting: Acting, action: PauseWorkPool) -> dict:
    pool = action.work_pool or _related_id(acting.event, "work-pool")
    update_work_pool(acting.conn, pool, WorkPoolUpdate(paused=True), acting.now)
    return {"work_pool": pool}


def _call_webhook_later(acting: Acting, action: CallWebhook) -> dict:
    acting.todo.webhooks.append((action, render(action.payload, _resolver(acting.event))))
    return {}


ACTIONS = {RunDeployment: _run_deployment, PauseDeployment: _pause_or_resume_deployment,
           ResumeDeployment: _pause_or_resume_deployment, CancelFlowRun: _cancel_flow_run,
           PauseWorkPool: _pause_work_pool, CallWebhook: _call_webhook_later}


Buckets = dict[tuple[str, str], Bucket | None]


def _through_trigger(automation: Automation, event: Event, buckets: Buckets,
                     changed: set[tuple[str, str]]) -> bool:
    """The event through the automation's trigger (each part of a compound or sequence);
    whether it fired. `buckets` and `changed` are updated in place."""
    trigger = automation.trigger
    if not trigger.is_composite:
        return _counted(automation.id, trigger, "", event, buckets, changed)
    fired = False
    for position, part in enumerate(trigger.triggers):
        if not _counted(automation.id, part, part_key(position, ""), event, buckets, changed):
            continue
        places = {p: (automation.id, mark_key(p)) for p in range(len(trigger.triggers))}
        marks = {p: buckets[where] for p, where in places.items() if buckets.get(where)}
        outcome = mark_part_fired(trigger, marks, position, event)
        for p, mark in outcome.changed.items():
            buckets[places[p]] = mark
            changed.add(places[p])
        fired = fired or outcome.fired
    return fired


def _counted(automation_id: str, trigger: EventTrigger, prefix: str, event: Event,
             buckets: Buckets, changed: set[tuple[str, str]]) -> bool:
    """The event through one event trigger, whose buckets' keys start with `prefix` (a part
    of a compound); whether it fired."""
    if not (is_expected(trigger, event) or is_after(trigger, event)) \
            or not resource_matches(trigger, event):
        return False
    where = (automation_id, prefix + bucket_key(trigger, event))
    outcome = step(trigger, buckets.get(where), event)
    buckets[where] = outcome.bucket
    changed.add(where)
    return outcome.fired


def _needs_window(automation: Automation, buckets: dict[tuple[str, str], Bucket]) -> bool:
    """A proactive trigger without `after` or `for_each` watches from the moment it is created
    or resumed: its first window is opened here."""
    trigger = automation.trigger
    return (trigger.posture is Posture.PROACTIVE and not trigger.after and not trigger.for_each
            and (automation.id, "") not in buckets)


def _deployment(conn: sa.Connection, ref: str | None, automation: Automation, event: dict | None):
    """The deployment an action names; else the one whose `triggers:` made the automation;
    else the one the event is about."""
    if ref:
        flow_name, _, name = ref.partition("/")
        return read_deployment(conn, flow_name, name)
    if automation.deployment_id:
        return read_deployment_by_id(conn, automation.deployment_id)
    return read_deployment_by_id(conn, _related_id(event, "deployment"))


def _related_id(event: dict | None, role: str) -> str:
    """The id of the `role` resource of the event (the resource itself, or a related one)."""
    prefix = f"flowpool.{role}."
    for labels in ([event["resource"]] + event["related"]) if event else []:
        if labels.get(RESOURCE_ID, "").startswith(prefix) and \
                labels.get(RESOURCE_ROLE, role) == role:
            return labels[RESOURCE_ID][len(prefix):]
    raise InvalidInput(f"the event that fired this automation is about no {role}; name the"
                       f" {role} in the action")


def _resolver(event: dict | None):
    def resolve(name: str) -> Any:
        path = name.split(".")
        if path[0] != "event" or event is None:
            return None
        if len(path) >= 3 and path[1] in ("resource",):
            return _label(event["resource"], ".".join(path[2:]))
        value: Any = event
        for part in path[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return resolve


def batch_size(automations: int) -> int:
    """How many events one transaction runs through `automations` enabled automations."""
    return max(1, min(EVENT_BATCH, EVALUATIONS_PER_BATCH // max(1, automations)))


def _label(labels: dict[str, str], name: str) -> str | None:
    short = {"id": RESOURCE_ID, "name": RESOURCE_NAME, "role": RESOURCE_ROLE}
    return labels.get(short.get(name, flowpool_name(name)))


def _call(webhook: CallWebhook, body: Any) -> None:
    try:
        response = httpx.post(webhook.url, json=body, timeout=webhook.timeout_s)
        if response.status_code >= 400:
            log.warning("webhook answered HTTP %d", response.status_code)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # a URL httpx cannot use
        log.warning("webhook call failed: %s", type(exc).__name__)
