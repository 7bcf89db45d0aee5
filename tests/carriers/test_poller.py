"""The worker's polled reads over HTTP against the DHL stand-in: a due parcel is read once and its scan reaches
the order; not again before its cadence, not at night, not for a parcel another carrier carries; a 429 backs off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.carriers.dhl.sandbox import API_KEY, DhlSandbox
from connector.carriers.poller import Poller
from connector.model import ShipmentStatus
from tests.builders import shipment
from tests.carriers.support import SimClock, World, order_with_parcel, served

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
NUMBER = "JVGL06048524783718330083"


@pytest.fixture
def world(db_url: str) -> Iterator[tuple[World, DhlSandbox]]:
    box = DhlSandbox(SimClock(NOW))
    with box.serve() as server, served(db_url, {"dhl": {"api_key": API_KEY, "api_base_url": server.url}}, NOW) as w:
        box.clock = w.clock
        box.add_parcel(NUMBER, "1234AB")
        yield w, box


def dhl_order(external_id: str = "5001", number: str = NUMBER, carrier: str = "DHL") -> object:
    parcel = shipment(
        "wc-1",
        carrier=carrier,
        tracking_number=number,
        status=ShipmentStatus.UNKNOWN,
        shipped_at=NOW - timedelta(days=1),
    )
    return order_with_parcel(external_id, number, shipments=(parcel,))


def test_a_due_parcel_is_read_once_and_its_scan_reaches_the_order(world: tuple[World, DhlSandbox]) -> None:
    w, box = world
    w.store(dhl_order())  # type: ignore[arg-type]
    box.move(NUMBER, "PARCEL_SORTED_AT_HUB", NOW - timedelta(hours=2))
    poller = Poller(w.services)
    report = poller.run(NOW)
    assert (report.reads, report.events, report.refused) == (1, {"applied": 1}, [])
    assert box.requests == 1
    (parcel,) = w.order("5001").shipments
    assert [(e.status, e.source) for e in parcel.events] == [(ShipmentStatus.IN_TRANSIT, "dhl")]
    # within its cadence (in transit: 3 hours) nothing is read again
    w.clock.advance(hours=2, minutes=59)
    assert poller.run(w.clock()).reads == 0
    w.clock.advance(minutes=1)
    assert poller.run(w.clock()).reads == 1
    assert box.requests == 2
    assert box.window.violations == 0


def test_nothing_is_read_at_night(world: tuple[World, DhlSandbox]) -> None:
    w, box = world
    w.store(dhl_order())  # type: ignore[arg-type]
    box.move(NUMBER, "PARCEL_SORTED_AT_HUB", NOW - timedelta(hours=2))
    night = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)  # 22:30 in Amsterdam
    assert Poller(w.services).run(night).reads == 0
    assert box.requests == 0
    w.clock.now = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # 06:00
    assert Poller(w.services).run(w.clock()).reads == 1


def test_a_parcel_dhl_does_not_carry_or_without_a_postcode_is_not_read(world: tuple[World, DhlSandbox]) -> None:
    w, box = world
    w.store(dhl_order("5001", "3SABCD1234567", carrier="PostNL"))  # type: ignore[arg-type]
    assert Poller(w.services).run(NOW).reads == 0
    assert box.requests == 0


def test_a_refusal_backs_off_and_reads_again_later(world: tuple[World, DhlSandbox]) -> None:
    w, box = world
    w.store(dhl_order())  # type: ignore[arg-type]
    box.move(NUMBER, "PARCEL_SORTED_AT_HUB", NOW - timedelta(hours=2))
    box.garbage = True
    poller = Poller(w.services)
    report = poller.run(NOW)
    assert report.reads == 0
    (refused,) = report.refused
    assert refused.startswith("theewinkel/dhl: ")
    assert box.requests == 1
    # backed off (5 minutes and jitter): nothing in the next minute, then a read that works
    box.garbage = False
    assert poller.run(w.clock.advance(minutes=1)).reads == 0
    assert box.requests == 1
    assert poller.run(w.clock.advance(minutes=9)).reads == 1
