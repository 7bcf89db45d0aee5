"""The customer's whole story: who an order's customer is, all their orders in the viewer's shops, one timeline.

A customer is every order in the viewer's shops with the same e-mail (stored lower-cased), or with the same
platform customer id in the same shop (platform ids are per shop). Their page's address never shows the
e-mail: its key is ``<order id>-<HMAC-SHA256 of the customer's identity, keyed with the app secret>``. The
server reads that order (only within the viewer's shops), recomputes the HMAC from its customer and compares
in constant time; a changed secret or a changed e-mail on the order makes old keys stop working (404).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from connector.admin.queries import OrderEntry, order_in_scope, orders_timeline, snapshot_of
from connector.store.tables import OrderRow

KEY = re.compile(r"^(?P<order>[1-9][0-9]{0,18})-(?P<digest>[0-9a-f]{32})$")
MAX_ORDERS = 200


@dataclass(frozen=True)
class CustomerOrder:
    id: int
    shop_id: str
    number: str
    status: str
    channel: str
    created_at: datetime


@dataclass(frozen=True)
class CustomerView:
    key: str
    name: str
    emails: tuple[str, ...]  # every address their orders carry, the newest first
    phone: str | None
    orders: list[CustomerOrder]
    timeline: list[OrderEntry]


def _identity(order: OrderRow) -> str | None:
    email = (order.customer_email or "").strip().lower()
    if email:
        return "email:" + email
    if order.customer_external_id:
        return f"id:{order.shop_id}:{order.customer_external_id}"
    return None


def _digest(secret: str, identity: str) -> str:
    mac = hmac.new(secret.encode(), b"ordercare-admin-customer\x00" + identity.encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def customer_key(secret: str, order: OrderRow) -> str | None:
    """The key of the customer page for this order's customer; None when the order names no customer."""
    identity = _identity(order)
    return f"{order.id}-{_digest(secret, identity)}" if identity else None


def _anchor(session: Session, shop_ids: Collection[str], secret: str, key: str) -> OrderRow | None:
    found = KEY.match(key)
    if found is None:
        return None
    order = order_in_scope(session, shop_ids, int(found["order"]))
    if order is None:
        return None
    identity = _identity(order)
    if identity is None or not hmac.compare_digest(_digest(secret, identity), found["digest"]):
        return None
    return order


def _same_customer(order: OrderRow) -> ColumnElement[bool]:
    email = (order.customer_email or "").strip().lower()
    same: list[ColumnElement[bool]] = []
    if email:
        same.append(OrderRow.customer_email == email)
    if order.customer_external_id:
        same.append(
            and_(OrderRow.shop_id == order.shop_id, OrderRow.customer_external_id == order.customer_external_id)
        )
    return or_(*same)


def customer_view(session: Session, shop_ids: Collection[str], secret: str, key: str) -> CustomerView | None:
    """The customer named by ``key``: their orders (newest first) and the timeline of all of them; None when the
    key is not valid for an order of the viewer's shops."""
    anchor = _anchor(session, shop_ids, secret, key)
    if anchor is None:
        return None
    rows = list(
        session.scalars(
            select(OrderRow)
            .where(OrderRow.shop_id.in_(list(shop_ids)), _same_customer(anchor))
            .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
            .limit(MAX_ORDERS)
        )
    )
    snapshot = snapshot_of(rows[0] if rows else anchor)
    customer = snapshot.customer if snapshot is not None else None
    return CustomerView(
        key=key,
        name=customer.display_name if customer else (anchor.customer_email or ""),
        emails=tuple(dict.fromkeys(r.customer_email for r in rows if r.customer_email)),
        phone=(customer.phone or None) if customer else None,
        orders=[CustomerOrder(r.id, r.shop_id, r.number, r.status, r.channel, r.created_at) for r in rows],
        timeline=orders_timeline(session, rows),
    )
