"""Carrier events -> stored orders: dedupe, match the parcel to its order, merge, or keep it for a later match.

Dedupe: ``carrier_events`` has one row per (shop, source, dedupe key); a repeat (Sendcloud's retries, a read
after a push with the same news) changes nothing. Matching, in order: an earlier event of the same parcel that
found its order; the tracking number on one of the order's shipments (the postcode must agree where both are
known: DHL reads need it, and a reused number must not reach another customer); the order number the label
platform carries (Sendcloud ``order_number``), onto the shipment with that tracking number, else the one
shipment without a number, else a new shipment of the source's own. The event then merges into that shipment
like a platform's carrier scan (``connector.ingest.merge_carrier_shipment``): events are united by id and the
current status is the latest by the carrier's own time, so late and reordered deliveries converge.

An event for a parcel no order names yet waits (``order_external_id`` NULL) until ``expires_at``; ``rematch``
retries those and drops the expired ones.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from connector import codec
from connector.carriers.base import CarrierEvent, Parcel, normalise_postcode, normalise_tracking
from connector.ingest import Outcome, merge_carrier_shipment
from connector.model import Order, Shipment
from connector.store.tables import CarrierEventRow, OrderRow, table_of

_EVENTS = table_of(CarrierEventRow)


class Received(enum.StrEnum):
    APPLIED = "applied"  # the order changed
    STALE = "stale"  # the order already knew it
    DUPLICATE = "duplicate"  # this event was stored before
    UNMATCHED = "unmatched"  # no order names this parcel (yet): kept for a later match


@dataclass(frozen=True, slots=True)
class Match:
    order: Order
    shipment: Shipment | None  # None: the order has no shipment for this parcel; the source's becomes one


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(_EVENTS).on_conflict_do_nothing().returning(_EVENTS.c.id)


def _load(session: Session, shop_id: str, external_id: str) -> Order | None:
    data = session.scalar(
        select(OrderRow.data).where(
            OrderRow.shop_id == shop_id, OrderRow.external_id == external_id, OrderRow.deleted.is_(False)
        )
    )
    return codec.load_order(data) if data is not None else None


def _postcode_agrees(order: Order, parcel: Parcel) -> bool:
    ours = normalise_postcode(order.shipping_address.postcode if order.shipping_address else None)
    return parcel.postcode is None or ours is None or ours == parcel.postcode


def _by_tracking(order: Order, number: str) -> Shipment | None:
    return next((s for s in order.shipments if normalise_tracking(s.tracking_number) == number), None)


def _known_parcel(session: Session, shop_id: str, parcel: Parcel) -> Match | None:
    """The order an earlier event of this parcel was merged into."""
    same = []
    if parcel.parcel_id:
        same.append(_EVENTS.c.parcel_id == parcel.parcel_id)
    if parcel.tracking_number:
        same.append(_EVENTS.c.tracking_number == parcel.tracking_number)
    if not same:
        return None
    row = session.execute(
        select(_EVENTS.c.order_external_id, _EVENTS.c.shipment_id)
        .where(
            _EVENTS.c.shop_id == shop_id,
            _EVENTS.c.source == parcel.source,
            _EVENTS.c.order_external_id.is_not(None),
            or_(*same),
        )
        .order_by(_EVENTS.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    order = _load(session, shop_id, row.order_external_id)
    if order is None:
        return None
    shipment = next((s for s in order.shipments if s.external_id == row.shipment_id), None)
    return Match(order, shipment)


def _tracking_match(session: Session, shop_id: str, parcel: Parcel) -> Match | None:
    number = parcel.tracking_number
    if not number:
        return None
    # the number as text anywhere in the snapshot narrows the scan in SQL; the shipments decide
    rows = session.execute(
        select(OrderRow.data)
        .where(
            OrderRow.shop_id == shop_id,
            OrderRow.deleted.is_(False),
            func.upper(cast(OrderRow.data, Text)).contains(number, autoescape=True),
        )
        .order_by(OrderRow.created_at.desc())
    ).scalars()
    for data in rows:
        order = codec.load_order(data)
        shipment = _by_tracking(order, number)
        if shipment is not None and _postcode_agrees(order, parcel):
            return Match(order, shipment)
    return None


def _order_number_match(session: Session, shop_id: str, parcel: Parcel) -> Match | None:
    number = (parcel.order_number or "").strip().lstrip("#")
    if not number:
        return None
    rows = session.execute(
        select(OrderRow.data)
        .where(OrderRow.shop_id == shop_id, OrderRow.deleted.is_(False), OrderRow.number.in_((number, f"#{number}")))
        .order_by(OrderRow.created_at.desc())
        .limit(2)
    ).scalars()
    orders = [codec.load_order(data) for data in rows]
    if len(orders) != 1 or not _postcode_agrees(orders[0], parcel):
        return None  # none, or two orders with one number: not ours to guess
    order = orders[0]
    if parcel.tracking_number:
        shipment = _by_tracking(order, parcel.tracking_number)
        if shipment is not None:
            return Match(order, shipment)
    unnumbered = [s for s in order.shipments if not s.cancelled and not s.tracking_number]
    return Match(order, unnumbered[0] if len(unnumbered) == 1 else None)


def find_order(session: Session, shop_id: str, parcel: Parcel) -> Match | None:
    """The order (and its shipment) this parcel belongs to, or None."""
    for finder in (_known_parcel, _tracking_match, _order_number_match):
        match = finder(session, shop_id, parcel)
        if match is not None:
            return match
    return None


def shipment_part(match: Match, event: CarrierEvent) -> Shipment:
    """The order's shipment with the new event (and the parcel's number if the shipment had none), or a new
    shipment for the parcel."""
    parcel = event.parcel
    if match.shipment is None:
        return Shipment(
            external_id=f"{parcel.source}:{parcel.tracking_number or parcel.parcel_id}",
            carrier=parcel.carrier,
            tracking_number=parcel.tracking_number,
            events=(event.event,),
        )
    current = match.shipment
    return replace(
        current,
        tracking_number=current.tracking_number or parcel.tracking_number,
        carrier=current.carrier or parcel.carrier,
        events=(*current.events, event.event),
    )


def _merge(session: Session, shop_id: str, row_id: int, match: Match, event: CarrierEvent, now: datetime) -> Received:
    part = shipment_part(match, event)
    outcome = merge_carrier_shipment(session, shop_id, match.order.external_id, part, now)
    session.execute(
        update(_EVENTS)
        .where(_EVENTS.c.id == row_id)
        .values(order_external_id=match.order.external_id, shipment_id=part.external_id, expires_at=None)
    )
    return Received.APPLIED if outcome is Outcome.APPLIED else Received.STALE


def receive(
    session: Session, shop_id: str, events: Iterable[CarrierEvent], now: datetime, *, unmatched_days: int
) -> list[Received]:
    """Store, match and merge each event inside the caller's transaction; one outcome per event."""
    outcomes = []
    for event in events:
        parcel = event.parcel
        row_id = session.execute(
            _insert(session),
            {
                "shop_id": shop_id,
                "source": parcel.source,
                "dedupe_key": event.dedupe_key[:255],
                "tracking_number": parcel.tracking_number,
                "parcel_id": parcel.parcel_id,
                "order_number": parcel.order_number,
                "order_external_id": None,
                "shipment_id": None,
                "happened_at": event.event.happened_at,
                "received_at": now,
                "expires_at": now + timedelta(days=unmatched_days),
                "needs_details": event.needs_details,
                "event": codec.dump(event),
            },
        ).scalar()
        if row_id is None:
            outcomes.append(Received.DUPLICATE)
            continue
        if not event.needs_details and parcel.parcel_id:
            session.execute(
                update(_EVENTS)
                .where(
                    _EVENTS.c.shop_id == shop_id,
                    _EVENTS.c.source == parcel.source,
                    _EVENTS.c.parcel_id == parcel.parcel_id,
                    _EVENTS.c.needs_details.is_(True),
                )
                .values(needs_details=False)
            )
        match = find_order(session, shop_id, parcel)
        outcomes.append(Received.UNMATCHED if match is None else _merge(session, shop_id, row_id, match, event, now))
    return outcomes


def rematch(session: Session, shop_id: str, now: datetime) -> tuple[int, int]:
    """Retry the waiting events of a shop: (merged, dropped because they waited too long)."""
    dropped: int = session.execute(  # type: ignore[attr-defined]
        delete(_EVENTS).where(
            _EVENTS.c.shop_id == shop_id, _EVENTS.c.order_external_id.is_(None), _EVENTS.c.expires_at <= now
        )
    ).rowcount
    waiting = session.execute(
        select(_EVENTS.c.id, _EVENTS.c.event)
        .where(_EVENTS.c.shop_id == shop_id, _EVENTS.c.order_external_id.is_(None))
        .order_by(_EVENTS.c.happened_at, _EVENTS.c.id)
    ).all()
    merged = 0
    for row_id, data in waiting:
        event = codec.load(CarrierEvent, data)
        match = find_order(session, shop_id, event.parcel)
        if match is not None:
            _merge(session, shop_id, row_id, match, event, now)
            merged += 1
    return merged, int(dropped or 0)


def details_due(session: Session, shop_id: str, source: str) -> list[Parcel]:
    """Parcels whose last news came without details (a MyParcel webhook): a read should follow."""
    rows = session.execute(
        select(_EVENTS.c.event)
        .where(_EVENTS.c.shop_id == shop_id, _EVENTS.c.source == source, _EVENTS.c.needs_details.is_(True))
        .order_by(_EVENTS.c.received_at)
    ).scalars()
    parcels = {codec.load(CarrierEvent, data).parcel for data in rows}
    return sorted(parcels, key=lambda p: (p.parcel_id or "", p.tracking_number or ""))
