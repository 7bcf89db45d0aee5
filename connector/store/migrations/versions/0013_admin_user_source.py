"""admin_users.source: "password" (name and password) or "shopify" (opened from the Shopify admin, no password)

Existing accounts sign in with their password, so they all become "password".

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_users") as batch:
        batch.add_column(sa.Column("source", sa.String(length=16), server_default="password", nullable=False))


def downgrade() -> None:
    # SQLite rebuilds the table to drop a column: keep AUTOINCREMENT, so ids are still never reused
    with op.batch_alter_table("admin_users", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("source")
