"""call_tasks.outcomes and outcome_at: what came of each call, and the newest outcome that can still be undone

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import connector.store.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("call_tasks") as batch:
        batch.add_column(sa.Column("outcomes", json_type, nullable=True))
        batch.add_column(sa.Column("outcome_at", connector.store.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_tasks") as batch:
        batch.drop_column("outcome_at")
        batch.drop_column("outcomes")
