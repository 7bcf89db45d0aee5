"""One set of test builders: a Dutch web-shop order with every default stated here, and named variants.

``order()`` is a paid, unshipped Shopify order of shop ``fietsen`` placed and paid at ``at`` (default
``T0``), with a complete address ("Hoofdstraat 12a, 1234 AB Amsterdam"), one line of two bells at
€ 4.95, total € 9.90, shipping "Morgen in huis". Anything a test depends on it passes explicitly; the
variants below name the cases the tests pin (paid later, a merchant's hold, the same platform timestamp,
a pickup order, an unpaid bank transfer, an address without a house number).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connector.model import (
    Address,
    Customer,
    DeliveryMethod,
    EventKind,
    Hold,
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

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Amsterdam


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def address(**changes: Any) -> Address:
    """Sanne de Vries, Hoofdstraat 12a, 1234 AB Amsterdam, NL (street, number and addition split)."""
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


def address_without_house_number(**changes: Any) -> Address:
    """The address a customer typed without the house number: "Hoofdstraat", 1234 AB Amsterdam."""
    return replace(address(address1="Hoofdstraat", house_number=None, house_number_addition=None), **changes)


def customer(**changes: Any) -> Customer:
    """Sanne de Vries, sanne@example.nl, customer 77 (locale and marketing consent unknown unless given)."""
    base: dict[str, Any] = {"external_id": "77", "first_name": "Sanne", "last_name": "de Vries"}
    base["email"] = "sanne@example.nl"
    base.update(changes)
    return Customer(**base)


def line(title: str = "Fietsbel", quantity: int = 2, price: str = "4.95", external_id: str = "l1") -> OrderLine:
    return OrderLine(external_id, title, quantity, eur(price))


def order(
    external_id: str = "1001",
    *,
    at: datetime = T0,
    shop_id: str = "fietsen",
    status: OrderStatus = OrderStatus.PAID,
    updated: datetime | None = None,
    **changes: Any,
) -> Order:
    """A paid, unshipped order placed and paid at ``at`` (its platform version ``updated``, default ``at``)."""
    base: dict[str, Any] = {
        "shop_id": shop_id,
        "platform": Platform.SHOPIFY,
        "external_id": external_id,
        "number": f"#{external_id}",
        "status": status,
        "platform_status": "paid/unfulfilled",
        "created_at": at,
        "updated_at": updated or at,
        "customer": customer(),
        "shipping_address": address(),
        "lines": (line(),),
        "total": eur("9.90"),
        "shipping_method": "Morgen in huis",
        "delivery_method": DeliveryMethod.SHIPPING,
        "paid_at": at,
    }
    base.update(changes)
    return Order(**base)


# --- named variants ------------------------------------------------------------------------------


def paid_later(paid_at: datetime, *, at: datetime = T0, **changes: Any) -> Order:
    """Placed at ``at`` and paid only at ``paid_at`` (a bank transfer that came in days later)."""
    assert paid_at > at
    return order(at=at, paid_at=paid_at, updated=changes.pop("updated", paid_at), **changes)


def unpaid_bank_transfer(*, at: datetime = T0, **changes: Any) -> Order:
    """A WooCommerce bank-transfer (``bacs``) order waiting for its money: on-hold, no payment date."""
    base: dict[str, Any] = {
        "platform": Platform.WOOCOMMERCE,
        "status": OrderStatus.ON_HOLD,
        "platform_status": "on-hold",
        "paid_at": None,
    }
    base.update(changes)
    return order(at=at, **base)


def with_merchant_hold(o: Order, *, at: datetime | None = None, reason: str = "OTHER") -> Order:
    """The order with a fulfilment hold the merchant (not ordercare) placed."""
    hold = Hold(external_id="h-merchant", reason=reason, handle=None, changed_at=at or o.updated_at)
    return replace(o, holds=(*o.holds, hold))


def with_our_hold(o: Order, *, at: datetime | None = None) -> Order:
    """The order with the fulfilment hold ordercare placed (its handle marks it ours)."""
    hold = Hold(
        external_id="h-ordercare", reason="INCORRECT_ADDRESS", handle="ordercare", changed_at=at or o.updated_at
    )
    return replace(o, holds=(*o.holds, hold))


def same_timestamp(o: Order, **changes: Any) -> Order:
    """Another version of ``o`` with the same platform timestamp (a meta-only save on WooCommerce)."""
    return replace(o, **changes)


def pickup_order(*, at: datetime = T0, **changes: Any) -> Order:
    """Collected in the shop (Shopify ``deliveryMethod.methodType: PICK_UP``): no address, no next-day promise, no
    parcel to track; its lines still say ``requires_shipping``, as Shopify's do."""
    base: dict[str, Any] = {
        "shipping_method": "Afhalen in de winkel",
        "shipping_method_code": "pickup",
        "delivery_method": DeliveryMethod.PICK_UP,
        "shipping_address": None,
    }
    base.update(changes)
    return order(at=at, **base)


# --- events and parcels --------------------------------------------------------------------------


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
    """A PostNL parcel in transit, shipped five hours after ``T0``."""
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
