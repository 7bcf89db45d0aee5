"""One small world for page tests: a Shopify shop (fietsen) and a WooCommerce shop (theewinkel), each
with an incident, a call task, a failed action, e-mails, vouchers and contacts. Shop B's rows carry
markers (``B-ONLY``) that must never show up for shop A's admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from connector.model import OrderStatus
from connector.store.tables import ActionRow, CallTaskRow, IncidentRow, OrderRow

from . import builders as b


@dataclass
class World:
    order_a: OrderRow
    incident_a: IncidentRow
    resolved_a: IncidentRow
    task_a: CallTaskRow
    failed_a: ActionRow
    done_a: ActionRow
    order_b: OrderRow
    incident_b: IncidentRow
    task_b: CallTaskRow
    failed_b: ActionRow


def build(session: Session, now: datetime) -> World:
    b.account(session, "anna", ["fietsen"], now)
    b.account(session, "bert", ["theewinkel"], now)
    b.account(session, "owner", ["fietsen", "theewinkel"], now)
    day = now - timedelta(days=3)
    order_a = b.order(
        session, "fietsen", "5501", day, status=OrderStatus.SHIPPED, carrier="PostNL", method="Morgen in huis",
        products=("Fietsbel", "Slot"),
    )  # fmt: skip
    incident_a = b.incident(session, order_a, "shipment_delay", day + timedelta(days=1), state="escalated", level=2)
    other_a = b.order(session, "fietsen", "5502", day, carrier="DHL", method="Standaard", country="BE")
    resolved_a = b.incident(
        session, other_a, "address", day, state="resolved", resolved_at=day + timedelta(hours=5),
        resolution="address corrected by customer", details={"problems": ["missing_street"]},
    )  # fmt: skip
    b.raw_event(session, order_a, "orders/create", day)
    b.raw_event(session, order_a, "fulfillments/create", day + timedelta(hours=20))
    b.raw_event(session, order_a, "orders/updated", day + timedelta(hours=21), outcome="stale")
    notify = b.action(
        session, order_a, "notify_customer", day + timedelta(days=1), incident_row=incident_a, step="late-1",
        attempts=[("done", None)],
    )  # fmt: skip
    b.email(session, order_a, day + timedelta(days=1, minutes=1), action_row=notify)
    done_a = b.action(session, order_a, "add_tags", day + timedelta(days=1), incident_row=incident_a, step="tag")
    failed_a = b.action(
        session, order_a, "create_voucher", day + timedelta(days=2), incident_row=incident_a, state="failed",
        step="voucher", last_error="Code has already been taken (discountCodeBasicCreate userErrors)",
        attempts=[("retry", "THROTTLED"), ("failed", "Code has already been taken")],
    )  # fmt: skip
    b.voucher(session, order_a, now - timedelta(hours=1), "12.50", incident_row=incident_a, code="SORRY-5501")
    task_a = b.call_task(session, order_a, now - timedelta(hours=2), incident_row=incident_a)
    b.call_task(session, order_a, now + timedelta(days=2), reason="later: not due today")

    order_b = b.order(session, "theewinkel", "7707", day, carrier="DPD", method="B-ONLY-METHOD", email="b@example.nl")
    incident_b = b.incident(session, order_b, "stale", day, details={"status": "on-hold"})
    task_b = b.call_task(session, order_b, now - timedelta(hours=1), reason="B-ONLY call", incident_row=incident_b)
    failed_b = b.action(
        session, order_b, "add_note", day, incident_row=incident_b, state="failed", last_error="B-ONLY woo error"
    )
    b.voucher(session, order_b, now - timedelta(hours=1), "99.00", code="B-ONLY-CODE")
    b.contact(session, order_b, now - timedelta(hours=1))
    session.commit()
    return World(order_a, incident_a, resolved_a, task_a, failed_a, done_a, order_b, incident_b, task_b, failed_b)
