"""Finding an order from the shop's lookup form: the order number plus its postcode or e-mail, both must match.

The postcode is compared without spaces or dashes and in capitals ("1234 ab" is "1234AB"), the e-mail without
case. The answer for an unknown number and for a wrong postcode is the same, so the form tells nobody which
order numbers exist. ``LookupLimiter`` counts failed lookups per shop and per order number in fixed windows,
in the database (shared by every web process) and without the visitor's address, and refuses lookups for the
rest of a window once either count is reached.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from connector import codec
from connector.model import Order
from connector.store.db import transaction
from connector.store.tables import LookupFailure, OrderRow

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
    """Failed lookups per shop and per (shop, order number) in fixed windows, counted in the database so every
    web process shares them (``lookup_failures``).

    Only counts are kept, under the window's start and a digest of the number: no visitor data. Windows that
    have ended are deleted when the next failure is counted.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        per_order: int = 5,
        per_shop: int = 100,
        window: timedelta = timedelta(minutes=15),
    ) -> None:
        self.sessions = sessions
        self.per_order = per_order
        self.per_shop = per_shop
        self.window = window

    def _start(self, now: datetime) -> datetime:
        seconds = self.window.total_seconds()
        return datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=UTC)

    @staticmethod
    def _subjects(shop_id: str, number: str) -> tuple[str, str]:
        digest = hashlib.sha256(f"{shop_id}\x00{normalise_number(number).upper()}".encode()).hexdigest()[:16]
        return "", digest

    def refused_until(self, shop_id: str, number: str, now: datetime) -> datetime | None:
        """The end of the window when lookups of this shop or number are refused now; None when allowed."""
        start = self._start(now)
        shop_subject, order_subject = self._subjects(shop_id, number)
        with self.sessions() as session:
            counts: dict[str, int] = dict(
                session.execute(
                    select(LookupFailure.subject, LookupFailure.failures).where(
                        LookupFailure.shop_id == shop_id,
                        LookupFailure.subject.in_((shop_subject, order_subject)),
                        LookupFailure.window_start == start,
                    )
                ).all()
            )
        full = counts.get(shop_subject, 0) >= self.per_shop or counts.get(order_subject, 0) >= self.per_order
        return start + self.window if full else None

    def failed(self, shop_id: str, number: str, now: datetime) -> None:
        """Count one failed lookup of ``number`` at ``shop_id`` in the current window."""
        start = self._start(now)
        with transaction(self.sessions) as session:
            session.execute(delete(LookupFailure).where(LookupFailure.window_start < start))
            upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            for subject in self._subjects(shop_id, number):
                statement = upsert(LookupFailure).values(
                    shop_id=shop_id, subject=subject, window_start=start, failures=1
                )
                session.execute(
                    statement.on_conflict_do_update(
                        index_elements=["shop_id", "subject", "window_start"],
                        set_={"failures": LookupFailure.failures + 1},
                    )
                )
