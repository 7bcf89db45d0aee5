"""Small builders for domain objects in tests (Dutch defaults)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connector.model import (
    Address,
    Customer,
    EventKind,
    Money,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Platform,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def address(**changes: Any) -> Address:
    base: dict[str, Any] = {
        "first_name": "Sanne",
        "last_name": "de Vries",
        "address1": "Hoofdstraat 12a",
        "postcode": "1234 AB",
        "city": "Amsterdam",
        "country_code": "NL",
        "street": "Hoofdstraat",
        "house_number": "12",
        "house_number_addition": "a",
    }
    base.update(changes)
    return Address(**base)


def order(
    external_id: str = "1001",
    *,
    shop_id: str = "fietsen",
    updated: datetime | None = None,
    status: OrderStatus = OrderStatus.PAID,
    **changes: Any,
) -> Order:
    base: dict[str, Any] = {
        "shop_id": shop_id,
        "platform": Platform.SHOPIFY,
        "external_id": external_id,
        "number": f"#{external_id}",
        "status": status,
        "platform_status": "paid/unfulfilled",
        "created_at": T0,
        "updated_at": updated or T0,
        "customer": Customer(external_id="77", first_name="Sanne", last_name="de Vries", email="sanne@example.nl"),
        "shipping_address": address(),
        "lines": (OrderLine("l1", "Fietsbel", 2, Money(Decimal("4.95"), "EUR")),),
        "total": Money(Decimal("9.90"), "EUR"),
        "shipping_method": "Morgen in huis",
        "paid_at": T0,
    }
    base.update(changes)
    return Order(**base)


def order_event(o: Order, key: str | None = None, topic: str = "orders/updated") -> OrderEvent:
    return OrderEvent(
        kind=EventKind.ORDER,
        topic=topic,
        dedupe_key=key or f"{o.external_id}:{o.updated_at.isoformat()}",
        occurred_at=o.updated_at,
        order_external_id=o.external_id,
        order=o,
    )


def shipment(external_id: str = "s1", updated: datetime | None = None, **changes: Any) -> Shipment:
    base: dict[str, Any] = {
        "external_id": external_id,
        "status": ShipmentStatus.IN_TRANSIT,
        "carrier": "PostNL",
        "tracking_number": "3SABCD1234567",
        "shipped_at": T0 + timedelta(hours=5),
        "updated_at": updated or T0 + timedelta(hours=5),
    }
    base.update(changes)
    return Shipment(**base)


def scan(external_id: str, at: datetime, status: ShipmentStatus = ShipmentStatus.IN_TRANSIT) -> ShipmentEvent:
    return ShipmentEvent(external_id=external_id, status=status, happened_at=at)
