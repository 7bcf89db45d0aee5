"""The orders of the tracking tests, one per state the page shows, and the facts the page is built from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connector.incidents import IncidentView
from connector.model import Order, OrderStatus, ShipmentEvent, ShipmentStatus
from connector.notify.render import Voucher
from connector.promises.rules import PromiseView
from tests import builders
from tests.builders import T0

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday 27 November, 10:00 in Amsterdam
FIX_URL = "https://ordercare.example/fix/abc.def"
CONTACT = "help@fietsenwinkel.example"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, Amsterdam time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=AMSTERDAM)


def placed(**changes: Any) -> Order:
    """Paid on Monday, not shipped, nothing wrong."""
    return builders.order("1001", **changes)


def held_for_address() -> Order:
    return builders.order("1001", shipping_address=builders.address_without_house_number())


def address_incident(**details: Any) -> IncidentView:
    found = {"problems": ["missing_house_number"], "held": True, **details}
    return IncidentView("address", "open", 1, 1, T0, id=11, details=found)


def _event(external_id: str, status: ShipmentStatus, at: datetime, city: str | None = None) -> ShipmentEvent:
    return ShipmentEvent(external_id=external_id, status=status, happened_at=at, city=city, source="sendcloud")


ON_ITS_WAY = (
    _event("e1", ShipmentStatus.CARRIER_PICKED_UP, local(23, 18), "Amsterdam"),
    _event("e2", ShipmentStatus.IN_TRANSIT, local(24, 6), "Utrecht"),
    _event("e3", ShipmentStatus.IN_TRANSIT, local(24, 7, 30), "Nieuwegein"),
)


def late() -> Order:
    """Shipped on Monday, last scanned on Tuesday morning; the delay notice promised Monday 30 November."""
    parcel = builders.shipment(
        shipped_at=local(23, 15),
        tracking_url="https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-1234AB",
        events=ON_ITS_WAY,
    )
    return builders.order("1001", status=OrderStatus.SHIPPED, platform_status="paid/fulfilled", shipments=(parcel,))


def delay_incident() -> IncidentView:
    return IncidentView("shipment_delay", "open", 1, 1, local(26, 10), id=12, details={"reason": "no_scan", "level": 1})


def promise(day: date, kind: str = "delivery_by", made_at: datetime | None = None, id: int = 21) -> PromiseView:
    return PromiseView(kind=kind, promised=day, made_at=made_at or local(26, 10), awaits="delivered", id=id)


VOUCHER = Voucher("OC-7KQ2M9", "percentage", Decimal("10"), "EUR", date(2027, 2, 22))


def delivered() -> Order:
    parcel = builders.shipment(
        status=ShipmentStatus.DELIVERED,
        shipped_at=local(23, 15),
        tracking_url="https://postnl.nl/tt/3SABCD1234567",
        events=(*ON_ITS_WAY[:2], _event("e4", ShipmentStatus.DELIVERED, local(25, 13, 10), "Amsterdam")),
        updated=local(25, 13, 10),
    )
    return builders.order(
        "1001", status=OrderStatus.DELIVERED, platform_status="paid/fulfilled", shipments=(parcel,),
        updated=local(25, 13, 10),
    )  # fmt: skip


def after(moment: datetime, days: float) -> datetime:
    return moment + timedelta(days=days)
