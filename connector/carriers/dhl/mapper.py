"""DHL eCommerce NL (Unified tracking ``service=parcel-nl``) statuses -> ordercare's vocabulary (pure).

The coarse ``statusCode`` (pre-transit, transit, delivered, failure, unknown) hides out for delivery, the
pickup point and not-home inside transit/failure, so the detailed ``status`` (DHL Parcel NL's own codes, as in
netresearch/dhl-sdk-api-unified-tracking test/Fixture/files/success/JVGL06048524783718330083.json) decides and
the coarse code is the fallback for a detailed code not listed here. Neither known: ``unknown``.
"""

from __future__ import annotations

from connector.carriers.base import Mapped
from connector.model import ShipmentStatus as S

STATUSES: dict[str, Mapped] = {
    "PRENOTIFICATION_RECEIVED": Mapped(S.PENDING, "announced"),
    "PARCEL_SORTED_AT_HUB": Mapped(S.IN_TRANSIT, "sorted", True),
    "PARCEL_ARRIVED_AT_LOCAL_DEPOT": Mapped(S.IN_TRANSIT, "at_depot", True),
    "OUT_FOR_DELIVERY": Mapped(S.OUT_FOR_DELIVERY, None, True),
    "DELIVERED_AT_PARCELSHOP": Mapped(S.READY_FOR_PICKUP, "pickup_point", True),
    "STORAGE_PERIOD_ENDED_AT_PARCELSHOP": Mapped(S.FAILURE, "not_collected", True),
    "RETURNED_TO_SHIPPER": Mapped(S.RETURNED, "to_sender", True),
    "DELIVERY_DATE_CHANGED_BY_DEPOT_MANAGER_REASON_CLOSED": Mapped(S.DELAYED, "depot_closed"),
}
# families of codes that share a prefix (DHL adds variants: DELIVERED_AT_NEIGHBOURS, NOT_HOME_..., ...)
PREFIXES: tuple[tuple[str, Mapped], ...] = (
    ("DATA_RECEIVED", Mapped(S.PENDING, "label")),
    ("NOT_HOME", Mapped(S.ATTEMPTED_DELIVERY, "not_home", True)),
    ("DELIVERED", Mapped(S.DELIVERED, None, True)),
    ("DELIVERY_DATE_CHANGED", Mapped(S.DELAYED, "date_changed")),
    ("INTERVENTION", Mapped(S.UNKNOWN, "intervention")),
)
COARSE: dict[str, Mapped] = {
    "pre-transit": Mapped(S.PENDING),
    "transit": Mapped(S.IN_TRANSIT, None, True),
    "delivered": Mapped(S.DELIVERED, None, True),
    "failure": Mapped(S.FAILURE),
}


def map_status(status: str | None, status_code: str | None = None) -> Mapped:
    """The detailed status first, then its family, then the coarse code; else ``unknown``."""
    detailed = (status or "").strip().upper()
    if detailed in STATUSES:
        return STATUSES[detailed]
    for prefix, mapped in PREFIXES:
        if detailed.startswith(prefix):
            return mapped
    return COARSE.get((status_code or "").strip().lower(), Mapped(S.UNKNOWN))
