"""blocks: typed configuration documents, their secret fields sealed

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from orchestrator.store.tables import JSONValue, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("data", JSONValue, nullable=False),
        sa.Column("secret_data", sa.Text),
        sa.Column("secret_fields", JSONValue, nullable=False),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
        sa.UniqueConstraint("type", "name", name="uq_block_name"),
    )


def downgrade() -> None:
    op.drop_table("blocks")
