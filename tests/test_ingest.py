"""Ingest: dedupe, newer wins, parts before their order, deletes, and convergence under any order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from connector import codec
from connector.config import Settings
from connector.ingest import Outcome, RawDelivery, ingest, merge_orders
from connector.model import EventKind, Hold, HoldCheck, Order, OrderEvent, OrderStatus, ShipmentStatus
from connector.platforms.base import content_key
from connector.services import Services
from connector.store.db import make_engine, session_factory, transaction
from connector.store.tables import OrderRow, PendingEvent, RawEvent, WebhookReceipt
from tests.builders import T0, order, order_event, scan, shipment


def stored(sessions: sessionmaker[Session], external_id: str = "1001") -> OrderRow:
    with sessions() as session:
        return session.scalars(select(OrderRow).where(OrderRow.external_id == external_id)).one()


def apply(services: Services, event: OrderEvent, now: datetime, body: bytes = b"{}") -> Outcome:
    shop = services.shops.get("fietsen")
    assert shop is not None
    with transaction(services.sessions) as session:
        return ingest(session, shop, event, now, RawDelivery(event.topic, body), raw_max_bytes=8)


def build(settings: Settings, now: datetime) -> Services:
    return Services.build(settings, clock=lambda: now)


def test_first_delivery_is_stored_and_due_now(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    assert apply(services, order_event(order()), now, b"0123456789abc") is Outcome.APPLIED
    row = stored(services.sessions)
    assert row.status == "paid"
    assert row.next_check_at == now
    assert row.customer_email == "sanne@example.nl"
    assert codec.load_order(row.data) == order()
    with services.sessions() as session:
        raw = session.scalars(select(RawEvent)).one()
    assert (raw.outcome, raw.body, raw.body_bytes, raw.truncated) == ("applied", "01234567", 13, True)


def test_repeated_delivery_is_a_duplicate(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    event = order_event(order(), key="webhook-1")
    assert apply(services, event, now) is Outcome.APPLIED
    assert apply(services, event, now + timedelta(minutes=1)) is Outcome.DUPLICATE
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookReceipt)) == 1
        assert session.scalar(select(func.count()).select_from(RawEvent)) == 1
    assert stored(services.sessions).next_check_at == now


def test_older_snapshot_changes_nothing(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    newer = order(updated=T0 + timedelta(hours=2), status=OrderStatus.SHIPPED, platform_status="paid/fulfilled")
    older = order(updated=T0 + timedelta(hours=1))
    assert apply(services, order_event(newer), now) is Outcome.APPLIED
    assert apply(services, order_event(older), now + timedelta(minutes=5)) is Outcome.STALE
    row = stored(services.sessions)
    assert row.status == "shipped"
    assert row.next_check_at == now


SECOND = timedelta(seconds=1)
AT = T0 + timedelta(hours=1)
UNSHIPPED: dict[str, Any] = {"status": OrderStatus.PAID, "platform_status": "paid/unfulfilled"}
SHIPPED: dict[str, Any] = {"status": OrderStatus.SHIPPED, "platform_status": "paid/fulfilled"}


def _status(services: Services) -> tuple[str, str]:
    row = stored(services.sessions)
    return row.status, row.platform_status


def test_one_second_older_snapshot_loses_even_if_its_tie_break_would_win(settings: Settings, now: datetime) -> None:
    """The timestamp decides before the tie-break: "paid/unfulfilled" sorts after "paid/fulfilled"."""
    services = build(settings, now)
    assert apply(services, order_event(order(updated=AT, **SHIPPED)), now) is Outcome.APPLIED
    older = order_event(order(updated=AT - SECOND, **UNSHIPPED))
    assert apply(services, older, now + timedelta(minutes=5)) is Outcome.STALE
    assert _status(services) == ("shipped", "paid/fulfilled")
    assert stored(services.sessions).platform_updated_at == AT
    assert stored(services.sessions).next_check_at == now  # nothing changed, nothing to re-check


def test_one_second_newer_snapshot_wins_even_if_its_tie_break_would_lose(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    assert apply(services, order_event(order(updated=AT, **UNSHIPPED)), now) is Outcome.APPLIED
    newer = order_event(order(updated=AT + SECOND, **SHIPPED))
    assert apply(services, newer, now + timedelta(minutes=5)) is Outcome.APPLIED
    assert _status(services) == ("shipped", "paid/fulfilled")
    assert stored(services.sessions).platform_updated_at == AT + SECOND
    assert stored(services.sessions).next_check_at == now + timedelta(minutes=5)


@pytest.mark.parametrize("unshipped_first", [True, False], ids=["unshipped-first", "shipped-first"])
def test_equal_timestamps_different_content_the_later_arrival_wins(
    settings: Settings, now: datetime, unshipped_first: bool
) -> None:
    """Same ``updated_at``, different content: the delivery that arrived later wins, whichever it is.

    WooCommerce with the legacy post storage sends real changes (an address fixed over REST, a carrier status
    saved as meta) with an unchanged ``date_modified_gmt`` and builds each body when it sends it, so the later
    arrival is the later state. The rule before this was arbitrary: the greater (platform_status, content)
    won whatever arrived first, so "paid/unfulfilled" beat "paid/fulfilled" and the shipped version, arriving
    second, was answered stale and dropped (the unshipped-first case failed here)."""
    unshipped, shipped = order(updated=AT, note="a", **UNSHIPPED), order(updated=AT, note="z", **SHIPPED)
    first, second = (unshipped, shipped) if unshipped_first else (shipped, unshipped)
    assert merge_orders(first, second) == second
    assert merge_orders(second, first) == first
    services = build(settings, now)
    assert apply(services, order_event(first, key="a"), now) is Outcome.APPLIED
    assert apply(services, order_event(second, key="b"), now + timedelta(minutes=1)) is Outcome.APPLIED
    assert codec.load_order(stored(services.sessions).data) == second
    assert _status(services) == (second.status.value, second.platform_status)
    assert stored(services.sessions).next_check_at == now + timedelta(minutes=1)


def test_equal_timestamps_same_content_is_stale_and_a_repeated_delivery_id_a_duplicate(
    settings: Settings, now: datetime
) -> None:
    """At one timestamp: different content applies (the later arrival, note "a", wins; before, b's canonical
    JSON sorted after a's and a was answered stale), the same content under a new delivery id (a separately
    triggered send of the same version) changes nothing, and a delivery id seen before is a duplicate."""
    a, b = order(updated=AT, note="a"), order(updated=AT, note="b")
    services = build(settings, now)
    assert apply(services, order_event(b, key="b"), now) is Outcome.APPLIED
    assert apply(services, order_event(a, key="a"), now + timedelta(minutes=1)) is Outcome.APPLIED
    assert apply(services, order_event(a, key="a-again"), now + timedelta(minutes=2)) is Outcome.STALE
    assert apply(services, order_event(a, key="a"), now + timedelta(minutes=3)) is Outcome.DUPLICATE
    row = stored(services.sessions)
    assert codec.load_order(row.data).note == "a"
    assert row.next_check_at == now + timedelta(minutes=1)


def test_a_delivery_id_seen_before_stays_a_duplicate_even_when_its_content_would_be_news(
    settings: Settings, now: datetime
) -> None:
    """Shopify's dedupe does not change: a retry under a webhook id we have (A after B, at one timestamp) is
    dropped, where a WooCommerce content key would be news again (see the content-key tests below)."""
    a, b = order(updated=AT, note="a"), order(updated=AT, note="b")
    services = build(settings, now)
    assert apply(services, order_event(a, key="webhook-a"), now) is Outcome.APPLIED
    assert apply(services, order_event(b, key="webhook-b"), now) is Outcome.APPLIED
    assert apply(services, order_event(a, key="webhook-a"), now + timedelta(minutes=1)) is Outcome.DUPLICATE
    assert codec.load_order(stored(services.sessions).data).note == "b"


# --- content keys (WooCommerce: a fresh delivery id on every attempt) --------------------------------


def keyed(o: Order) -> OrderEvent:
    """The event as WooCommerce's adapter keys it: by what it carries (the note stands in for the digest)."""
    return order_event(o, key=content_key(o.external_id, o.updated_at.isoformat(), o.note or ""))


def test_content_seen_before_is_a_duplicate_while_the_stored_order_carries_it(
    settings: Settings, now: datetime
) -> None:
    services = build(settings, now)
    a = order(updated=AT, note="a")
    assert apply(services, keyed(a), now) is Outcome.APPLIED
    assert apply(services, keyed(a), now + timedelta(minutes=1)) is Outcome.DUPLICATE
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookReceipt)) == 1
        assert session.scalar(select(func.count()).select_from(RawEvent)) == 1
    assert stored(services.sessions).next_check_at == now


def test_content_seen_before_is_news_again_once_the_stored_order_moved_away_from_it(
    settings: Settings, now: datetime
) -> None:
    """A, B, A at one timestamp (an address changed and changed back over REST): the third is applied.
    Before, a key seen once was a duplicate for good and the order kept B."""
    services = build(settings, now)
    a, b = order(updated=AT, note="a"), order(updated=AT, note="b")
    assert apply(services, keyed(a), now) is Outcome.APPLIED
    assert apply(services, keyed(b), now + timedelta(minutes=1)) is Outcome.APPLIED
    assert apply(services, keyed(a), now + timedelta(minutes=2)) is Outcome.APPLIED
    row = stored(services.sessions)
    assert codec.load_order(row.data).note == "a"
    assert row.next_check_at == now + timedelta(minutes=2)


def test_content_keys_older_is_stale_and_an_older_repeat_a_duplicate(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    older, newer = order(updated=AT - SECOND, note="a"), order(updated=AT, note="b")
    assert apply(services, keyed(older), now) is Outcome.APPLIED
    assert apply(services, keyed(newer), now) is Outcome.APPLIED
    assert apply(services, order_event(older, key=content_key("1001", "other")), now) is Outcome.STALE
    assert apply(services, keyed(older), now) is Outcome.DUPLICATE
    assert codec.load_order(stored(services.sessions).data).note == "b"


def deletion(key: str) -> OrderEvent:
    """WooCommerce's ``order.deleted``: only the id, so no time of its own."""
    return OrderEvent(EventKind.ORDER_DELETED, "order.deleted", key, datetime(1970, 1, 1, tzinfo=UTC), "1001")


def test_a_second_trash_after_a_restore_applies_and_a_repeat_while_trashed_is_a_duplicate(
    settings: Settings, now: datetime
) -> None:
    """Every trash sends the same body, so the deletion state decides: deleted flips each time. Before, the
    second trash was a duplicate of the first (key ``N:deleted``) and the order stayed live."""
    services = build(settings, now)
    apply(services, keyed(order()), now)
    trash = deletion(content_key("1001", "deleted"))
    assert apply(services, trash, now) is Outcome.APPLIED
    assert apply(services, trash, now) is Outcome.DUPLICATE
    assert stored(services.sessions).deleted is True
    assert apply(services, keyed(order(updated=T0 + timedelta(hours=1))), now) is Outcome.APPLIED  # restored
    assert stored(services.sessions).deleted is False
    assert apply(services, trash, now + timedelta(minutes=1)) is Outcome.APPLIED
    assert stored(services.sessions).deleted is True
    assert stored(services.sessions).next_check_at == now + timedelta(minutes=1)


def test_a_repeated_deletion_of_an_order_we_do_not_have_waits_once(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    trash = deletion(content_key("1001", "deleted"))
    assert apply(services, trash, now) is Outcome.PENDING
    assert apply(services, trash, now) is Outcome.DUPLICATE
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PendingEvent)) == 1


def test_a_repeated_delivery_key_deletion_stays_a_duplicate(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    apply(services, order_event(order()), now)
    trash = deletion("1001:deleted")
    assert apply(services, trash, now) is Outcome.APPLIED
    apply(services, order_event(order(updated=T0 + timedelta(hours=1))), now)
    assert apply(services, trash, now) is Outcome.DUPLICATE
    assert stored(services.sessions).deleted is False


# --- parcels and holds at one timestamp ------------------------------------------------------------


DELIVERED: dict[str, Any] = {"status": ShipmentStatus.DELIVERED, "delivered_at": AT}


@pytest.mark.parametrize("delivered_first", [True, False], ids=["delivered-first", "in-transit-first"])
def test_at_one_timestamp_a_delivered_parcel_stays_delivered(
    settings: Settings, now: datetime, delivered_first: bool
) -> None:
    """A tracking plugin saves "delivered" as meta, with the order's unchanged ``date_modified_gmt`` (which is
    also the parcel's timestamp): delivered wins whatever arrives first, so a late copy of the in-transit body
    cannot undo it. Before, the tie went to the canonical JSON, where the in-transit record sorts higher
    (``"delivered_at": null``), so the delivered parcel stayed in transit."""
    in_transit = order(updated=AT, status=OrderStatus.SHIPPED, shipments=(shipment(updated=AT),))
    delivered = order(updated=AT, status=OrderStatus.SHIPPED, shipments=(shipment(updated=AT, **DELIVERED),))
    first, second = (delivered, in_transit) if delivered_first else (in_transit, delivered)
    services = build(settings, now)
    assert apply(services, keyed(first.with_changes(note="1")), now) is Outcome.APPLIED
    expected = Outcome.DUPLICATE if delivered_first else Outcome.APPLIED
    assert apply(services, keyed(second.with_changes(note="1")), now) is expected
    result = codec.load_order(stored(services.sessions).data)
    assert result.status is OrderStatus.DELIVERED
    assert result.shipments[0].current_status is ShipmentStatus.DELIVERED


def test_at_one_timestamp_the_later_carrier_status_wins() -> None:
    """In transit, then a failure (meta only, one ``date_modified_gmt``): the later arrival wins. Before: the
    canonical JSON decided ("failure" < "in_transit"), so the failure was dropped."""
    in_transit = order(updated=AT, shipments=(shipment(updated=AT),))
    failed = order(updated=AT, shipments=(shipment(updated=AT, status=ShipmentStatus.FAILURE),))
    assert merge_orders(in_transit, failed).shipments[0].status is ShipmentStatus.FAILURE
    assert merge_orders(failed, in_transit).shipments[0].status is ShipmentStatus.IN_TRANSIT


def test_at_one_time_a_release_wins_then_the_later_hold() -> None:
    ours = Hold("h1", handle="ordercare", changed_at=T0)
    released = Hold("h1", handle="ordercare", released=True, changed_at=T0)
    staff = Hold("h1", handle=None, changed_at=T0)
    assert merge_orders(order(holds=(ours,)), order(holds=(released,))).active_holds == ()
    assert merge_orders(order(holds=(released,)), order(holds=(ours,))).active_holds == ()
    assert merge_orders(order(holds=(ours,)), order(holds=(staff,))).active_holds == (staff,)
    assert merge_orders(order(holds=(staff,)), order(holds=(ours,))).active_holds == (ours,)


def test_shipment_event_before_its_order_waits_and_is_applied(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    event = OrderEvent(
        kind=EventKind.SHIPMENT_EVENT,
        topic="fulfillment_events/create",
        dedupe_key="fe-1",
        occurred_at=T0 + timedelta(hours=8),
        order_external_id="1001",
        shipment_id="s1",
        shipment_event=scan("e1", T0 + timedelta(hours=8), ShipmentStatus.DELIVERED),
    )
    assert apply(services, event, now) is Outcome.PENDING
    shipped = order(status=OrderStatus.SHIPPED, shipments=(shipment(),))
    assert apply(services, order_event(shipped), now) is Outcome.APPLIED
    result = codec.load_order(stored(services.sessions).data)
    assert result.status is OrderStatus.DELIVERED
    assert result.shipments[0].current_status is ShipmentStatus.DELIVERED
    assert result.shipments[0].delivered_time == T0 + timedelta(hours=8)
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PendingEvent)) == 0


def test_deleted_then_restored(settings: Settings, now: datetime) -> None:
    services = build(settings, now)
    apply(services, order_event(order()), now)
    deleted = OrderEvent(EventKind.ORDER_DELETED, "order.deleted", "1001:deleted", T0 + timedelta(hours=1), "1001")
    assert apply(services, deleted, now) is Outcome.APPLIED
    assert stored(services.sessions).deleted is True
    restored = order(updated=T0 + timedelta(hours=2))
    assert apply(services, order_event(restored), now) is Outcome.APPLIED
    assert stored(services.sessions).deleted is False


def test_holds_newer_wins() -> None:
    ours = Hold("h1", handle="ordercare", changed_at=T0)
    released = Hold("h1", handle="ordercare", released=True, changed_at=T0 + timedelta(minutes=1))
    a = order(holds=(ours,))
    b = order(holds=(released,))
    assert merge_orders(a, b).active_holds == ()
    assert merge_orders(b, a).active_holds == ()


# --- convergence ---------------------------------------------------------------------------------


def _delivery_sequence(seed: int) -> list[OrderEvent]:
    """An order's life as deliveries: snapshots, a shipment, carrier scans, a hold and its release."""
    rng = random.Random(seed)
    events: list[OrderEvent] = []
    statuses = [OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.SHIPPED]
    for step, status in enumerate(statuses):
        ship = (shipment(updated=T0 + timedelta(hours=step)),) if status is OrderStatus.SHIPPED else ()
        snap = order(updated=T0 + timedelta(hours=step), status=status, shipments=ship, note=f"v{step}")
        events.append(order_event(snap, key=f"snap-{step}"))
    for n in range(rng.randint(1, 4)):
        at = T0 + timedelta(hours=4 + n)
        scan_status = ShipmentStatus.DELIVERED if n == 3 else ShipmentStatus.IN_TRANSIT
        events.append(
            OrderEvent(
                EventKind.SHIPMENT_EVENT,
                "fulfillment_events/create",
                f"scan-{n}",
                at,
                "1001",
                shipment_id="s1",
                shipment_event=scan(f"e{n}", at, scan_status),
            )
        )
    read = order(updated=T0 + timedelta(minutes=35), status=OrderStatus.PAID, note="read",
                 hold_check=HoldCheck(T0 + timedelta(minutes=35), ()))  # fmt: skip
    events.append(order_event(read, key="reconcile-read"))
    second = read.with_changes(
        updated_at=T0 + timedelta(minutes=50), hold_check=HoldCheck(T0 + timedelta(minutes=50), ("h1",))
    )
    events.append(order_event(second, key="reconcile-read-2"))
    for n, released in enumerate((False, True)):
        hold = Hold("h1", handle="ordercare", released=released, changed_at=T0 + timedelta(minutes=30 + n))
        events.append(OrderEvent(EventKind.HOLD, "fulfillment_orders/hold", f"hold-{n}", T0, "1001", hold=hold))
    return events


def _final_state(settings: Settings, events: list[OrderEvent], now: datetime) -> Any:
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.execute(delete(OrderRow))
        session.execute(delete(WebhookReceipt))
        session.execute(delete(PendingEvent))
    services = Services.build(settings, engine=engine, clock=lambda: now)
    for event in events:
        apply(services, event, now)
    data = stored(sessions).data
    engine.dispose()
    return data


@hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 1000), shuffle_seed=st.integers(0, 10**6), repeats=st.lists(st.integers(0, 20), max_size=8))
def test_any_permutation_with_repeats_converges(
    settings: Settings, now: datetime, seed: int, shuffle_seed: int, repeats: list[int]
) -> None:
    in_order = _delivery_sequence(seed)
    expected = _final_state(settings, in_order, now)
    mixed = in_order + [in_order[i % len(in_order)] for i in repeats]
    random.Random(shuffle_seed).shuffle(mixed)
    assert _final_state(settings, mixed, now) == expected
