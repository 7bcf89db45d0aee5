"""PostNL Shippingstatus ``StatusCode`` -> ordercare's vocabulary (pure).

Codes: developer.postnl.nl reference data "T&T status codes" (postnl/postnl-ecommerce-sdk-python
doc/models): 1 voorgemeld, 2 in ontvangst genomen, 3 afgehaald, 4 niet afgehaald, 5 gesorteerd, 6 niet gesorteerd,
7 in distributieproces, 8 niet afgeleverd, 9 bij douane, 11 afgeleverd, 12 beschikbaar op afhaallocatie,
13 voorgemeld: nog niet aangenomen, 14 voorgemeld: definitief niet aangenomen, 15 manco collectie, 16 manco
sortering, 17 manco distributie, 18 definitief manco, 19 afgekeurd, 20 in inklaringsproces, 21 in voorraad,
22 afgehaald van postkantoor, 23 afhaalopdracht gecollecteerd, 99 niet van toepassing. Others: ``unknown``.
"""

from __future__ import annotations

from connector.carriers.base import Mapped
from connector.model import ShipmentStatus as S

STATUSES: dict[int, Mapped] = {
    1: Mapped(S.PENDING, "announced"),
    2: Mapped(S.CARRIER_PICKED_UP, "received", True),
    3: Mapped(S.CARRIER_PICKED_UP, "collected", True),
    4: Mapped(S.FAILURE, "not_collected"),
    5: Mapped(S.IN_TRANSIT, "sorted", True),
    6: Mapped(S.IN_TRANSIT, "not_sorted", True),
    7: Mapped(S.OUT_FOR_DELIVERY, None, True),
    8: Mapped(S.ATTEMPTED_DELIVERY, "not_delivered", True),
    9: Mapped(S.IN_TRANSIT, "customs", True),
    11: Mapped(S.DELIVERED, None, True),
    12: Mapped(S.READY_FOR_PICKUP, "pickup_point", True),
    13: Mapped(S.PENDING, "not_yet_received"),
    14: Mapped(S.FAILURE, "never_received"),
    15: Mapped(S.FAILURE, "lost", True),
    16: Mapped(S.FAILURE, "lost", True),
    17: Mapped(S.FAILURE, "lost", True),
    18: Mapped(S.FAILURE, "lost"),
    19: Mapped(S.FAILURE, "rejected", True),
    20: Mapped(S.IN_TRANSIT, "customs", True),
    21: Mapped(S.IN_TRANSIT, "in_stock", True),
    22: Mapped(S.DELIVERED, "collected", True),
    23: Mapped(S.DELIVERED, "collected", True),
    99: Mapped(S.UNKNOWN, "not_applicable"),
}


def map_status(code: int | str) -> Mapped:
    try:
        return STATUSES.get(int(code), Mapped(S.UNKNOWN))
    except (TypeError, ValueError):
        return Mapped(S.UNKNOWN)
