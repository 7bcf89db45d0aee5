"""lookup_failures: failed tracking-page lookups per window, shared by every web process

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_failures",
        sa.Column("shop_id", sa.String(length=63), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("window_start", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "subject", "window_start", name=op.f("pk_lookup_failures")),
    )
    op.create_index("ix_lookup_failures_window_start", "lookup_failures", ["window_start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lookup_failures_window_start", table_name="lookup_failures")
    op.drop_table("lookup_failures")
