"""OrderEvent -> stored order: dedupe, merge (newer wins), raw event log, next check.

Dedupe: a delivery key (Shopify's webhook id) seen before is a duplicate. A content key (WooCommerce, which
sends a fresh delivery id on every attempt; ``connector.platforms.base.content_key``) seen before is a
duplicate only while the stored order still carries that content, and a deletion only while the order is
still deleted: the same body can be news again (changed back at one timestamp; trashed after a restore).

Merging: the top-level snapshot with the newer platform timestamp wins; at one timestamp the one that
arrived later wins, because WooCommerce with the legacy post storage sends real changes (an address fixed
over REST, a carrier status saved as meta) without moving ``date_modified_gmt``, and builds each body when
it sends it. Shipments and holds are united by id, each one newer-wins with the same rule at one timestamp,
except that a delivered parcel stays delivered and a released hold released (a late copy of the earlier
body cannot undo them); carrier events are united. For distinct timestamps the join is commutative,
associative and idempotent, so any order of deliveries with any repeats converges to the state of the
in-order sequence. Events for an order we have not seen yet wait in ``pending_events``.

Nothing here calls a shop: the webhook request path stores and answers.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from connector import codec, privacy
from connector.carriers.base import normalise_tracking
from connector.carriers.registry import SOURCES
from connector.model import (
    DeliveryMethod,
    EventKind,
    Hold,
    HoldCheck,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    Shipment,
    ShipmentStatus,
)
from connector.platforms.base import is_content_key
from connector.shops import Shop
from connector.store.tables import OrderRow, PendingEvent, RawEvent, WebhookReceipt, table_of
from connector.wakeup import announce

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Outcome(enum.StrEnum):
    APPLIED = "applied"  # the stored order changed
    STALE = "stale"  # older than (or equal to) what we have: nothing changed
    DUPLICATE = "duplicate"  # this delivery was seen before
    PENDING = "pending"  # waits for its order
    HANDLED = "handled"  # a shop-level event (uninstall, compliance) was carried out


@dataclass(frozen=True)
class RawDelivery:
    """The delivery as received, for the audit log."""

    topic: str
    body: bytes


# --- the merge (pure) ------------------------------------------------------------------------------


def _canonical(value: Any, drop: tuple[str, ...] = ()) -> str:
    data = codec.dump(value)
    for key in drop:
        data.pop(key, None)
    return json.dumps(data, sort_keys=True)


def _later(a_at: datetime | None, b_at: datetime | None, a_key: Any, b_key: Any, a_canon: str, b_canon: str) -> bool:
    """Whether ``b`` (the later arrival) wins over ``a``: the newer timestamp, then ``*_key`` (progress that a
    late copy of an earlier body must not undo); at one timestamp ``b``. Records without a timestamp of their
    own (a carrier scan's stub) are ranked by content, so merging them stays commutative."""
    if (a_at or _EPOCH, a_key) != (b_at or _EPOCH, b_key):
        return bool((b_at or _EPOCH, b_key) > (a_at or _EPOCH, a_key))
    if a_at is not None and b_at is not None:
        return True
    return b_canon > a_canon


def _merge_shipment(a: Shipment, b: Shipment) -> Shipment:
    """``b`` arrived later. The record with the newer timestamp wins, at one timestamp a delivered one, then
    ``b``; carrier events are united."""
    b_wins = _later(
        a.updated_at,
        b.updated_at,
        a.status is ShipmentStatus.DELIVERED,
        b.status is ShipmentStatus.DELIVERED,
        _canonical(a, ("events",)),
        _canonical(b, ("events",)),
    )
    newer = b if b_wins else a
    events = {e.external_id: e for e in (*a.events, *b.events)}
    ordered = tuple(sorted(events.values(), key=lambda e: (e.happened_at, e.external_id)))
    return newer if ordered == newer.events else replace(newer, events=ordered)


def _carrier_stub(shipment: Shipment) -> bool:
    """A parcel a tracking source told us of before the platform did (``carriers.ingest``: "<source>:<number>")."""
    source, sep, _ = shipment.external_id.partition(":")
    return bool(sep) and source in SOURCES


def _fold_stubs(merged: dict[str, Shipment]) -> None:
    """A source's parcel that the platform now knows by the same tracking number is that shipment: its events
    join the platform's shipment and the stub goes (a label platform often pushes before the shop's webhook)."""
    platform = {
        normalise_tracking(s.tracking_number): key
        for key, s in sorted(merged.items())
        if not _carrier_stub(s) and normalise_tracking(s.tracking_number)
    }
    for key, stub in sorted(merged.items()):
        target = platform.get(normalise_tracking(stub.tracking_number)) if _carrier_stub(stub) else None
        if target is not None:
            merged[target] = _merge_shipment(merged[target], replace(stub, external_id=target, updated_at=None))
            del merged[key]


def union_shipments(a: Iterable[Shipment], b: Iterable[Shipment]) -> tuple[Shipment, ...]:
    """United by id, a source's stub folded into the platform's shipment of the same tracking number; ``b``
    arrived later."""
    merged: dict[str, Shipment] = {}
    for shipment in (*a, *b):
        current = merged.get(shipment.external_id)
        merged[shipment.external_id] = shipment if current is None else _merge_shipment(current, shipment)
    _fold_stubs(merged)
    return tuple(merged[k] for k in sorted(merged))


def _hold_wins(current: Hold, hold: Hold) -> bool:
    """``hold`` arrived later: the newer change wins, at one time a release, then the later arrival."""
    return _later(
        current.changed_at, hold.changed_at, current.released, hold.released, _canonical(current), _canonical(hold)
    )


def union_holds(a: Iterable[Hold], b: Iterable[Hold]) -> tuple[Hold, ...]:
    """United by id; ``b`` arrived later."""
    merged: dict[str, Hold] = {}
    for hold in (*a, *b):
        current = merged.get(hold.external_id)
        if current is None or _hold_wins(current, hold):
            merged[hold.external_id] = hold
    return tuple(merged[k] for k in sorted(merged))


def _later_check(a: HoldCheck | None, b: HoldCheck | None) -> HoldCheck | None:
    """The newer complete listing of holds (ties broken by content, so the join stays commutative)."""
    if a is None or b is None:
        return a or b
    return a if (a.at, sorted(a.ids)) >= (b.at, sorted(b.ids)) else b


def derive_status(order: Order) -> Order:
    """Carrier news the order record does not carry: every live parcel delivered means delivered."""
    live = [s for s in order.shipments if not s.cancelled]
    if order.status is OrderStatus.SHIPPED and live and all(s.current_status is ShipmentStatus.DELIVERED for s in live):
        return order.with_changes(status=OrderStatus.DELIVERED)
    return order


def merge_orders(old: Order, new: Order) -> Order:
    """The join of two versions of one order (``new`` arrived later): newer snapshot, united shipments and holds.

    At one ``updated_at`` the later arrival's snapshot wins: with the legacy post storage WooCommerce sends an
    address fix or a meta-only save with an unchanged ``date_modified_gmt``, and builds the body when it sends
    it, so the later delivery carries the later state. Equal content at one time changes nothing.
    """
    top, other = (new, old) if new.updated_at >= old.updated_at else (old, new)
    merged = top.with_changes(
        **_kept_facts(top, other),
        paid_at=_paid_at(top, other),
        shipments=union_shipments(old.shipments, new.shipments),
        holds=union_holds(old.holds, new.holds),
        hold_check=_later_check(old.hold_check, new.hold_check),
    )
    return derive_status(merged)


# Order.extra keys only some reads carry (Shopify: the fulfilment orders of the GraphQL read, not of REST bodies)
_KEPT_EXTRA = ("fulfillment_orders", "stock_alternatives")


def _kept_facts(top: Order, other: Order) -> dict[str, Any]:
    """What the newer snapshot cannot see and the other one said: Shopify's REST bodies cannot tell pickup from
    delivery (``DeliveryMethod.UNKNOWN``) and list no fulfilment orders; its GraphQL read does."""
    kept: dict[str, Any] = {}
    if top.delivery_method is DeliveryMethod.UNKNOWN and other.delivery_method is not DeliveryMethod.UNKNOWN:
        kept["delivery_method"] = other.delivery_method
    missing = {k: other.extra[k] for k in _KEPT_EXTRA if k in other.extra and k not in top.extra}
    if missing:
        kept["extra"] = {**top.extra, **missing}
    lines = _kept_stock(top, other)
    if lines is not None:
        kept["lines"] = lines
    return kept


def _kept_stock(top: Order, other: Order) -> tuple[OrderLine, ...] | None:
    """Stock facts only some reads carry (Shopify's stock read, not its REST bodies): a line the newer snapshot
    says nothing about keeps what the other one said; None when nothing is kept."""
    known = {line.external_id: line for line in other.lines if line.backordered is not None}
    if not known or all(line.backordered is not None or line.external_id not in known for line in top.lines):
        return None
    return tuple(
        replace(line, backordered=(said := known[line.external_id]).backordered, stock_signal=said.stock_signal)
        if line.backordered is None and line.external_id in known
        else line
        for line in top.lines
    )


def _paid_at(top: Order, other: Order) -> datetime | None:
    """When the money came, as best both versions tell it.

    A platform's payment time is never later than the truth (Shopify's REST order has only ``processed_at``,
    the checkout time), so the latest one wins; and an order we saw awaiting payment was paid after that
    version, by the version that first shows it paid at the latest.
    """
    if top.payment is not Payment.PAID or top.paid_at is None:
        return top.paid_at
    times = [v.paid_at for v in (top, other) if v.payment is Payment.PAID and v.paid_at is not None]
    seen_unpaid = other.payment is Payment.AWAITING and other.updated_at <= top.updated_at
    if seen_unpaid and (not times or max(times) <= other.updated_at):
        times.append(top.updated_at)
    return max(times, default=None)


def _apply_part(order: Order, event: OrderEvent, *, event_first: bool = False) -> Order:
    """The part ``event`` carries merged into ``order``; ``event_first``: the event arrived before the order
    version (it waited for it), so at one timestamp the order's record wins."""

    def united(mine: tuple[Any, ...], part: Any, union: Callable[[Any, Any], Any]) -> Any:
        return union((part,), mine) if event_first else union(mine, (part,))

    if event.kind is EventKind.SHIPMENT and event.shipment is not None:
        return derive_status(order.with_changes(shipments=united(order.shipments, event.shipment, union_shipments)))
    if event.kind is EventKind.SHIPMENT_EVENT and event.shipment_event is not None and event.shipment_id:
        stub = Shipment(external_id=event.shipment_id, events=(event.shipment_event,))
        return derive_status(order.with_changes(shipments=united(order.shipments, stub, union_shipments)))
    if event.kind is EventKind.HOLD and event.hold is not None:
        return order.with_changes(holds=united(order.holds, event.hold, union_holds))
    return order


# --- storing -------------------------------------------------------------------------------------


_ORDERS = table_of(OrderRow)
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str) -> Any:
    """Statements built once per dialect, so each delivery skips SQL construction and compilation."""
    dialect = session.get_bind().dialect.name
    key = (dialect, name)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _build_statement(dialect, name)
        _STATEMENTS[key] = statement
    return statement


def _build_statement(dialect: str, name: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    if name == "receipt":
        table = table_of(WebhookReceipt)
        return insert(table).on_conflict_do_nothing().returning(table.c.id)
    if name == "order_row":
        query = select(_ORDERS.c.id, _ORDERS.c.deleted, _ORDERS.c.platform_updated_at, _ORDERS.c.data).where(
            _ORDERS.c.shop_id == bindparam("shop_id"), _ORDERS.c.external_id == bindparam("external_id")
        )
        return query.with_for_update() if dialect == "postgresql" else query
    if name == "pending":
        table = table_of(PendingEvent)
        return (
            select(table.c.id, table.c.event)
            .where(table.c.shop_id == bindparam("shop_id"), table.c.order_external_id == bindparam("external_id"))
            .order_by(table.c.id)
        )
    if name == "insert_order":
        return insert(_ORDERS)
    if name == "update_order":
        return update(_ORDERS).where(_ORDERS.c.id == bindparam("row_id"))
    if name == "raw_event":
        return insert(table_of(RawEvent))
    raise KeyError(name)


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    deleted: bool
    platform_updated_at: datetime
    data: dict[str, Any]


def _order_row(session: Session, shop_id: str, external_id: str) -> _Stored | None:
    row = (
        session.connection()
        .execute(_statement(session, "order_row"), {"shop_id": shop_id, "external_id": external_id})
        .first()
    )
    return _Stored(*row) if row is not None else None


def _order_values(order: Order, now: datetime) -> dict[str, Any]:
    return {
        "number": order.number,
        "status": order.status.value,
        "platform_status": order.platform_status[:64],
        "channel": order.channel.value,
        "customer_email": (order.customer.email or "").lower() or None,
        "customer_external_id": order.customer.external_id,
        "created_at": order.created_at,
        "platform_updated_at": order.updated_at,
        "ingested_at": now,
        "next_check_at": now,
        "data": codec.dump_order(order),
    }


def _update_order(session: Session, row_id: int, values: dict[str, Any]) -> None:
    session.connection().execute(_statement(session, "update_order"), {"row_id": row_id, **values})


def _save_merged(session: Session, row: _Stored, stored: Order, merged: Order, now: datetime) -> Outcome:
    """Store ``merged`` (a part merged into ``stored``) over its row, or STALE when nothing changed; the row's
    platform time is not moved by a part, only kept from going back."""
    if merged == stored:
        return Outcome.STALE
    values = _order_values(merged, now)
    values["platform_updated_at"] = max(row.platform_updated_at, stored.updated_at)
    _update_order(session, row.id, values)
    return Outcome.APPLIED


def store_order(session: Session, order: Order, now: datetime) -> Outcome:
    """Merge a snapshot into the stored order (or create it, with any events that waited for it)."""
    row = _order_row(session, order.shop_id, order.external_id)
    if row is None:
        pending = (
            session.connection()
            .execute(_statement(session, "pending"), {"shop_id": order.shop_id, "external_id": order.external_id})
            .all()
        )
        merged = derive_status(order)
        deletions = []
        for _, data in pending:
            event = codec.load_event(data)
            if event.kind is EventKind.ORDER_DELETED:
                deletions.append(event.occurred_at)
            merged = _apply_part(merged, event, event_first=True)
        if pending:
            session.execute(delete(PendingEvent).where(PendingEvent.id.in_([p[0] for p in pending])))
        values = _order_values(merged, now)
        values.update(shop_id=order.shop_id, external_id=order.external_id, deleted=False)
        # a deletion that came first: undated ones apply to this version, dated ones if not older than it
        for moment in deletions:
            if moment <= _EPOCH or moment >= merged.updated_at:
                values["deleted"] = True
                values["platform_updated_at"] = max(values["platform_updated_at"], moment)
        session.connection().execute(_statement(session, "insert_order"), values)
        return Outcome.APPLIED
    stored = codec.load_order(row.data)
    merged = merge_orders(stored, order)
    undelete = row.deleted and order.updated_at > row.platform_updated_at
    if merged == stored and not undelete:
        return Outcome.STALE
    values = _order_values(merged, now)
    # never move the row's time back: a dated deletion may be newer than the snapshot that follows it
    values["platform_updated_at"] = max(row.platform_updated_at, merged.updated_at)
    if undelete:
        values["deleted"] = False
    _update_order(session, row.id, values)
    return Outcome.APPLIED


def _wait_for_order(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> Outcome:
    """Keep an event whose order has not arrived yet; ``store_order`` applies it when the order comes."""
    assert event.order_external_id
    session.add(
        PendingEvent(
            shop_id=shop.id,
            order_external_id=event.order_external_id,
            event=codec.dump_event(event),
            received_at=now,
        )
    )
    return Outcome.PENDING


def _store_part(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> Outcome:
    assert event.order_external_id, "a part event names its order"
    row = _order_row(session, shop.id, event.order_external_id)
    if row is None:
        return _wait_for_order(session, shop, event, now)
    stored = codec.load_order(row.data)
    merged = _apply_part(stored, event)
    return _save_merged(session, row, stored, merged, now)


# --- carrier events (connector.carriers) ---------------------------------------------------------


def merge_carrier_shipment(
    session: Session, shop_id: str, order_external_id: str, part: Shipment, now: datetime
) -> Outcome:
    """A carrier source's news about one parcel (``part``: the order's shipment id with the new events, or a new
    shipment the source told us about) merged like a platform's carrier scan; the caller matched the order."""
    row = _order_row(session, shop_id, order_external_id)
    if row is None:
        raise LookupError(f"order {order_external_id!r} of shop {shop_id!r} is not stored")
    stored = codec.load_order(row.data)
    merged = derive_status(stored.with_changes(shipments=union_shipments(stored.shipments, (part,))))
    return _save_merged(session, row, stored, merged, now)


def _store_snapshot(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> Outcome:
    assert event.order is not None, "an ORDER event carries its order"
    if event.order.shop_id != shop.id:
        raise ValueError(f"event for shop {event.order.shop_id!r} delivered to {shop.id!r}")
    return store_order(session, event.order, now)


def _store_deleted(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> Outcome:
    assert event.order_external_id
    row = _order_row(session, shop.id, event.order_external_id)
    # a deletion without a time of its own (WooCommerce sends only the id; dated at the epoch) applies to
    # the version we hold, so a later restore with a newer update timestamp undeletes it
    undated = event.occurred_at <= _EPOCH
    if row is None:  # the order has not arrived yet: the deletion waits for it, like a shipment event
        return _wait_for_order(session, shop, event, now)
    if row.deleted or (not undated and event.occurred_at < row.platform_updated_at):
        return Outcome.STALE
    values: dict[str, Any] = {"deleted": True, "next_check_at": now}
    if not undated:
        values["platform_updated_at"] = event.occurred_at
    session.execute(update(_ORDERS).where(_ORDERS.c.id == row.id).values(**values))
    return Outcome.APPLIED


def _shop_level(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> Outcome:
    privacy.HANDLERS[event.kind](session, shop, event, now)
    return Outcome.HANDLED


Handler = Callable[[Session, Shop, OrderEvent, datetime], Outcome]

HANDLERS: dict[EventKind, Handler] = {
    EventKind.ORDER: _store_snapshot,
    EventKind.ORDER_DELETED: _store_deleted,
    EventKind.SHIPMENT: _store_part,
    EventKind.SHIPMENT_EVENT: _store_part,
    EventKind.HOLD: _store_part,
    **dict.fromkeys(privacy.HANDLERS, _shop_level),  # uninstall and the compliance requests
}


def ingest(
    session: Session,
    shop: Shop,
    event: OrderEvent,
    now: datetime,
    raw: RawDelivery | None = None,
    raw_max_bytes: int = 256 * 1024,
) -> Outcome:
    """Apply one event inside the caller's transaction; a repeated delivery changes nothing."""
    receipt = {"shop_id": shop.id, "dedupe_key": event.dedupe_key[:255], "topic": event.topic[:64], "received_at": now}
    if session.connection().execute(_statement(session, "receipt"), receipt).scalar() is not None:
        outcome = HANDLERS[event.kind](session, shop, event, now)
    elif is_content_key(event.dedupe_key):
        outcome = _content_seen_before(session, shop, event, now)
        if outcome is Outcome.DUPLICATE:
            return outcome
    else:
        return Outcome.DUPLICATE
    if raw is not None and event.kind not in _NO_RAW_LOG:
        body = raw.body[:raw_max_bytes]
        session.connection().execute(
            _statement(session, "raw_event"),
            {
                "shop_id": shop.id,
                "platform": shop.platform.value,
                "topic": raw.topic[:64],
                "dedupe_key": event.dedupe_key[:255],
                "order_external_id": event.order_external_id or (event.order.external_id if event.order else None),
                "received_at": now,
                "outcome": outcome.value,
                "body": body.decode("utf-8", errors="replace"),
                "body_bytes": len(raw.body),
                "truncated": len(raw.body) > raw_max_bytes,
            },
        )
    if outcome is Outcome.APPLIED:
        announce(session)  # the order is due now: the worker decides on it at once
    return outcome


_SEEN_AGAIN = frozenset({EventKind.ORDER, EventKind.ORDER_DELETED})


def _content_seen_before(session: Session, shop: Shop, event: OrderEvent, now: datetime) -> Outcome:
    """Content we have had before is a duplicate, unless the stored order has moved away from it since.

    At one ``date_modified_gmt`` an address can be changed and changed back (the stored order now differs from
    this snapshot, which is news again), and a trash after a restore sends the body of the first trash (the
    order is live now, so the deletion applies again). A repeat whose order is not stored (it waits, or it was
    erased) stays a duplicate.
    """
    external_id = event.order_external_id or (event.order.external_id if event.order else None)
    if event.kind not in _SEEN_AGAIN or external_id is None or _order_row(session, shop.id, external_id) is None:
        return Outcome.DUPLICATE
    outcome = HANDLERS[event.kind](session, shop, event, now)
    return Outcome.DUPLICATE if outcome is Outcome.STALE else outcome


# compliance and uninstall bodies carry personal data we must not keep, and the shop may be gone
_NO_RAW_LOG = frozenset(privacy.HANDLERS)
