"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import connector.store.tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('shop_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_users')),
    sa.UniqueConstraint('username', name=op.f('uq_admin_users_username'))
    )
    op.create_table('leases',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('until', connector.store.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('shops',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('installed_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.Column('uninstalled_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.Column('last_reconciled_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.Column('reconcile_cursor', connector.store.tables.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shops')),
    sa.UniqueConstraint('platform', 'key', name=op.f('uq_shops_platform_key'))
    )
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('platform_status', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('customer_email', sa.String(length=320), nullable=True),
    sa.Column('customer_external_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('platform_updated_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('ingested_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('next_check_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_orders_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('shop_id', 'external_id', name=op.f('uq_orders_shop_id_external_id'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_next_check_at', ['next_check_at'], unique=False)
        batch_op.create_index('ix_orders_shop_id_customer_email', ['shop_id', 'customer_email'], unique=False)

    op.create_table('pending_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_external_id', sa.String(length=64), nullable=False),
    sa.Column('event', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('received_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_pending_events_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_events'))
    )
    with op.batch_alter_table('pending_events', schema=None) as batch_op:
        batch_op.create_index('ix_pending_events_shop_id_order_external_id', ['shop_id', 'order_external_id'], unique=False)

    op.create_table('raw_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=True),
    sa.Column('order_external_id', sa.String(length=64), nullable=True),
    sa.Column('received_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('body_bytes', sa.Integer(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_raw_events_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_events'))
    )
    with op.batch_alter_table('raw_events', schema=None) as batch_op:
        batch_op.create_index('ix_raw_events_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_raw_events_shop_id_order_external_id', ['shop_id', 'order_external_id'], unique=False)

    op.create_table('webhook_receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('received_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_webhook_receipts_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_receipts')),
    sa.UniqueConstraint('shop_id', 'dedupe_key', name=op.f('uq_webhook_receipts_shop_id_dedupe_key'))
    )
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_receipts_received_at', ['received_at'], unique=False)

    op.create_table('customer_contacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('noted_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_customer_contacts_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_customer_contacts_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_contacts'))
    )
    with op.batch_alter_table('customer_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_customer_contacts_shop_id_noted_at', ['shop_id', 'noted_at'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('opened_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_incidents_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_incidents_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('order_id', 'kind', name=op.f('uq_incidents_order_id_kind'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_shop_id_state', ['shop_id', 'state'], unique=False)

    op.create_table('actions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('policy', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('after_key', sa.String(length=255), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', connector.store.tables.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('done_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_actions_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_actions_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_actions_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_actions_idempotency_key'))
    )
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.create_index('ix_actions_order_id', ['order_id'], unique=False)
        batch_op.create_index('ix_actions_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)

    op.create_table('fix_tokens',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('expires_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('used_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_fix_tokens_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_fix_tokens_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_fix_tokens_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fix_tokens'))
    )
    op.create_table('action_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=True),
    sa.Column('started_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('finished_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_action_attempts_action_id_actions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_attempts'))
    )
    with op.batch_alter_table('action_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_action_attempts_action_id', ['action_id'], unique=False)

    op.create_table('call_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('due_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('assigned_to', sa.String(length=255), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('created_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('done_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_call_tasks_action_id_actions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_call_tasks_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_call_tasks_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_call_tasks_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_tasks')),
    sa.UniqueConstraint('action_id', name=op.f('uq_call_tasks_action_id'))
    )
    with op.batch_alter_table('call_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_call_tasks_shop_id_state', ['shop_id', 'state'], unique=False)

    op.create_table('email_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('sent_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_email_log_action_id_actions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_email_log_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_email_log_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_log')),
    sa.UniqueConstraint('action_id', name=op.f('uq_email_log_action_id'))
    )
    with op.batch_alter_table('email_log', schema=None) as batch_op:
        batch_op.create_index('ix_email_log_shop_id_sent_at', ['shop_id', 'sent_at'], unique=False)

    op.create_table('vouchers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=63), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('customer_key', sa.String(length=128), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', connector.store.tables.UTCDateTime(), nullable=False),
    sa.Column('expires_at', connector.store.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_vouchers_action_id_actions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_vouchers_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_vouchers_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_vouchers_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers')),
    sa.UniqueConstraint('shop_id', 'code', name=op.f('uq_vouchers_shop_id_code'))
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index('ix_vouchers_shop_id_created_at', ['shop_id', 'created_at'], unique=False)
        batch_op.create_index('ix_vouchers_shop_id_customer_key', ['shop_id', 'customer_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index('ix_vouchers_shop_id_customer_key')
        batch_op.drop_index('ix_vouchers_shop_id_created_at')

    op.drop_table('vouchers')
    with op.batch_alter_table('email_log', schema=None) as batch_op:
        batch_op.drop_index('ix_email_log_shop_id_sent_at')

    op.drop_table('email_log')
    with op.batch_alter_table('call_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_call_tasks_shop_id_state')

    op.drop_table('call_tasks')
    with op.batch_alter_table('action_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_action_attempts_action_id')

    op.drop_table('action_attempts')
    op.drop_table('fix_tokens')
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_index('ix_actions_state_next_attempt_at')
        batch_op.drop_index('ix_actions_order_id')

    op.drop_table('actions')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_shop_id_state')

    op.drop_table('incidents')
    with op.batch_alter_table('customer_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_contacts_shop_id_noted_at')

    op.drop_table('customer_contacts')
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_receipts_received_at')

    op.drop_table('webhook_receipts')
    with op.batch_alter_table('raw_events', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_events_shop_id_order_external_id')
        batch_op.drop_index('ix_raw_events_received_at')

    op.drop_table('raw_events')
    with op.batch_alter_table('pending_events', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_events_shop_id_order_external_id')

    op.drop_table('pending_events')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_shop_id_customer_email')
        batch_op.drop_index('ix_orders_next_check_at')

    op.drop_table('orders')
    op.drop_table('shops')
    op.drop_table('leases')
    op.drop_table('admin_users')
