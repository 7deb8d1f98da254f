"""the schema of flowpool 0.1.0: create it, or complete a database an earlier flowpool made

Revision ID: 0001
Revises:
"""
from alembic import op

from orchestrator.store.migrations import baseline_schema
from orchestrator.store.schema_completion import complete_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent on purpose: a database of 0.1 or older has some or all of these tables, and
    # no revision recorded; what it lacks is added, what it has is kept.
    complete_schema(op.get_bind(), baseline_schema.metadata)


def downgrade() -> None:
    baseline_schema.metadata.drop_all(op.get_bind())
