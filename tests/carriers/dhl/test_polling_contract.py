"""DHL over HTTP against the stand-in: detailed statuses, postcode, 404, 1 call per second (429), garbage,
and the events merged newest-first answers in the carrier's order, repeats dropped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.carriers.base import CarrierContext, Parcel, RetryableError
from connector.carriers.config import DhlSettings
from connector.carriers.dhl.client import make_client
from connector.carriers.dhl.sandbox import API_KEY, UNPUBLISHED, DhlSandbox
from connector.carriers.ingest import receive
from connector.model import OrderStatus, Platform, ShipmentStatus
from connector.store.db import transaction
from tests.builders import order, shipment
from tests.carriers.support import SimClock, World, served

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NUMBER = "JVGL06048524783718330083"
CONTEXT = CarrierContext(shop_id="fietsen", timezone="Europe/Amsterdam", received_at=NOW)


@pytest.fixture
def dhl() -> Iterator[tuple[DhlSandbox, SimClock, str]]:
    clock = SimClock(NOW)
    box = DhlSandbox(clock)
    box.add_parcel(NUMBER, "1234AB")
    with box.serve() as server:
        yield box, clock, server.url


def _client(url: str) -> object:
    return make_client(DhlSettings(api_key=API_KEY, api_base_url=url))


def test_detailed_statuses_decide_and_unknown_ones_fall_back(dhl: tuple[DhlSandbox, SimClock, str]) -> None:
    box, _clock, url = dhl
    for minutes, status in enumerate(
        ["PARCEL_SORTED_AT_HUB", "OUT_FOR_DELIVERY", "NOT_HOME", "DELIVERED_AT_PARCELSHOP", UNPUBLISHED]
    ):
        box.move(NUMBER, status, NOW - timedelta(hours=5 - minutes))
    events = make_client(DhlSettings(api_key=API_KEY, api_base_url=url)).track(
        [Parcel("dhl", NUMBER, postcode="1234AB")], CONTEXT
    )
    assert [(e.event.status, e.event.sub_status) for e in sorted(events, key=lambda e: e.event.happened_at)] == [
        (ShipmentStatus.IN_TRANSIT, "sorted"),
        (ShipmentStatus.OUT_FOR_DELIVERY, None),
        (ShipmentStatus.ATTEMPTED_DELIVERY, "not_home"),
        (ShipmentStatus.READY_FOR_PICKUP, "pickup_point"),
        (ShipmentStatus.IN_TRANSIT, None),  # an unpublished code under the coarse "transit"
    ]
    assert events[0].event.raw_code == f"transit/{UNPUBLISHED}"


def test_a_wrong_postcode_or_unknown_number_finds_nothing(dhl: tuple[DhlSandbox, SimClock, str]) -> None:
    box, clock, url = dhl
    box.move(NUMBER, "OUT_FOR_DELIVERY", NOW)
    client = make_client(DhlSettings(api_key=API_KEY, api_base_url=url))
    assert client.track([Parcel("dhl", NUMBER, postcode="9999ZZ")], CONTEXT) == ()
    clock.advance(seconds=1)
    assert client.track([Parcel("dhl", "JVGL000", postcode="1234AB")], CONTEXT) == ()


def test_a_second_call_within_a_second_is_429_with_retry_after(dhl: tuple[DhlSandbox, SimClock, str]) -> None:
    box, clock, url = dhl
    box.move(NUMBER, "OUT_FOR_DELIVERY", NOW)
    client = make_client(DhlSettings(api_key=API_KEY, api_base_url=url))
    client.track([Parcel("dhl", NUMBER)], CONTEXT)
    with pytest.raises(RetryableError) as refused:
        client.track([Parcel("dhl", NUMBER)], CONTEXT)
    assert (refused.value.status, refused.value.retry_after) == (429, 1.0)
    clock.advance(seconds=1)
    assert len(client.track([Parcel("dhl", NUMBER)], CONTEXT)) == 1


def test_garbage_is_retryable(dhl: tuple[DhlSandbox, SimClock, str]) -> None:
    box, _, url = dhl
    box.garbage = True
    with pytest.raises(RetryableError, match="not JSON"):
        make_client(DhlSettings(api_key=API_KEY, api_base_url=url)).track([Parcel("dhl", NUMBER)], CONTEXT)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with served(db_url, {"dhl": {"api_key": API_KEY}}, NOW) as w:
        yield w


def test_reads_merge_in_carrier_order_and_a_repeat_is_dropped(
    world: World, dhl: tuple[DhlSandbox, SimClock, str]
) -> None:
    box, clock, url = dhl
    world.store(
        order(
            "7001",
            shop_id="theewinkel",
            platform=Platform.WOOCOMMERCE,
            status=OrderStatus.SHIPPED,
            shipments=(shipment("wc-1", carrier="DHL", tracking_number=NUMBER, status=ShipmentStatus.UNKNOWN),),
        )
    )
    box.move(NUMBER, "DELIVERED", NOW - timedelta(hours=1))
    box.move(NUMBER, "OUT_FOR_DELIVERY", NOW - timedelta(hours=4))
    client = make_client(DhlSettings(api_key=API_KEY, api_base_url=url))
    context = CarrierContext(shop_id="theewinkel", timezone="Europe/Amsterdam", received_at=NOW)
    parcel = Parcel("dhl", NUMBER, postcode="1234AB")
    with transaction(world.services.sessions) as session:
        first = receive(session, "theewinkel", client.track([parcel], context), NOW, unmatched_days=14)
    clock.advance(seconds=1)
    with transaction(world.services.sessions) as session:
        again = receive(session, "theewinkel", client.track([parcel], context), NOW, unmatched_days=14)
    assert ([o.value for o in first], [o.value for o in again]) == (["applied", "applied"], ["duplicate", "duplicate"])
    stored = world.order("7001")
    assert stored.shipments[0].current_status is ShipmentStatus.DELIVERED
    assert stored.status is OrderStatus.DELIVERED
