"""Ingest: dedupe, newer wins, parts before their order, deletes, and convergence under any order."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
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
from connector.model import EventKind, Hold, HoldCheck, OrderEvent, OrderStatus, ShipmentStatus
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
def test_equal_timestamps_tie_break_on_platform_status_whatever_arrives_first(
    settings: Settings, now: datetime, unshipped_first: bool
) -> None:
    """Same ``updated_at``: the greater (platform_status, content) wins, so arrival order does not matter
    (the join stays commutative). "paid/unfulfilled" > "paid/fulfilled": the unshipped version wins, even
    though its content alone (its note) would sort first."""
    unshipped, shipped = order(updated=AT, note="a", **UNSHIPPED), order(updated=AT, note="z", **SHIPPED)
    assert merge_orders(unshipped, shipped) == merge_orders(shipped, unshipped) == unshipped
    services = build(settings, now)
    if unshipped_first:
        assert apply(services, order_event(unshipped, key="a"), now) is Outcome.APPLIED
        assert apply(services, order_event(shipped, key="b"), now) is Outcome.STALE
    else:
        assert apply(services, order_event(shipped, key="b"), now) is Outcome.APPLIED
        assert apply(services, order_event(unshipped, key="a"), now) is Outcome.APPLIED
    assert _status(services) == ("paid", "paid/unfulfilled")
    assert codec.load_order(stored(services.sessions).data) == unshipped


def test_equal_timestamp_and_status_tie_break_on_content_and_a_same_version_is_stale(
    settings: Settings, now: datetime
) -> None:
    a, b = order(updated=AT, note="a"), order(updated=AT, note="b")
    assert merge_orders(a, b) == merge_orders(b, a) == b  # the canonical JSON of b sorts after a's
    services = build(settings, now)
    assert apply(services, order_event(b, key="b"), now) is Outcome.APPLIED
    assert apply(services, order_event(a, key="a"), now + timedelta(minutes=1)) is Outcome.STALE
    assert apply(services, order_event(b, key="b-again"), now + timedelta(minutes=2)) is Outcome.STALE
    row = stored(services.sessions)
    assert codec.load_order(row.data).note == "b"
    assert row.next_check_at == now


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
