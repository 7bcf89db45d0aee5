"""Finding an order from the shop's lookup form: the order number plus its postcode or e-mail, both must match.

The postcode is compared without spaces or dashes and in capitals ("1234 ab" is "1234AB"), the e-mail without
case. The answer for an unknown number and for a wrong postcode is the same, so the form tells nobody which
order numbers exist. ``LookupLimiter`` counts failed lookups per shop and per order number in fixed windows,
in memory and without the visitor's address, and refuses lookups for the rest of a window once either count
is reached.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import codec
from connector.model import Order
from connector.store.tables import OrderRow

MAX_FIELD = 100  # longer input is no order number, postcode or e-mail address


@dataclass(frozen=True)
class StoredOrder:
    """An order as stored: its row id and the snapshot."""

    id: int
    order: Order


def normalise_postcode(value: str | None) -> str:
    return re.sub(r"[\s\-]+", "", value or "").upper()


def normalise_email(value: str | None) -> str:
    return (value or "").strip().casefold()


def normalise_number(value: str | None) -> str:
    """ "#1001", " 1001 " and "1001" are the same order number; the platform's own spelling is kept otherwise."""
    return re.sub(r"\s+", "", value or "").lstrip("#")


def _same(left: str, right: str) -> bool:
    return bool(left) and bool(right) and hmac.compare_digest(left.encode(), right.encode())


def matches(order: Order, check: str) -> bool:
    """Whether ``check`` is the order's postcode (when it has no "@") or the customer's e-mail address."""
    if "@" in check:
        return _same(normalise_email(check), normalise_email(order.customer.email))
    postcode = order.shipping_address.postcode if order.shipping_address is not None else None
    return _same(normalise_postcode(check), normalise_postcode(postcode))


def find(session: Session, shop_id: str, number: str, check: str) -> StoredOrder | None:
    """The shop's order with this number whose postcode or e-mail is ``check``; None for no such order."""
    bare = normalise_number(number)
    if not bare or not check.strip() or len(number) > MAX_FIELD or len(check) > MAX_FIELD:
        return None
    spellings = sorted({bare, f"#{bare}", bare.upper(), f"#{bare.upper()}"})
    query = (
        select(OrderRow)
        .where(OrderRow.shop_id == shop_id, OrderRow.number.in_(spellings), OrderRow.deleted.is_(False))
        .order_by(OrderRow.id)
    )
    for row in session.scalars(query):
        order = codec.load_order(row.data)
        if matches(order, check):
            return StoredOrder(row.id, order)
    return None


class LookupLimiter:
    """Failed lookups per shop and per (shop, order number) in fixed windows; thread-safe, per process.

    Only counts are kept, under the window's start and a digest of the number: no visitor data.
    """

    def __init__(
        self,
        per_order: int = 5,
        per_shop: int = 100,
        window: timedelta = timedelta(minutes=15),
        max_tracked: int = 10_000,
    ) -> None:
        self.per_order = per_order
        self.per_shop = per_shop
        self.window = window
        self.max_tracked = max_tracked
        self._counts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def _slot(self, now: datetime) -> int:
        return int(now.timestamp() // self.window.total_seconds())

    def _keys(self, shop_id: str, number: str, slot: int) -> tuple[tuple[str, str, int], tuple[str, str, int]]:
        digest = hashlib.sha256(f"{shop_id}\x00{normalise_number(number).upper()}".encode()).hexdigest()[:16]
        return (shop_id, "", slot), (shop_id, digest, slot)

    def refused_until(self, shop_id: str, number: str, now: datetime) -> datetime | None:
        """The end of the window when lookups of this shop or number are refused now; None when allowed."""
        slot = self._slot(now)
        shop_key, order_key = self._keys(shop_id, number, slot)
        with self._lock:
            full = self._counts.get(shop_key, 0) >= self.per_shop or self._counts.get(order_key, 0) >= self.per_order
        if not full:
            return None
        return datetime.fromtimestamp((slot + 1) * self.window.total_seconds(), tz=UTC)

    def failed(self, shop_id: str, number: str, now: datetime) -> None:
        slot = self._slot(now)
        with self._lock:
            if len(self._counts) > self.max_tracked:
                for key in [k for k in self._counts if k[2] < slot]:
                    del self._counts[key]
            for key in self._keys(shop_id, number, slot):
                self._counts[key] = self._counts.get(key, 0) + 1
