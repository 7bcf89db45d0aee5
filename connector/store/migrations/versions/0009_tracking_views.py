"""tracking_views: how often each order's tracking page was opened, without anything about the visitor

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracking_views",
        sa.Column(
            "order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("shop_id", sa.String(length=63), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("first_viewed_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("last_viewed_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_tracking_views_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_tracking_views_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_tracking_views")),
    )
    op.create_index(
        "ix_tracking_views_shop_id_first_viewed_at", "tracking_views", ["shop_id", "first_viewed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tracking_views_shop_id_first_viewed_at", table_name="tracking_views")
    op.drop_table("tracking_views")
