"""problem_reports: what customers report as wrong with an order, with an optional private photo

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import connector.store.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problem_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(length=63), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column(
            "lines", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_type", sa.String(length=16), nullable=True),
        sa.Column("submission", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_problem_reports_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_problem_reports_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_reports")),
        sa.UniqueConstraint("submission", name=op.f("uq_problem_reports_submission")),
    )
    op.create_index("ix_problem_reports_order_id", "problem_reports", ["order_id"], unique=False)
    op.create_index(
        "ix_problem_reports_shop_id_submitted_at", "problem_reports", ["shop_id", "submitted_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_problem_reports_shop_id_submitted_at", table_name="problem_reports")
    op.drop_index("ix_problem_reports_order_id", table_name="problem_reports")
    op.drop_table("problem_reports")
