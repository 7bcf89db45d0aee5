"""carrier_events: what parcel tracking sources reported, matched to orders or waiting for one

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import connector.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "carrier_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("parcel_id", sa.String(length=64), nullable=True),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        sa.Column("order_external_id", sa.String(length=64), nullable=True),
        sa.Column("shipment_id", sa.String(length=128), nullable=True),
        sa.Column("happened_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("received_at", connector.store.tables.UTCDateTime(), nullable=False),
        sa.Column("expires_at", connector.store.tables.UTCDateTime(), nullable=True),
        sa.Column("needs_details", sa.Boolean(), nullable=False),
        sa.Column("event", json_type, nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_carrier_events_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_events")),
        sa.UniqueConstraint(
            "shop_id", "source", "dedupe_key", name=op.f("uq_carrier_events_shop_id_source_dedupe_key")
        ),
    )
    op.create_index("ix_carrier_events_expires_at", "carrier_events", ["expires_at"], unique=False)
    op.create_index(
        "ix_carrier_events_shop_id_source_parcel_id", "carrier_events", ["shop_id", "source", "parcel_id"], unique=False
    )
    op.create_index(
        "ix_carrier_events_shop_id_tracking_number", "carrier_events", ["shop_id", "tracking_number"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_carrier_events_shop_id_tracking_number", table_name="carrier_events")
    op.drop_index("ix_carrier_events_shop_id_source_parcel_id", table_name="carrier_events")
    op.drop_index("ix_carrier_events_expires_at", table_name="carrier_events")
    op.drop_table("carrier_events")
