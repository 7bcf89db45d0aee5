"""Pure decisions about promises: which dates a message gives, what keeps or ends a promise, when to follow up.

A promise is ``delivery_by`` (the parcel arrives by that shop-local day) or ``hear_from_us_by`` (we write
again by that day). It awaits an event: delivery, or for a "you will hear from us" given before the order
shipped, its shipping. The event on or before the day ends it as ``met``; a newer promise-bearing message
on or before the day as ``followed_up``; either one after the day as ``missed``; a cancelled order ends it
as ``cancelled``. Only an ``open`` promise still binds us.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from connector.calendar import BusinessCalendar
from connector.model import Order, OrderStatus, Shipment, ShipmentStatus

DELIVERY_BY, HEAR_FROM_US_BY = "delivery_by", "hear_from_us_by"
KINDS = (DELIVERY_BY, HEAR_FROM_US_BY)
SHIPPED, DELIVERED = "shipped", "delivered"
ANSWERED = "answered"  # a report's "you will hear from us": the order cannot tell; the report policy ends it
ANSWERING_POLICIES = frozenset({"order_problem"})
OPEN, MET, FOLLOWED_UP, MISSED, CANCELLED = "open", "met", "followed_up", "missed", "cancelled"

# the message context key that carries each kind's date (``policies.base.notify_payload``)
CONTEXT_KEYS: Mapping[str, str] = {DELIVERY_BY: "new_delivery_date", HEAR_FROM_US_BY: "hear_from_us_by"}
_MAX_LOOK_BACK = 31  # days: a calendar closed longer than this has no honest dispatch day
_GONE = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.FAILED})


@dataclass(frozen=True)
class PromiseView:
    """One promise as the policies and views see it (a read-only copy of the row)."""

    kind: str
    promised: date  # shop-local day
    made_at: datetime
    awaits: str  # shipped | delivered
    id: int | None = None
    ended: str = OPEN
    ended_at: datetime | None = None
    policy: str | None = None
    template: str | None = None
    action_id: int | None = None

    @property
    def open(self) -> bool:
        return self.ended == OPEN


def dates_in(context: Mapping[str, Any]) -> list[tuple[str, date]]:
    """The (kind, day) promises a message context gives the customer, in ``KINDS`` order."""
    found = []
    for kind in KINDS:
        value = context.get(CONTEXT_KEYS[kind])
        if isinstance(value, str) and value:
            found.append((kind, date.fromisoformat(value[:10])))
    return found


def awaits(kind: str, order: Order | None, policy: str | None = None) -> str:
    """The event a new promise waits for: delivery, or shipping for "you will hear from us" before it shipped;
    the answer itself for the "you will hear from us" of a customer's report (``ANSWERING_POLICIES``)."""
    if kind == HEAR_FROM_US_BY and policy in ANSWERING_POLICIES:
        return ANSWERED
    if kind == HEAR_FROM_US_BY and (order is None or not order.status.is_shipped):
        return SHIPPED
    return DELIVERED


def _live(order: Order) -> list[Shipment]:
    return [s for s in order.shipments if not s.cancelled]


def delivered_at(order: Order) -> datetime | None:
    """When the last live parcel arrived, if every one of them did."""
    live = _live(order)
    times = [s.delivered_time for s in live]
    if not live or any(t is None for t in times):
        return None
    return max(t for t in times if t is not None)


def shipped_at(order: Order) -> datetime | None:
    """When the order first left the warehouse, if it did."""
    if not order.status.is_shipped:
        return None
    times = [s.shipped_at for s in _live(order) if s.shipped_at is not None]
    return min(times) if times else order.updated_at


def happened_at(order: Order, event: str) -> datetime | None:
    """When the awaited event happened, or None if it has not (an answer is not in the order)."""
    if event == ANSWERED:
        return None
    return delivered_at(order) if event == DELIVERED else shipped_at(order)


def settle(promise: PromiseView, order: Order, tz: tzinfo) -> tuple[str, datetime] | None:
    """How an open promise ends because of the order itself (event or cancellation), or None if it does not."""
    if not promise.open:
        return None
    if order.status in _GONE:
        return CANCELLED, order.cancelled_at or order.updated_at
    at = happened_at(order, promise.awaits)
    if at is None:
        return None
    return (MET if at.astimezone(tz).date() <= promise.promised else MISSED), at


def superseded(promise: PromiseView, sent_at: datetime, tz: tzinfo) -> str:
    """How an open promise ends when a newer promise-bearing message went out at ``sent_at``."""
    return FOLLOWED_UP if sent_at.astimezone(tz).date() <= promise.promised else MISSED


def shown_ended(promise: PromiseView, today: date) -> str:
    """The promise's state for a report on ``today``: an open promise whose day has passed is ``missed``."""
    return MISSED if promise.open and promise.promised < today else promise.ended


def kept_date(promises: Iterable[PromiseView], honest: date | None) -> date | None:
    """The delivery date to tell the customer: the open promise's day when it is no earlier than the honest
    earliest (we keep our word), else the honest one; without an honest date, None."""
    if honest is None:
        return None
    return max([honest, *(p.promised for p in promises if p.open and p.kind == DELIVERY_BY)])


def current(promises: Iterable[PromiseView], kind: str = DELIVERY_BY) -> date | None:
    """The day the newest open promise of ``kind`` names: the date ordercare promises now, if any."""
    days = [p for p in promises if p.open and p.kind == kind]
    return max(days, key=lambda p: (p.made_at, p.id or 0)).promised if days else None


def open_delivery_date(promises: Iterable[PromiseView], today: date) -> date | None:
    """The day an open delivery promise still names from ``today`` on, if there is one."""
    days = [p.promised for p in promises if p.open and p.kind == DELIVERY_BY and p.promised >= today]
    return max(days, default=None)


def carrier_day(order: Order, tz: tzinfo) -> date | None:
    """The latest day the carriers expect the parcels that have not arrived yet."""
    days = [
        s.expected_delivery_at.astimezone(tz).date()
        for s in _live(order)
        if s.expected_delivery_at is not None
        and s.delivered_time is None
        and s.current_status is not ShipmentStatus.DELIVERED
    ]
    return max(days, default=None)


@dataclass(frozen=True)
class FollowUpTimes:
    """The shop-local times of the follow-up thresholds (``PromiseFollowupConfig``)."""

    hear_from_us_at: time  # on the day we said the customer would hear from us
    not_delivered_at: time  # on the promised delivery day, for a parcel still on its way
    dispatch_by: time  # the shop's dispatch deadline: unshipped by then, a parcel cannot make the next day


def last_dispatch_day(calendar: BusinessCalendar, day: date) -> date:
    """The last working day before ``day``: a parcel for ``day`` must leave by then."""
    current = day - timedelta(days=1)
    for _ in range(_MAX_LOOK_BACK):
        if calendar.is_working_day(current):
            return current
        current -= timedelta(days=1)
    return day - timedelta(days=1)


def follow_up_at(promise: PromiseView, order: Order, times: FollowUpTimes, calendar: BusinessCalendar) -> datetime:
    """When an open promise whose event has not happened gets its follow-up (shop time, ``FollowUpTimes``).

    "You will hear from us" is followed up on its day at ``hear_from_us_at``. A delivery date: an order not
    shipped by the dispatch deadline of the last working day before it cannot arrive in time; a parcel the
    carrier expects after the day is followed up at once; one still on its way, at ``not_delivered_at``.
    """
    if promise.kind == HEAR_FROM_US_BY:
        return calendar.at(promise.promised, times.hear_from_us_at)
    if not order.status.is_shipped:
        return calendar.at(last_dispatch_day(calendar, promise.promised), times.dispatch_by)
    later = carrier_day(order, calendar.tz)
    if later is not None and later > promise.promised:
        return promise.made_at
    return calendar.at(promise.promised, times.not_delivered_at)
