"""The database schema: SQLAlchemy Core tables, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


class JSONValue(TypeDecorator):
    """Any JSON value, read back exactly as written: 3.0 stays a float, 2**70 an int, and the
    keys of an object keep their order.

    On SQLite the JSON text goes in a TEXT column: a column declared JSON has NUMERIC affinity
    there, which stores the text `3.0` as the integer 3 and `2**70` as a float. On PostgreSQL
    it is the `json` type, which keeps the text as given (`jsonb` would reorder the keys).
    Nothing queries inside these values, so neither needs more than text.
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.JSON())

    def process_bind_param(self, value: Any, dialect) -> Any:
        if dialect.name != "sqlite":
            return value  # sa.JSON writes it
        return json.dumps(value, allow_nan=False)  # None is JSON null, as sa.JSON stores it

    def process_result_value(self, value: Any, dialect) -> Any:
        if dialect.name != "sqlite" or value is None:
            return value
        # A number here is a row an older flowpool wrote that the migration left as it was.
        return json.loads(value) if isinstance(value, str) else value


class UTCDateTime(TypeDecorator):
    """Timestamps stored as naive UTC, returned timezone-aware (SQLite has no time zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


work_pools = sa.Table(
    "work_pools", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("base_job_template", JSONValue, nullable=False),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
)

work_queues = sa.Table(
    "work_queues", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("work_pool_name", sa.String(100), sa.ForeignKey("work_pools.name", ondelete="CASCADE"),
              nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, default=1),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("description", sa.Text),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.UniqueConstraint("work_pool_name", "name", name="uq_work_queue_name"),
)

deployments = sa.Table(
    "deployments", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("flow_name", sa.String(100), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("entrypoint", sa.Text, nullable=False),
    sa.Column("path", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("version", sa.String(100)),
    sa.Column("tags", JSONValue, nullable=False),
    sa.Column("parameters", JSONValue, nullable=False),
    sa.Column("parameter_schema", JSONValue, nullable=False),
    sa.Column("enforce_parameter_schema", sa.Boolean, nullable=False, default=True),
    sa.Column("work_pool_name", sa.String(100), nullable=False),
    sa.Column("work_queue_name", sa.String(100), nullable=False),
    sa.Column("job_variables", JSONValue, nullable=False),
    sa.Column("pull_steps", JSONValue),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("collision_strategy", sa.String(16), nullable=False, default="ENQUEUE"),
    sa.Column("retries", sa.Integer, nullable=False, default=0),
    sa.Column("retry_delay_seconds", JSONValue, nullable=False, default=0),
    sa.Column("timeout_seconds", sa.Float),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.UniqueConstraint("flow_name", "name", name="uq_deployment_name"),
)

deployment_schedules = sa.Table(
    "deployment_schedules", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("deployment_id", sa.String(36), sa.ForeignKey("deployments.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),  # the order the user gave them in
    sa.Column("slug", sa.String(100)),
    sa.Column("schedule", JSONValue, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("parameters", JSONValue, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("error", sa.Text),  # why the scheduler skips it; written by the scheduler only
    sa.UniqueConstraint("deployment_id", "slug", name="uq_deployment_schedule_slug"),
)

flow_runs = sa.Table(
    "flow_runs", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("flow_name", sa.String(100), nullable=False),
    sa.Column("deployment_id", sa.String(36), sa.ForeignKey("deployments.id", ondelete="SET NULL")),
    sa.Column("deployment_name", sa.String(100)),
    sa.Column("work_pool_name", sa.String(100), nullable=False),
    sa.Column("work_queue_name", sa.String(100), nullable=False),
    sa.Column("parameters", JSONValue, nullable=False),
    sa.Column("job_variables", JSONValue, nullable=False),
    sa.Column("tags", JSONValue, nullable=False),
    sa.Column("state_type", sa.String(16), nullable=False),
    sa.Column("state_name", sa.String(50), nullable=False),
    sa.Column("state_message", sa.Text),
    sa.Column("state_changed", UTCDateTime, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),
    sa.Column("retries", sa.Integer, nullable=False, default=0),
    sa.Column("retry_delay_seconds", JSONValue, nullable=False, default=0),
    sa.Column("timeout_seconds", sa.Float),
    sa.Column("dispatch_token", sa.String(36)),
    sa.Column("scheduled_time", UTCDateTime, nullable=False),
    sa.Column("start_time", UTCDateTime),
    sa.Column("end_time", UTCDateTime),
    sa.Column("worker_name", sa.String(200)),
    sa.Column("result", JSONValue),
    sa.Column("result_is_repr", sa.Boolean, nullable=False, default=False),
    sa.Column("idempotency_key", sa.String(300), unique=True),
    sa.Column("schedule_id", sa.String(36),
              sa.ForeignKey("deployment_schedules.id", ondelete="SET NULL")),
    sa.Column("auto_scheduled", sa.Boolean, nullable=False, default=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    # The run's log budget: bytes of lines stored, then what was dropped once it was spent.
    # Updated in the transaction that inserts the lines, under the run's row lock.
    sa.Column("log_bytes", sa.BigInteger, nullable=False, default=0),
    sa.Column("log_lines_dropped", sa.BigInteger, nullable=False, default=0),
    sa.Column("log_bytes_dropped", sa.BigInteger, nullable=False, default=0),
    # A child (sub)flow run, reported by the process of its root run: the run (and the task
    # run, if any) it was called from, and the root of its tree (NULL for a root run). Child
    # runs are never dispatched, counted against limits or reaped: their root's are.
    sa.Column("parent_flow_run_id", sa.String(36)),
    sa.Column("parent_task_run_id", sa.String(36)),
    sa.Column("root_flow_run_id", sa.String(36)),
)
# The dispatcher reads only waiting and slot-holding runs; these keep history off its path.
sa.Index("ix_flow_runs_state_scheduled", flow_runs.c.state_type, flow_runs.c.scheduled_time)
sa.Index("ix_flow_runs_pool_state", flow_runs.c.work_pool_name, flow_runs.c.state_type)
sa.Index("ix_flow_runs_deployment_state", flow_runs.c.deployment_id, flow_runs.c.state_type)
sa.Index("ix_flow_runs_created", flow_runs.c.created)
# The dashboard counts a day's runs by hour and state from this index alone (store/overview).
sa.Index("ix_flow_runs_created_state", flow_runs.c.created, flow_runs.c.state_type)
# A schedule's future runs: counted by the materializer, deleted when the schedule changes.
sa.Index("ix_flow_runs_schedule_state", flow_runs.c.schedule_id, flow_runs.c.state_type,
         flow_runs.c.scheduled_time)
# A run's children (listings) and a root's whole tree (its reports, its end).
sa.Index("ix_flow_runs_parent", flow_runs.c.parent_flow_run_id)
sa.Index("ix_flow_runs_root_state", flow_runs.c.root_flow_run_id, flow_runs.c.state_type)

# A counter that outgrows 2^31 over a server's life: 64-bit on PostgreSQL (SQLite's INTEGER
# primary key is 64-bit already, and must stay INTEGER to count by itself).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

flow_run_states = sa.Table(
    "flow_run_states", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("flow_run_id", sa.String(36), sa.ForeignKey("flow_runs.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),
    sa.Column("timestamp", UTCDateTime, nullable=False),
)

variables = sa.Table(
    "variables", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("value", JSONValue),  # any JSON value; null is stored as JSON null
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
)

logs = sa.Table(
    "logs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow_run_id", sa.String(36), sa.ForeignKey("flow_runs.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
)
sa.Index("ix_logs_run_id", logs.c.flow_run_id, logs.c.id)

# Task runs, reported in batches by the process of their root flow run. A snapshot replaces
# the stored one only when it is as new or newer: (attempt, state_count), where state_count is
# the length of the run's state history, which only grows.
task_runs = sa.Table(
    "task_runs", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("flow_run_id", sa.String(36), sa.ForeignKey("flow_runs.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("root_flow_run_id", sa.String(36), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("task_key", sa.String(500), nullable=False),
    sa.Column("tags", JSONValue, nullable=False),
    sa.Column("state_type", sa.String(16), nullable=False),
    sa.Column("state_name", sa.String(50), nullable=False),
    sa.Column("state_message", sa.Text),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),
    sa.Column("state_count", sa.Integer, nullable=False, default=0),
    sa.Column("start_time", UTCDateTime),
    sa.Column("end_time", UTCDateTime),
    sa.Column("cache_key", sa.String(500)),
    sa.Column("cache_hit", sa.Boolean, nullable=False, default=False),
    sa.Column("result", sa.Text),  # a short summary of the value, never the value
    sa.Column("error", sa.Text),  # the traceback of the last failed attempt
    sa.Column("history", JSONValue, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),  # its first state's time
    sa.Column("updated", UTCDateTime, nullable=False),
)
sa.Index("ix_task_runs_flow_run", task_runs.c.flow_run_id, task_runs.c.created, task_runs.c.id)
sa.Index("ix_task_runs_root_state", task_runs.c.root_flow_run_id, task_runs.c.state_type)

artifacts = sa.Table(
    "artifacts", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("key", sa.String(200)),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("data", JSONValue),
    sa.Column("description", sa.Text),
    sa.Column("flow_run_id", sa.String(36), sa.ForeignKey("flow_runs.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("root_flow_run_id", sa.String(36), nullable=False),
    sa.Column("task_run_id", sa.String(36)),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
)
sa.Index("ix_artifacts_flow_run", artifacts.c.flow_run_id, artifacts.c.created, artifacts.c.id)
sa.Index("ix_artifacts_key", artifacts.c.key, artifacts.c.created, artifacts.c.id)

# Task results cached across runs, by cache key (JSON values only).
task_cache = sa.Table(
    "task_cache", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", JSONValue),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
)

# Global concurrency limits. The slots themselves live in Redis (orchestrator/slots.py) as
# leases that expire unless renewed; a limit's row says how many there are.
concurrency_limits = sa.Table(
    "concurrency_limits", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("limit", sa.Integer, nullable=False),
    sa.Column("slot_decay_per_second", sa.Float, nullable=False, default=0.0),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
)

# Blocks: typed configuration documents. `data` holds the plain fields; `secret_data` the
# secret ones, as one token encrypted by the API (orchestrator/encryption.py): the store never
# sees a secret in the clear.
blocks = sa.Table(
    "blocks", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("data", JSONValue, nullable=False),
    sa.Column("secret_data", sa.Text),
    sa.Column("secret_fields", JSONValue, nullable=False),  # names of the fields sealed
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.UniqueConstraint("type", "name", name="uq_block_name"),
)
# Events: what happened, in the order stored (`seq`). Emitted in the transaction of the change
# they record, so an event exists exactly when its change committed. `evaluated` is false
# until the scheduler leader has run the event through the automations, in the transaction
# that also records what they did (store/automations.py), so each event counts once.
events = sa.Table(
    "events", metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("event", sa.String(200), nullable=False),
    sa.Column("occurred", UTCDateTime, nullable=False),
    sa.Column("resource_id", sa.String(1000), nullable=False),
    sa.Column("resource", JSONValue, nullable=False),
    sa.Column("related", JSONValue, nullable=False),
    sa.Column("payload", JSONValue, nullable=False),
    sa.Column("evaluated", sa.Boolean, nullable=False, default=False),
)
sa.Index("ix_events_occurred", events.c.occurred)
sa.Index("ix_events_unevaluated", events.c.seq, sqlite_where=events.c.evaluated.is_(False),
         postgresql_where=events.c.evaluated.is_(False))

automations = sa.Table(
    "automations", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("trigger", JSONValue, nullable=False),
    sa.Column("actions", JSONValue, nullable=False),
    # made from this deployment's `triggers:`; replaced when it is deployed again
    sa.Column("deployment_id", sa.String(36), sa.ForeignKey("deployments.id", ondelete="CASCADE"),
              index=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
)

# A trigger's open window per `for_each` key (orchestrator/triggers.py).
automation_buckets = sa.Table(
    "automation_buckets", metadata,
    sa.Column("automation_id", sa.String(36), sa.ForeignKey("automations.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("key", sa.String(1000), primary_key=True),
    sa.Column("start", UTCDateTime, nullable=False),
    sa.Column("end", UTCDateTime, nullable=False),
    sa.Column("count", sa.Integer, nullable=False, default=0),
    sa.Column("event", JSONValue),
)

# Each firing once: its key (the automation and the event, or the window, that fired it) is
# unique, so a firing evaluated twice acts once.
automation_firings = sa.Table(
    "automation_firings", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("automation_id", sa.String(36), sa.ForeignKey("automations.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("firing_key", sa.String(300), nullable=False, unique=True),
    sa.Column("fired", UTCDateTime, nullable=False),
    sa.Column("outcome", JSONValue, nullable=False),  # what each action did, or why it failed
)
sa.Index("ix_automation_firings_automation", automation_firings.c.automation_id,
         automation_firings.c.id)
