"""unsubscribes: customers who unsubscribed from a shop's marketing e-mail (one-click, RFC 8058)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unsubscribes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(length=63), nullable=False),
        sa.Column("customer_key", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("unsubscribed_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_unsubscribes_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_unsubscribes_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsubscribes")),
        sa.UniqueConstraint("shop_id", "customer_key", name=op.f("uq_unsubscribes_shop_id_customer_key")),
    )


def downgrade() -> None:
    op.drop_table("unsubscribes")
