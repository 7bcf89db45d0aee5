""" "Parcel not received": what the carrier data says before anyone answers the customer (pure).

``delivered``: a live parcel has a delivery scan (the customer gets a careful message, never an apology that
accepts the loss, and staff a task). ``in_transit``: the carrier has the parcel and is moving it (the customer
gets its status and the day the carrier or our promise names). ``unknown``: no carrier data at all, or the
order has not shipped (staff only: a wrong message is worse than none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from connector.carriers.names import display_name
from connector.model import Order, ShipmentStatus
from connector.promises import rules
from connector.promises.rules import PromiseView

DELIVERED, IN_TRANSIT, UNKNOWN = "delivered", "in_transit", "unknown"
_MOVING = frozenset(
    {
        ShipmentStatus.CARRIER_PICKED_UP,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.READY_FOR_PICKUP,
        ShipmentStatus.ATTEMPTED_DELIVERY,
        ShipmentStatus.DELAYED,
    }
)


@dataclass(frozen=True)
class Situation:
    state: str  # delivered | in_transit | unknown
    carrier: str | None = None
    status: str | None = None  # the parcel's current ShipmentStatus value
    day: date | None = None  # delivered on, or expected on (None: nobody names a day)


def not_received(order: Order, promises: tuple[PromiseView, ...], today: date, tz: tzinfo) -> Situation:
    """What the carrier data says about a parcel the customer did not receive."""
    live = [s for s in order.shipments if not s.cancelled]
    for shipment in live:
        delivered = shipment.delivered_time
        if delivered is not None or shipment.current_status is ShipmentStatus.DELIVERED:
            day = delivered.astimezone(tz).date() if delivered is not None else None
            return Situation(DELIVERED, display_name(shipment.carrier), ShipmentStatus.DELIVERED.value, day)
    moving = [s for s in live if s.current_status in _MOVING and (s.events or s.tracking_number)]
    if not order.status.is_shipped or not moving:
        return Situation(UNKNOWN)
    shipment = moving[0]
    expected = rules.open_delivery_date(promises, today) or rules.carrier_day(order, tz)
    day = expected if expected is not None and expected >= today else None
    return Situation(IN_TRANSIT, display_name(shipment.carrier), shipment.current_status.value, day)
