"""SQLAlchemy 2 tables: shops, orders, receipts, raw events, incidents, the outbox and what it made.

Datetimes are stored as UTC and read back aware (``UTCDateTime``). Documents (order snapshots, action
payloads) are JSON (JSONB on PostgreSQL). The migration in ``migrations/versions`` creates exactly this
schema; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive values are refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER keys


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A model's Core table, typed as one (for bulk statements that skip the ORM)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class ShopRow(Base):
    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(255))  # myshopify domain or normalised site URL
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | paused | uninstalled
    source: Mapped[str] = mapped_column(String(20), default="config")  # config | installed
    credentials: Mapped[str | None] = mapped_column(Text)  # sealed with SecretBox
    # sealed with SecretBox: secrets of the webhooks ordercare created in place of broken ones (by webhook id)
    # and the webhooks it re-enabled (``connector.shops.WebhookKeyStore``)
    webhook_keys: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    locale: Mapped[str] = mapped_column(String(8), default="nl")
    country: Mapped[str] = mapped_column(String(2), default="NL")
    settings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconcile_cursor: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "external_id"),
        Index("ix_orders_next_check_at", "next_check_at"),
        Index("ix_orders_shop_id_customer_email", "shop_id", "customer_email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    platform_status: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_external_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    platform_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(Json)  # the Order snapshot (connector.codec)


class WebhookReceipt(Base):
    """One row per applied delivery: the unique key makes a repeat delivery a no-op."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (
        UniqueConstraint("shop_id", "dedupe_key"),
        Index("ix_webhook_receipts_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RawEvent(Base):
    """The raw body of each delivery (size-capped) with what ingest made of it, for audit and replay."""

    __tablename__ = "raw_events"
    __table_args__ = (
        Index("ix_raw_events_shop_id_order_external_id", "shop_id", "order_external_id"),
        Index("ix_raw_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    order_external_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # applied | stale | duplicate | ignored | pending
    body: Mapped[str | None] = mapped_column(Text)
    body_bytes: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)


class PendingEvent(Base):
    """A shipment/hold event that arrived before its order; applied when the order arrives."""

    __tablename__ = "pending_events"
    __table_args__ = (Index("ix_pending_events_shop_id_order_external_id", "shop_id", "order_external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_external_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]] = mapped_column(Json)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("order_id", "kind"),
        Index("ix_incidents_shop_id_state", "shop_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # open | escalated | resolved
    level: Mapped[int] = mapped_column(Integer, default=0)
    occurrence: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class ActionRow(Base):
    """The outbox: one planned action, its idempotency key, its attempts and its lease."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_actions_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_actions_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    policy: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    after_key: Mapped[str | None] = mapped_column(String(255))  # runs only once this action is done
    # True: also runs after the ``after_key`` action failed (otherwise that failure cancels this one)
    after_even_if_failed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ActionAttempt(Base):
    __tablename__ = "action_attempts"
    __table_args__ = (Index("ix_action_attempts_action_id", "action_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # done | already_done | retry | failed | sending
    error: Mapped[str | None] = mapped_column(Text)


class VoucherRow(Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("shop_id", "code"),
        Index("ix_vouchers_shop_id_created_at", "shop_id", "created_at"),
        Index("ix_vouchers_shop_id_customer_key", "shop_id", "customer_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))
    customer_key: Mapped[str] = mapped_column(String(128))  # hash of the customer's e-mail / id
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # percentage | fixed
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # money value counted against the budget
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16))  # issued | refused
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallTaskRow(Base):
    __tablename__ = "call_tasks"
    __table_args__ = (Index("ix_call_tasks_shop_id_state", "shop_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    assigned_to: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what came of each call, oldest first: the outcome, who recorded it and when, the task as it was before
    # (for an undo) and what the outcome planned or promised (``connector.admin.calls``)
    outcomes: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the newest outcome that can be undone


class EmailLog(Base):
    """Each e-mail sent, by the action that sent it (Message-ID derives from its idempotency key)."""

    __tablename__ = "email_log"
    __table_args__ = (Index("ix_email_log_shop_id_sent_at", "shop_id", "sent_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"), unique=True)
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SentMessage(Base):
    """What a logged message said, as the customer got it (``connector.notify.sent``): customer data, erased
    with the customer and pruned after ``sent_message_retention_days``; its ``email_log`` row stays."""

    __tablename__ = "sent_messages"
    __table_args__ = (Index("ix_sent_messages_sent_at", "sent_at"),)

    email_log_id: Mapped[int] = mapped_column(
        ForeignKey("email_log.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # email | platform_note
    locale: Mapped[str] = mapped_column(String(16))  # the language the customer got it in
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)  # None: the channel carries text only
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FixToken(Base):
    """Address-fix links: a signed token names this row; ``used_at`` makes it work once."""

    __tablename__ = "fix_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StockLink(Base):
    """Out-of-stock choice links (``connector.stock.links``): a signed token names this row; ``used_at`` makes it
    work once and ``choice`` keeps what the customer chose."""

    __tablename__ = "stock_links"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    choice: Mapped[dict[str, Any] | None] = mapped_column(Json)


class Lease(Base):
    """Named leases so that several workers share periodic jobs (reconcile per shop, ticks)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class AdminUser(Base):
    """A dashboard account (``connector.admin.users``). Ids are never reused (AUTOINCREMENT on SQLite), so a
    session of a removed account can never pass for a later one."""

    __tablename__ = "admin_users"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    shop_ids: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    role: Mapped[str] = mapped_column(String(16), default="staff")  # owner | staff
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set: the account cannot sign in
    # a session carries the value it signed in with; raising it (disable, password change) ends older sessions
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "password": signs in with name and password; "shopify": opened from the Shopify admin (embedded app), no
    # password, bound to one shop (``connector.admin.users.shopify_account``)
    source: Mapped[str] = mapped_column(String(16), default="password", server_default="password")


class CustomerContact(Base):
    """A customer contact staff recorded on an order ("where is my order?", "complaint", ...)."""

    __tablename__ = "customer_contacts"
    __table_args__ = (Index("ix_customer_contacts_shop_id_noted_at", "shop_id", "noted_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    noted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(String(32))


class Unsubscribe(Base):
    """A customer who unsubscribed from a shop's marketing e-mail (one-click link, RFC 8058)."""

    __tablename__ = "unsubscribes"
    __table_args__ = (UniqueConstraint("shop_id", "customer_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_key: Mapped[str] = mapped_column(String(64))  # hash of shop + normalised e-mail, no address kept
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))  # the mail's order
    source: Mapped[str] = mapped_column(String(16))  # one_click (mail client, RFC 8058) | page (the button)
    unsubscribed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PromiseRow(Base):
    """A date ordercare gave a customer (``connector.promises``): met, followed up, missed or still open."""

    __tablename__ = "promises"
    __table_args__ = (
        UniqueConstraint("action_id", "kind"),
        Index("ix_promises_order_id_ended", "order_id", "ended"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))  # the message
    policy: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # delivery_by | hear_from_us_by
    promised_on: Mapped[date] = mapped_column(Date)  # shop-local day
    awaits: Mapped[str] = mapped_column(String(16))  # shipped | delivered
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended: Mapped[str] = mapped_column(String(16), default="open")  # open | met | followed_up | missed | cancelled
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CarrierEventRow(Base):
    """One carrier event as a tracking source reported it (``connector.carriers``): the unique key drops a repeat;
    ``order_external_id`` is the order it was merged into, or NULL while it waits (until ``expires_at``) for an
    order that names its parcel."""

    __tablename__ = "carrier_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "source", "dedupe_key"),
        Index("ix_carrier_events_shop_id_tracking_number", "shop_id", "tracking_number"),
        Index("ix_carrier_events_shop_id_source_parcel_id", "shop_id", "source", "parcel_id"),
        Index("ix_carrier_events_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # sendcloud | myparcel | dhl | postnl
    dedupe_key: Mapped[str] = mapped_column(String(255))
    tracking_number: Mapped[str | None] = mapped_column(String(64))  # normalised
    parcel_id: Mapped[str | None] = mapped_column(String(64))  # the source's own id
    order_number: Mapped[str | None] = mapped_column(String(64))
    order_external_id: Mapped[str | None] = mapped_column(String(64))  # NULL: not matched yet
    shipment_id: Mapped[str | None] = mapped_column(String(128))
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # an unmatched event is dropped after it
    needs_details: Mapped[bool] = mapped_column(Boolean, default=False)  # a read should fill in the details
    event: Mapped[dict[str, Any]] = mapped_column(Json)  # the CarrierEvent (connector.codec)


class TrackingView(Base):
    """How often an order's tracking page was opened (``connector.tracking``): a count, nothing about visitors."""

    __tablename__ = "tracking_views"
    __table_args__ = (Index("ix_tracking_views_shop_id_first_viewed_at", "shop_id", "first_viewed_at"),)

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    views: Mapped[int] = mapped_column(Integer, default=0)
    first_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LookupFailure(Base):
    """Failed tracking-page lookups in one fixed window, per shop (``subject`` "") and per order number (a digest
    of it), shared by every web process (``connector.tracking.lookup``): counts only, nothing about the visitor."""

    __tablename__ = "lookup_failures"
    __table_args__ = (Index("ix_lookup_failures_window_start", "window_start"),)

    shop_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    subject: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class AdminLoginAttempt(Base):
    """Sign-in attempts per username, shared by every web process: failures within the throttle's window, and
    the latest success. The username is kept as a hash (people sometimes type their password in that field)."""

    __tablename__ = "admin_login_attempts"
    __table_args__ = (
        Index("ix_admin_login_attempts_username_key_attempted_at", "username_key", "attempted_at"),
        Index("ix_admin_login_attempts_attempted_at", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username_key: Mapped[str] = mapped_column(String(64))  # sha256 of the lower-cased username
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    success: Mapped[bool] = mapped_column(Boolean)


class ProblemReport(Base):
    """A customer's report that something is wrong with an order (``connector.reports``): the cause, the items,
    an optional text and photo (kept here only, never served publicly; erased with the customer's data)."""

    __tablename__ = "problem_reports"
    __table_args__ = (
        UniqueConstraint("submission"),
        Index("ix_problem_reports_order_id", "order_id"),
        Index("ix_problem_reports_shop_id_submitted_at", "shop_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    cause: Mapped[str] = mapped_column(String(16))  # wrong_item | damaged | item_missing | not_received | other
    channel: Mapped[str] = mapped_column(String(16))  # email | tracking | lookup: how the customer came
    language: Mapped[str] = mapped_column(String(8))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)  # the items it is about
    text: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(16))  # image/jpeg | image/png | image/webp
    submission: Mapped[str] = mapped_column(String(64))  # one per form shown: the same form twice is refused
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
