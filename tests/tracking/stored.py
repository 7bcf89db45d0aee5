"""Orders in the database with what the tracking page reads: incidents told or not, promises, vouchers, fix links."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connector.model import Order
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, EmailLog, FixToken, IncidentRow, PromiseRow, VoucherRow
from tests.notify.support import store


def put(services: Services, order: Order) -> int:
    return store(services, order)


def incident(services: Services, order_id: int, kind: str, details: dict[str, Any], state: str = "open") -> int:
    now = services.now()
    with transaction(services.sessions) as session:
        row = IncidentRow(
            shop_id="fietsen", order_id=order_id, kind=kind, state=state, level=1, occurrence=1, opened_at=now,
            updated_at=now, details=details,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def action(
    services: Services, order_id: int, step: str, *, kind: str = "notify_customer", incident_id: int | None = None,
    state: str = "done",
) -> int:  # fmt: skip
    now = services.now()
    with transaction(services.sessions) as session:
        row = ActionRow(
            shop_id="fietsen", order_id=order_id, incident_id=incident_id, policy="test", kind=kind,
            idempotency_key=f"fietsen:{order_id}:test:{step}", payload={}, state=state, attempts=1, next_attempt_at=now,
            created_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def told(services: Services, order_id: int, incident_id: int, template: str = "delay_notice") -> None:
    """A message about the incident went to the customer."""
    action_id = action(services, order_id, f"{incident_id}-notify", incident_id=incident_id)
    with transaction(services.sessions) as session:
        session.add(
            EmailLog(
                shop_id="fietsen", order_id=order_id, action_id=action_id, template=template,
                recipient="sanne@example.nl", subject="Je pakket", message_id=f"<{action_id}@test>",
                sent_at=services.now(),
            )
        )  # fmt: skip


def promised(services: Services, order_id: int, day: date, kind: str = "delivery_by") -> None:
    with transaction(services.sessions) as session:
        session.add(
            PromiseRow(
                shop_id="fietsen", order_id=order_id, action_id=None, policy="shipment_delay",
                template="delay_notice", kind=kind, promised_on=day, awaits="delivered", made_at=services.now(),
                ended="open",
            )
        )  # fmt: skip


def voucher(services: Services, order_id: int, *, created: bool, expires_at: datetime) -> None:
    """An issued voucher whose creating action is done (``created``) or still pending."""
    action_id = action(services, order_id, "voucher", kind="create_voucher", state="done" if created else "pending")
    with transaction(services.sessions) as session:
        session.add(
            VoucherRow(
                shop_id="fietsen", order_id=order_id, action_id=action_id, customer_key="k", code="OC-7KQ2M9",
                kind="percentage", value=Decimal("10.00"), amount=Decimal("0.99"), currency="EUR", state="issued",
                created_at=services.now(), expires_at=expires_at,
            )
        )  # fmt: skip


def fix_token(services: Services, order_id: int, incident_id: int, *, used: bool = False) -> str:
    now = services.now()
    with transaction(services.sessions) as session:
        session.add(
            FixToken(
                id="tok-1", shop_id="fietsen", order_id=order_id, incident_id=incident_id, created_at=now,
                expires_at=now + timedelta(days=7), used_at=now if used else None,
            )
        )  # fmt: skip
    return "tok-1"
