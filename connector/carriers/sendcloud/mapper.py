"""Sendcloud parcel status ids -> ordercare's vocabulary (pure).

Ids and names: https://sendcloud.dev/docs/tracking/tracking-statuses and ``GET /parcels/statuses`` (as listed in
Webador/sendcloud:src/Model/Parcel.php); ids from 62989 on are seen in open integrations and not yet in the
documentation excerpt, so they are mapped by their published names. An id not listed maps to ``unknown``.
"""

from __future__ import annotations

from connector.carriers.base import Mapped
from connector.model import ShipmentStatus as S

STATUSES: dict[int, Mapped] = {
    999: Mapped(S.PENDING, "no_label"),  # No label
    1000: Mapped(S.PENDING, "ready_to_send"),  # Ready to send
    1001: Mapped(S.PENDING, "announcing"),  # Being announced
    1002: Mapped(S.FAILURE, "announcement_failed"),  # Announcement failed
    1: Mapped(S.PENDING, "announced"),  # Announced
    13: Mapped(S.PENDING, "not_collected"),  # Announced: not collected
    15: Mapped(S.FAILURE, "collection_error"),  # Error collecting
    22: Mapped(S.CARRIER_PICKED_UP, None, True),  # Shipment picked up by driver
    3: Mapped(S.IN_TRANSIT, "to_sorting", True),  # En route to sorting center
    7: Mapped(S.IN_TRANSIT, "sorting", True),  # Being sorted
    5: Mapped(S.IN_TRANSIT, "sorted", True),  # Sorted
    6: Mapped(S.IN_TRANSIT, "not_sorted", True),  # Not sorted
    91: Mapped(S.IN_TRANSIT, None, True),  # Parcel en route
    62989: Mapped(S.IN_TRANSIT, "customs", True),  # At customs
    62990: Mapped(S.IN_TRANSIT, "sorting", True),  # At sorting centre
    92: Mapped(S.OUT_FOR_DELIVERY, None, True),  # Driver en route
    4: Mapped(S.DELAYED, "carrier_delay"),  # Delivery delayed
    8: Mapped(S.ATTEMPTED_DELIVERY, "not_home", True),  # Delivery attempt failed
    80: Mapped(S.FAILURE, "undeliverable", True),  # Unable to deliver
    62991: Mapped(S.FAILURE, "refused", True),  # Refused by recipient
    62996: Mapped(S.FAILURE, "exception"),  # Exception
    62997: Mapped(S.FAILURE, "address"),  # Address invalid
    62992: Mapped(S.RETURNED, "to_sender", True),  # Returned to sender
    62993: Mapped(S.UNKNOWN, "method_changed"),  # Delivery method changed
    62994: Mapped(S.UNKNOWN, "date_changed"),  # Delivery date changed
    62995: Mapped(S.UNKNOWN, "address_changed"),  # Delivery address changed
    12: Mapped(S.READY_FOR_PICKUP, "pickup_point", True),  # Awaiting customer pickup
    11: Mapped(S.DELIVERED, None, True),  # Delivered
    93: Mapped(S.DELIVERED, "collected", True),  # Shipment collected by customer
    1337: Mapped(S.UNKNOWN, None),  # Unknown status - check carrier track & trace page
    1998: Mapped(S.CANCELLED, "cancellation_requested"),  # Cancellation requested
    1999: Mapped(S.CANCELLED, "cancellation_requested"),  # Cancellation requested (being processed)
    2000: Mapped(S.CANCELLED, None),  # Cancelled
    2001: Mapped(S.CANCELLED, "submitting_cancellation"),  # Submitting cancellation request
}

# the published names, for answers that give a status by name (``parent_status``)
NAMES: dict[str, int] = {
    "no label": 999,
    "ready to send": 1000,
    "being announced": 1001,
    "announcement failed": 1002,
    "announced": 1,
    "announced: not collected": 13,
    "error collecting": 15,
    "shipment picked up by driver": 22,
    "en route to sorting center": 3,
    "being sorted": 7,
    "sorted": 5,
    "not sorted": 6,
    "parcel en route": 91,
    "at customs": 62989,
    "at sorting centre": 62990,
    "driver en route": 92,
    "delivery delayed": 4,
    "delivery attempt failed": 8,
    "unable to deliver": 80,
    "refused by recipient": 62991,
    "exception": 62996,
    "address invalid": 62997,
    "returned to sender": 62992,
    "delivery method changed": 62993,
    "delivery date changed": 62994,
    "delivery address changed": 62995,
    "awaiting customer pickup": 12,
    "delivered": 11,
    "shipment collected by customer": 93,
    "unknown status": 1337,
    "cancellation requested": 1999,
    "cancelled": 2000,
    "submitting cancellation request": 2001,
}

UNKNOWN = Mapped(S.UNKNOWN)


def status_id(code: int | str) -> int | None:
    """A status id from an id or a published name; None for neither."""
    if isinstance(code, int):
        return code
    text = code.strip()
    if text.isdigit():
        return int(text)
    return NAMES.get(text.casefold().replace("_", " "))


def map_status(code: int | str) -> Mapped:
    """The meaning of a Sendcloud status id (or name); one we do not know is ``unknown``."""
    found = status_id(code)
    return STATUSES.get(found, UNKNOWN) if found is not None else UNKNOWN
