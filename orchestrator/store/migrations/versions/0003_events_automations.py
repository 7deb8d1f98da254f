"""events and automations: what happened, the triggers that watch it, their windows and firings

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from orchestrator.store.tables import JSONValue, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    create_events()
    create_automations()


def create_events() -> None:
    op.create_table(
        "events",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("event", sa.String(200), nullable=False),
        sa.Column("occurred", UTCDateTime, nullable=False),
        sa.Column("resource_id", sa.String(1000), nullable=False),
        sa.Column("resource", JSONValue, nullable=False),
        sa.Column("related", JSONValue, nullable=False),
        sa.Column("payload", JSONValue, nullable=False),
        sa.Column("evaluated", sa.Boolean, nullable=False),
    )
    op.create_index("ix_events_occurred", "events", ["occurred"])
    unevaluated = sa.text("evaluated = false")
    op.create_index("ix_events_unevaluated", "events", ["seq"], sqlite_where=unevaluated,
                    postgresql_where=unevaluated)


def create_automations() -> None:
    op.create_table(
        "automations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("trigger", JSONValue, nullable=False),
        sa.Column("actions", JSONValue, nullable=False),
        sa.Column("deployment_id", sa.String(36),
                  sa.ForeignKey("deployments.id", ondelete="CASCADE")),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
    )
    op.create_index("ix_automations_deployment_id", "automations", ["deployment_id"])
    op.create_table(
        "automation_buckets",
        sa.Column("automation_id", sa.String(36),
                  sa.ForeignKey("automations.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(1000), primary_key=True),
        sa.Column("start", UTCDateTime, nullable=False),
        sa.Column("end", UTCDateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("event", JSONValue),
    )
    op.create_table(
        "automation_firings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("automation_id", sa.String(36),
                  sa.ForeignKey("automations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("firing_key", sa.String(300), nullable=False, unique=True),
        sa.Column("fired", UTCDateTime, nullable=False),
        sa.Column("outcome", JSONValue, nullable=False),
    )
    op.create_index("ix_automation_firings_automation", "automation_firings",
                    ["automation_id", "id"])


def downgrade() -> None:
    for table in ("automation_firings", "automation_buckets", "automations", "events"):
        op.drop_table(table)
