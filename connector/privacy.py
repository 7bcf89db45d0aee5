"""Shop-level events: uninstall, and the privacy requests (erase a customer, export a customer, erase a shop).

``ingest`` dispatches these kinds to ``HANDLERS`` inside the delivery's transaction. A customer is
matched by platform customer id, e-mail and the order ids the request lists. Erasing replaces personal
data in every table that can hold it (order snapshots, raw events, pending events, e-mail log, action
payloads and results, incidents, call tasks, fix links) and deletes what sent messages said (``sent_messages``).
A data request stores a JSON export as a ``raw_events`` row with topic ``export/customers_data_request``
(operators read it with ``exports(session, shop_id)``); raw-event retention prunes it like any raw event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from connector import codec
from connector.actions import PROPOSED
from connector.model import Address, Customer, CustomerRef, EventKind, OrderEvent
from connector.notify import sent
from connector.reports import store as report_store
from connector.shops import Shop
from connector.store.tables import (
    ActionAttempt,
    ActionRow,
    Base,
    CallTaskRow,
    EmailLog,
    FixToken,
    IncidentRow,
    OrderRow,
    PendingEvent,
    RawEvent,
    SentMessage,
    ShopRow,
)

log = logging.getLogger(__name__)

EXPORT_TOPIC = "export/customers_data_request"
REDACTED = "[redacted]"
# keys whose values are personal wherever they appear in a JSON document we keep
_PERSONAL_KEYS = frozenset(
    {
        "email", "recipient", "to", "phone", "first_name", "last_name", "name", "customer_name", "address",
        "address1", "address2", "street", "house_number", "house_number_addition", "postcode", "zip",
        "shipping_address", "billing_address", "customer", "customer_external_id", "note",
    }
)  # fmt: skip


# --- uninstall ---------------------------------------------------------------------------------------


def _uninstalled(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> None:
    """The token is revoked by the platform: drop it; the shop is no longer active, so its jobs pause."""
    row = session.get(ShopRow, shop.id)
    if row is None:
        return
    row.status = "uninstalled"
    row.uninstalled_at = now
    if row.source != "config":
        row.credentials = None


# --- matching a customer -----------------------------------------------------------------------------


def _matching_orders(session: Session, shop_id: str, ref: CustomerRef) -> list[OrderRow]:
    conditions = []
    if ref.external_id:
        conditions.append(OrderRow.customer_external_id == ref.external_id)
    if ref.email:
        conditions.append(OrderRow.customer_email == ref.email.lower())
    if ref.order_ids:
        conditions.append(OrderRow.external_id.in_(list(ref.order_ids)))
    if not conditions:
        return []
    query = select(OrderRow).where(OrderRow.shop_id == shop_id, or_(*conditions)).order_by(OrderRow.id)
    return list(session.scalars(query))


def _personal_strings(ref: CustomerRef, orders: Iterable[OrderRow]) -> set[str]:
    """Every personal value we know for this customer, to scrub free text with."""
    values = {ref.email, ref.phone}
    for row in orders:
        order = codec.load_order(row.data)
        customer = order.customer
        values |= {customer.email, customer.phone, customer.first_name, customer.last_name}
        if customer.first_name and customer.last_name:
            values.add(f"{customer.first_name} {customer.last_name}")
        address = order.shipping_address
        if address is not None:
            values |= {address.first_name, address.last_name, address.address1, address.address2, address.street,
                       address.phone, address.postcode, address.company}  # fmt: skip
        values.add(order.note)
    return {v for v in values if v and len(v.strip()) >= 3}


def _scrub_text(text: str | None, personal: set[str]) -> str | None:
    if text is None:
        return None
    for value in sorted(personal, key=len, reverse=True):
        text = text.replace(value, REDACTED)
        if "@" in value:
            text = text.replace(value.lower(), REDACTED)
    return text


def _scrub(value: Any, personal: set[str]) -> Any:
    """A JSON document with personal keys emptied and personal strings replaced."""
    if isinstance(value, dict):
        return {k: (None if k in _PERSONAL_KEYS and v is not None else _scrub(v, personal)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, personal) for v in value]
    if isinstance(value, str):
        return _scrub_text(value, personal)
    return value


# --- erase a customer --------------------------------------------------------------------------------


def _redact_order(row: OrderRow) -> None:
    order = codec.load_order(row.data)
    address = order.shipping_address
    kept = Address(country_code=address.country_code, city=None) if address is not None else None
    redacted = order.with_changes(
        customer=Customer(locale=order.customer.locale),
        shipping_address=kept,
        note=None,
        extra={"redacted": True},
    )
    row.data = codec.dump_order(redacted)
    row.customer_email = None
    row.customer_external_id = None
    row.next_check_at = None  # nothing left to act on


def _customer_redact(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> None:
    ref = event.customer or CustomerRef()
    orders = _matching_orders(session, shop.id, ref)
    personal = _personal_strings(ref, orders)
    order_ids = [row.id for row in orders]
    # orders not stored yet (their events wait in pending_events) are matched by the listed ids
    external_ids = sorted({row.external_id for row in orders} | set(ref.order_ids))
    for row in orders:
        _redact_order(row)
    # earlier data exports of this customer go too
    for export in session.scalars(select(RawEvent).where(RawEvent.shop_id == shop.id, RawEvent.topic == EXPORT_TOPIC)):
        if export.body and any(value in export.body for value in personal):
            session.delete(export)
    session.flush()
    raw_match: list[ColumnElement[bool]] = [RawEvent.order_external_id.in_(external_ids)] if external_ids else []
    raw_match += [RawEvent.body.contains(value) for value in personal if "@" in value]
    if raw_match:
        session.execute(
            update(RawEvent)
            .where(RawEvent.shop_id == shop.id, or_(*raw_match))
            .values(body=None, outcome="redacted", body_bytes=0)
            .execution_options(synchronize_session=False)
        )
    if external_ids:
        pending = PendingEvent.order_external_id.in_(external_ids)
        session.execute(delete(PendingEvent).where(PendingEvent.shop_id == shop.id, pending))
    log_match: list[ColumnElement[bool]] = [EmailLog.order_id.in_(order_ids)] if order_ids else []
    if ref.email:
        log_match.append(EmailLog.recipient == ref.email)
    if log_match:
        logged = session.scalars(select(EmailLog.id).where(EmailLog.shop_id == shop.id, or_(*log_match))).all()
        sent.erase(session, logged)  # what the messages said: subject, text and HTML
        session.execute(
            update(EmailLog)
            .where(EmailLog.shop_id == shop.id, or_(*log_match))
            .values(recipient=REDACTED, subject=REDACTED)
            .execution_options(synchronize_session=False)
        )
    if order_ids:
        session.execute(delete(FixToken).where(FixToken.order_id.in_(order_ids)))
        report_store.erase(session, order_ids)  # the customer's reports: their words and photos
        for action in session.scalars(select(ActionRow).where(ActionRow.order_id.in_(order_ids))):
            action.payload = _scrub(action.payload, personal)
            action.result = _scrub(action.result, personal) if action.result is not None else None
            action.last_error = _scrub_text(action.last_error, personal)
            for attempt in session.scalars(select(ActionAttempt).where(ActionAttempt.action_id == action.id)):
                attempt.error = _scrub_text(attempt.error, personal)
            if action.state in ("pending", PROPOSED):  # a replacement staff did not confirm goes too
                action.state = "cancelled"
                action.last_error = "customer data erased on request"
        for incident in session.scalars(select(IncidentRow).where(IncidentRow.order_id.in_(order_ids))):
            incident.details = _scrub(incident.details, personal)
            incident.resolution = _scrub_text(incident.resolution, personal)
        for task in session.scalars(select(CallTaskRow).where(CallTaskRow.order_id.in_(order_ids))):
            task.reason = _scrub_text(task.reason, personal) or REDACTED
            task.outcome = _scrub_text(task.outcome, personal)
            task.outcomes = _scrub(task.outcomes, personal)


# --- export a customer -------------------------------------------------------------------------------


def customer_export(session: Session, shop: Shop, ref: CustomerRef) -> dict[str, Any]:
    """What we hold on one customer of one shop, as JSON."""
    orders = _matching_orders(session, shop.id, ref)
    order_ids = [row.id for row in orders]
    emails = (
        session.scalars(select(EmailLog).where(EmailLog.order_id.in_(order_ids)).order_by(EmailLog.id)).all()
        if order_ids
        else []
    )
    incidents = (
        session.scalars(select(IncidentRow).where(IncidentRow.order_id.in_(order_ids)).order_by(IncidentRow.id)).all()
        if order_ids
        else []
    )
    bodies = select(SentMessage).where(SentMessage.email_log_id.in_([e.id for e in emails]))
    said = {row.email_log_id: row.text_body for row in session.scalars(bodies)} if emails else {}
    return {
        "shop": shop.id,
        "customer": {"id": ref.external_id, "email": ref.email, "phone": ref.phone},
        "request_id": ref.request_id,
        "orders": [row.data for row in orders],
        "emails": [
            {
                "template": e.template,
                "recipient": e.recipient,
                "subject": e.subject,
                "sent_at": e.sent_at.isoformat(),
                "text": said.get(e.id),  # what the message said, while it is kept
            }
            for e in emails
        ],
        "incidents": [
            {"kind": i.kind, "state": i.state, "opened_at": i.opened_at.isoformat(), "resolution": i.resolution}
            for i in incidents
        ],
        "reports": [
            {"cause": r.cause, "submitted_at": r.submitted_at.isoformat(), "text": r.text, "photo": r.photo_type}
            for order_id in order_ids
            for r in report_store.for_staff(session, [shop.id], order_id)
        ],
    }


def _data_request(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> None:
    ref = event.customer or CustomerRef()
    export = customer_export(session, shop, ref)
    export["exported_at"] = now.isoformat()
    body = json.dumps(export, sort_keys=True, ensure_ascii=False)
    session.add(
        RawEvent(
            shop_id=shop.id,
            platform=shop.platform.value,
            topic=EXPORT_TOPIC,
            dedupe_key=f"export:{ref.request_id or event.dedupe_key}"[:255],
            order_external_id=None,
            received_at=now,
            outcome="export",
            body=body,
            body_bytes=len(body.encode()),
            truncated=False,
        )
    )


def exports(session: Session, shop_id: str) -> list[dict[str, Any]]:
    """The stored data-request exports of a shop, oldest first."""
    query = (
        select(RawEvent)
        .where(RawEvent.shop_id == shop_id, RawEvent.topic == EXPORT_TOPIC)
        .order_by(RawEvent.received_at, RawEvent.id)
    )
    return [json.loads(row.body) for row in session.scalars(query) if row.body]


# --- erase a shop ------------------------------------------------------------------------------------


def _shop_redact(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> None:
    """Delete the shop and every row that belongs to it (children first, so no foreign key is left dangling).

    Shopify sends ``shop/redact`` 48 hours after an uninstall (shopify.dev/changelog/apps-now-need-to-use-gdpr-
    webhooks); a shop that was installed again since is live, so it is kept (and the request logged)."""
    row = session.get(ShopRow, shop.id)
    if row is None:
        return
    if row.status != "uninstalled":
        log.warning(
            "shop/redact for %s not carried out: the shop is %s again (installed %s), not uninstalled",
            shop.id,
            row.status,
            row.installed_at.isoformat() if row.installed_at else "before",
            extra={"shop": shop.id},
        )
        return
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != ShopRow.__tablename__ and "shop_id" in table.c:
            session.execute(delete(table).where(table.c.shop_id == shop.id))
    session.execute(delete(ShopRow).where(ShopRow.id == shop.id))


Handler = Callable[[Session, Shop, OrderEvent, datetime], None]

HANDLERS: dict[EventKind, Handler] = {
    EventKind.APP_UNINSTALLED: _uninstalled,
    EventKind.CUSTOMER_REDACT: _customer_redact,
    EventKind.CUSTOMER_DATA_REQUEST: _data_request,
    EventKind.SHOP_REDACT: _shop_redact,
}
