"""sent_messages: what each logged customer message said (subject, text, HTML, language), kept for a while

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import connector.store.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sent_messages",
        sa.Column(
            "email_log_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("shop_id", sa.String(length=63), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("sent_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["email_log_id"], ["email_log.id"], name=op.f("fk_sent_messages_email_log_id_email_log"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_sent_messages_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("email_log_id", name=op.f("pk_sent_messages")),
    )
    op.create_index("ix_sent_messages_sent_at", "sent_messages", ["sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sent_messages_sent_at", table_name="sent_messages")
    op.drop_table("sent_messages")
