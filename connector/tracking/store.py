"""What the tracking page reads and writes: the order a link names, the facts the page may show, the view count.

An incident is shown only once the customer got a message about it (an e-mail or customer note logged for
one of its actions), a voucher only once the shop created it, a fix link only while it works. Views are
counted per order (``tracking_views``), with nothing about the visitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from connector import codec, incidents
from connector.incidents import IncidentView
from connector.notify.render import Voucher
from connector.promises import store as promise_store
from connector.promises.rules import PromiseView
from connector.store.tables import ActionRow, EmailLog, FixToken, OrderRow, TrackingView, VoucherRow
from connector.tracking.lookup import StoredOrder


@dataclass(frozen=True)
class Facts:
    """Everything the page may say about an order besides the order itself."""

    incidents: tuple[IncidentView, ...]  # the ones the customer was told about
    vouchers: tuple[Voucher, ...]
    promises: tuple[PromiseView, ...]
    fix_token_id: str | None  # a working fix link for the open address incident


def stored_order(session: Session, shop_id: str, external_id: str) -> StoredOrder | None:
    row = session.scalars(
        select(OrderRow).where(
            OrderRow.shop_id == shop_id, OrderRow.external_id == external_id, OrderRow.deleted.is_(False)
        )
    ).first()
    return StoredOrder(row.id, codec.load_order(row.data)) if row is not None else None


def _told(session: Session, order_id: int) -> set[int]:
    """The incidents of the order a message went out for."""
    query = (
        select(ActionRow.incident_id)
        .join(EmailLog, EmailLog.action_id == ActionRow.id)
        .where(EmailLog.order_id == order_id, ActionRow.incident_id.is_not(None))
        .distinct()
    )
    return {incident_id for incident_id in session.scalars(query) if incident_id is not None}


def _vouchers(session: Session, order_id: int, now: datetime, tz: tzinfo) -> tuple[Voucher, ...]:
    query = (
        select(VoucherRow)
        .join(ActionRow, ActionRow.id == VoucherRow.action_id)
        .where(
            VoucherRow.order_id == order_id,
            VoucherRow.state == "issued",
            ActionRow.state == "done",
            (VoucherRow.expires_at.is_(None)) | (VoucherRow.expires_at > now),
        )
        .order_by(VoucherRow.created_at, VoucherRow.id)
    )
    return tuple(
        Voucher(
            code=row.code,
            kind=row.kind,
            value=Decimal(row.value).normalize() if row.kind == "percentage" else Decimal(row.value),
            currency=row.currency,
            ends_on=row.expires_at.astimezone(tz).date() if row.expires_at is not None else None,
        )
        for row in session.scalars(query)
    )


def _fix_token(session: Session, incident_id: int, now: datetime) -> str | None:
    query = (
        select(FixToken.id)
        .where(FixToken.incident_id == incident_id, FixToken.used_at.is_(None), FixToken.expires_at > now)
        .order_by(FixToken.expires_at.desc())
    )
    return session.scalars(query).first()


def facts(session: Session, order_id: int, now: datetime, tz: tzinfo) -> Facts:
    found = incidents.load_for_orders(session, [order_id]).get(order_id, {})
    told = _told(session, order_id)
    shown = tuple(i for i in found.values() if i.id in told)
    address = next((i for i in shown if i.kind == "address" and i.active and i.id is not None), None)
    return Facts(
        incidents=shown,
        vouchers=_vouchers(session, order_id, now, tz),
        promises=promise_store.open_for_orders(session, [order_id]).get(order_id, ()),
        fix_token_id=_fix_token(session, address.id, now) if address is not None and address.id else None,
    )


def count_view(session: Session, shop_id: str, order_id: int, now: datetime) -> None:
    """One more view of the order's page."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(TrackingView).values(
        order_id=order_id, shop_id=shop_id, views=1, first_viewed_at=now, last_viewed_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["order_id"],
            set_={"views": TrackingView.views + 1, "last_viewed_at": now},
        )
    )


def views(session: Session, order_id: int) -> int:
    return session.scalar(select(TrackingView.views).where(TrackingView.order_id == order_id)) or 0
