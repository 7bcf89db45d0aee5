"""promises: every date ordercare gave a customer, and how it ended

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promises",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(length=63), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("awaits", sa.String(length=16), nullable=False),
        sa.Column("made_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("ended", sa.String(length=16), nullable=False),
        sa.Column("ended_at", connector.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_promises_action_id_actions"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_promises_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_promises_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
        sa.UniqueConstraint("action_id", "kind", name=op.f("uq_promises_action_id_kind")),
    )
    op.create_index("ix_promises_order_id_ended", "promises", ["order_id", "ended"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_promises_order_id_ended", table_name="promises")
    op.drop_table("promises")
