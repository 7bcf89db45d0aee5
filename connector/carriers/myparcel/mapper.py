"""MyParcel shipment statuses -> ordercare's vocabulary (pure).

Codes: myparcelnl/developer ``src/api-reference/04.data-types.md`` (shipment_status): 1 pending - concept,
2 pending - registered, 3 enroute - handed to carrier, 4 enroute - sorting, 5 enroute - distribution, 6 enroute -
customs, 7 delivered - at recipient, 8 delivered - ready for pickup, 9 delivered - package picked up, 10/11 the
same for return shipments, 12 printed - letter, 13 inactive - credited, 14 printed - digital stamp, 30-38 the
"inactive" twins of 1-9. "Distribution" is the last leg to the door, our closest match for out for delivery.
A status we do not know maps to ``unknown``.
"""

from __future__ import annotations

from connector.carriers.base import Mapped
from connector.model import ShipmentStatus as S

STATUSES: dict[int, Mapped] = {
    1: Mapped(S.PENDING, "concept"),
    2: Mapped(S.PENDING, "registered"),
    3: Mapped(S.CARRIER_PICKED_UP, None, True),
    4: Mapped(S.IN_TRANSIT, "sorting", True),
    5: Mapped(S.OUT_FOR_DELIVERY, "distribution", True),
    6: Mapped(S.IN_TRANSIT, "customs", True),
    7: Mapped(S.DELIVERED, None, True),
    8: Mapped(S.READY_FOR_PICKUP, "pickup_point", True),
    9: Mapped(S.DELIVERED, "collected", True),
    10: Mapped(S.RETURNED, "return_ready_for_pickup", True),
    11: Mapped(S.RETURNED, "return_collected", True),
    12: Mapped(S.PENDING, "letter_printed"),
    13: Mapped(S.CANCELLED, "credited"),
    14: Mapped(S.PENDING, "digital_stamp_printed"),
}
# 30-38: "inactive - ..." twins of 1-9 (the shipment is archived in the back office; the parcel state holds)
STATUSES.update({30 + i: STATUSES[1 + i] for i in range(9)})

UNKNOWN = Mapped(S.UNKNOWN)


def map_status(code: int | str, *, delayed: bool = False) -> Mapped:
    """The meaning of a MyParcel shipment status; ``delayed`` (tracktraces' flag) turns an open parcel into a
    delay. A status we do not know is ``unknown``."""
    try:
        mapped = STATUSES.get(int(code), UNKNOWN)
    except (TypeError, ValueError):
        return UNKNOWN
    if delayed and not mapped.status.is_closed and mapped.status is not S.UNKNOWN:
        return Mapped(S.DELAYED, "carrier_delay", mapped.physical_scan)
    return mapped
