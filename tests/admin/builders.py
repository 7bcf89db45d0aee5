"""Rows for dashboard tests, inserted directly: shops from the test settings, orders with snapshots,
incidents, actions with attempts, vouchers, call tasks, e-mails, contacts and raw events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connector.admin.users import Account, add_user
from connector.codec import dump_order
from connector.config import Settings
from connector.model import (
    Address,
    Money,
    OrderStatus,
    Platform,
    Shipment,
    ShipmentStatus,
)
from connector.services import Services
from connector.store.tables import (
    ActionAttempt,
    ActionRow,
    CallTaskRow,
    CustomerContact,
    EmailLog,
    IncidentRow,
    OrderRow,
    RawEvent,
    VoucherRow,
)
from tests import builders

FAST_KDF = "scrypt:1024:8:1"  # still scrypt; cheap enough for many sign-ins in tests
PASSWORD = "correct horse battery"
PLATFORMS = {"fietsen": Platform.SHOPIFY, "theewinkel": Platform.WOOCOMMERCE}


class Clock:
    """A settable clock for Services: tests move it to expire sessions."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def build_services(settings: Settings, engine: Engine, clock: Callable[[], datetime]) -> Services:
    return Services.build(settings, engine=engine, clock=clock)


def account(session: Session, username: str, shop_ids: Sequence[str], now: datetime) -> Account:
    return add_user(session, username, PASSWORD, shop_ids, now, method=FAST_KDF)


def order(
    session: Session,
    shop_id: str,
    external_id: str,
    created_at: datetime,
    *,
    status: OrderStatus = OrderStatus.PAID,
    carrier: str | None = None,
    method: str | None = "Standaard",
    country: str | None = "NL",
    products: Sequence[str] = ("Bel",),
    email: str = "jan@example.nl",
    delivered_at: datetime | None = None,
) -> OrderRow:
    shipments: tuple[Shipment, ...] = ()
    if carrier is not None:
        shipments = (
            Shipment(
                external_id=f"s{external_id}",
                carrier=carrier,
                status=ShipmentStatus.DELIVERED if delivered_at else ShipmentStatus.IN_TRANSIT,
                tracking_number=f"3S{external_id}",
                shipped_at=created_at,
                delivered_at=delivered_at,
            ),
        )
    snapshot = builders.order(
        external_id,
        at=created_at,
        shop_id=shop_id,
        status=status,
        platform=PLATFORMS[shop_id],
        platform_status=str(status),
        paid_at=None,
        customer=builders.customer(external_id=None, first_name="Jan", last_name="Jansen", email=email),
        shipping_address=Address(
            first_name="Jan", address1="Dorpsstraat 1", postcode="1234 AB", city="Utrecht", country_code=country
        )
        if country
        else None,
        lines=tuple(
            builders.line(title, 1, "10.00", external_id=f"{external_id}-{i}") for i, title in enumerate(products)
        ),
        total=Money(Decimal("10.00") * len(products), "EUR"),
        shipping_method=method,
        shipments=shipments,
    )
    row = OrderRow(
        shop_id=shop_id,
        external_id=external_id,
        number=snapshot.number,
        status=str(status),
        platform_status=snapshot.platform_status,
        channel="web",
        customer_email=email,
        created_at=created_at,
        platform_updated_at=created_at,
        ingested_at=created_at,
        data=dump_order(snapshot),
    )
    session.add(row)
    session.flush()
    return row


def incident(
    session: Session,
    order_row: OrderRow,
    kind: str,
    opened_at: datetime,
    *,
    state: str = "open",
    level: int = 0,
    details: dict[str, Any] | None = None,
    resolved_at: datetime | None = None,
    resolution: str | None = None,
) -> IncidentRow:
    row = IncidentRow(
        shop_id=order_row.shop_id,
        order_id=order_row.id,
        kind=kind,
        state=state,
        level=level,
        opened_at=opened_at,
        updated_at=resolved_at or opened_at,
        resolved_at=resolved_at,
        resolution=resolution,
        details=details or {},
    )
    session.add(row)
    session.flush()
    return row


def action(
    session: Session,
    order_row: OrderRow,
    kind: str,
    created_at: datetime,
    *,
    state: str = "done",
    step: str = "1",
    incident_row: IncidentRow | None = None,
    last_error: str | None = None,
    attempts: Sequence[tuple[str, str | None]] = (),
) -> ActionRow:
    row = ActionRow(
        shop_id=order_row.shop_id,
        order_id=order_row.id,
        incident_id=incident_row.id if incident_row else None,
        policy=incident_row.kind if incident_row else "manual",
        kind=kind,
        idempotency_key=f"{order_row.shop_id}:{order_row.external_id}:{kind}:{step}",
        payload={},
        state=state,
        attempts=len(attempts),
        next_attempt_at=created_at,
        last_error=last_error,
        created_at=created_at,
        done_at=created_at if state in ("done", "failed") else None,
    )
    session.add(row)
    session.flush()
    for number, (outcome, error) in enumerate(attempts, start=1):
        session.add(
            ActionAttempt(
                action_id=row.id,
                attempt=number,
                worker="w1",
                started_at=created_at,
                finished_at=created_at,
                outcome=outcome,
                error=error,
            )
        )
    session.flush()
    return row


def voucher(
    session: Session,
    order_row: OrderRow,
    created_at: datetime,
    amount: str,
    *,
    state: str = "issued",
    code: str | None = None,
    incident_row: IncidentRow | None = None,
    reason: str | None = None,
) -> VoucherRow:
    row = VoucherRow(
        shop_id=order_row.shop_id,
        order_id=order_row.id,
        incident_id=incident_row.id if incident_row else None,
        customer_key="c-" + order_row.external_id,
        code=code or f"SORRY-{order_row.external_id}-{created_at:%H%M%S}",
        kind="fixed",
        value=Decimal(amount),
        amount=Decimal(amount),
        currency="EUR",
        state=state,
        reason=reason,
        created_at=created_at,
    )
    session.add(row)
    session.flush()
    return row


def call_task(
    session: Session,
    order_row: OrderRow,
    due_at: datetime,
    *,
    reason: str = "Pakket ligt al 3 dagen stil",
    incident_row: IncidentRow | None = None,
    state: str = "open",
) -> CallTaskRow:
    row = CallTaskRow(
        shop_id=order_row.shop_id,
        order_id=order_row.id,
        incident_id=incident_row.id if incident_row else None,
        reason=reason,
        due_at=due_at,
        state=state,
        created_at=due_at,
    )
    session.add(row)
    session.flush()
    return row


def email(
    session: Session,
    order_row: OrderRow,
    sent_at: datetime,
    *,
    template: str = "delay_1",
    action_row: ActionRow | None = None,
) -> EmailLog:
    row = EmailLog(
        shop_id=order_row.shop_id,
        order_id=order_row.id,
        action_id=action_row.id if action_row else None,
        template=template,
        recipient=order_row.customer_email or "x@example.nl",
        subject=f"Over je bestelling {order_row.number}",
        message_id=f"<{order_row.external_id}.{sent_at.timestamp()}@ordercare>",
        sent_at=sent_at,
    )
    session.add(row)
    session.flush()
    return row


def contact(
    session: Session, order_row: OrderRow, noted_at: datetime, kind: str = "where_is_my_order"
) -> CustomerContact:
    row = CustomerContact(shop_id=order_row.shop_id, order_id=order_row.id, kind=kind, noted_at=noted_at, source="test")
    session.add(row)
    session.flush()
    return row


def raw_event(
    session: Session, order_row: OrderRow, topic: str, received_at: datetime, outcome: str = "applied"
) -> RawEvent:
    row = RawEvent(
        shop_id=order_row.shop_id,
        platform=str(PLATFORMS[order_row.shop_id]),
        topic=topic,
        dedupe_key=f"{topic}:{received_at.isoformat()}",
        order_external_id=order_row.external_id,
        received_at=received_at,
        outcome=outcome,
        body=None,
        body_bytes=0,
    )
    session.add(row)
    session.flush()
    return row
