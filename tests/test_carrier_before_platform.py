"""A tracking source that speaks before the shop does: its parcel becomes the shop's shipment of the same number,
a tracking number without a status does not hide the carrier's news, and events for an order not yet stored
wait and then join it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.carriers.poller import Poller
from connector.carriers.sendcloud.sandbox import SECRET_KEY, SendcloudSandbox
from connector.ingest import union_shipments
from connector.model import Shipment, ShipmentEvent, ShipmentStatus
from tests.carriers.support import SimClock, World, order_with_parcel, served

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NUMBER = "3SDEMO000F"


def scan(status: ShipmentStatus, at: datetime, name: str) -> ShipmentEvent:
    return ShipmentEvent(name, status, at, source="sendcloud", physical_scan=True)


STUB = Shipment(
    "sendcloud:3SDEMO000F",
    carrier="PostNL",
    tracking_number=NUMBER,
    events=(scan(ShipmentStatus.DELIVERED, NOW, "sc-2"),),
)
PLATFORM = Shipment(
    "wc-1", ShipmentStatus.UNKNOWN, carrier="PostNL", tracking_number="3sdemo000f", updated_at=NOW + timedelta(hours=1)
)


@pytest.mark.parametrize("first_the_source", [True, False])
def test_a_sources_parcel_becomes_the_shops_shipment_of_that_number_whichever_came_first(
    first_the_source: bool,
) -> None:
    a, b = ((STUB,), (PLATFORM,)) if first_the_source else ((PLATFORM,), (STUB,))
    (merged,) = union_shipments(a, b)
    assert (merged.external_id, merged.tracking_number) == ("wc-1", "3sdemo000f")
    assert merged.updated_at == PLATFORM.updated_at
    assert [e.external_id for e in merged.events] == ["sc-2"]
    # the shop knows only the number: the carrier's newer-dated silence does not undo "delivered"
    assert merged.current_status is ShipmentStatus.DELIVERED


def test_another_number_stays_its_own_parcel() -> None:
    other = Shipment("sendcloud:3SOTHER", tracking_number="3SOTHER", events=STUB.events)
    assert [s.external_id for s in union_shipments((PLATFORM,), (other,))] == ["sendcloud:3SOTHER", "wc-1"]


def test_a_platform_status_newer_than_the_scan_still_wins() -> None:
    known = Shipment("wc-1", ShipmentStatus.IN_TRANSIT, tracking_number=NUMBER, updated_at=NOW + timedelta(hours=1))
    (merged,) = union_shipments((known,), (STUB,))
    assert merged.current_status is ShipmentStatus.IN_TRANSIT  # the record is newer and says something


@pytest.fixture
def world(db_url: str) -> Iterator[tuple[World, SendcloudSandbox]]:
    box = SendcloudSandbox(SimClock(NOW))
    carriers = {"sendcloud": {"public_key": "sandbox-public-key", "secret_key": SECRET_KEY}}
    with served(db_url, carriers, NOW) as w:
        box.clock = w.clock
        yield w, box


def test_an_event_for_an_order_not_stored_yet_joins_it_at_the_next_round(
    world: tuple[World, SendcloudSandbox],
) -> None:
    w, box = world
    # given Sendcloud's scan for a parcel whose order ordercare has not heard of
    box.add_parcel(NUMBER, order_number="5013", postal_code="1234 AB")
    body = box.webhook(NUMBER, 5, NOW)
    answer = box.deliver(w.carrier_url("sendcloud"), body)
    assert answer.json()["outcomes"] == ["unmatched"]
    # when the shop's order arrives with the tracking number, and the worker's round runs
    w.store(order_with_parcel("5013", NUMBER, number="5013"))
    assert w.order("5013").shipments[0].events == ()
    report = Poller(w.services).run(w.clock.advance(minutes=1))
    # then the scan is on the shop's shipment, once
    assert (report.rematched, report.dropped) == (1, 0)
    (parcel,) = w.order("5013").shipments
    assert [(e.status, e.source) for e in parcel.events] == [(ShipmentStatus.IN_TRANSIT, "sendcloud")]
    assert Poller(w.services).run(w.clock.advance(minutes=1)).rematched == 0
