"""MyParcel over HTTP: the webhook from the stand-in (authorisation, several hooks, duplicates, no time), then the
batched ``/tracktraces`` read that fills in the details (429 with Retry-After, garbage, local times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connector.carriers.base import CarrierContext, Parcel, RetryableError
from connector.carriers.config import MyParcelSettings
from connector.carriers.ingest import details_due, receive
from connector.carriers.myparcel.client import make_client
from connector.carriers.myparcel.sandbox import API_KEY, UNPUBLISHED, MyParcelSandbox
from connector.model import Order, ShipmentStatus
from connector.store.db import transaction
from tests.carriers.support import World, order_with_parcel, world_fixture

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
BARCODE = "3SMYPA749883621"
CONFIG = {"myparcel": {"api_key": API_KEY}}


world = world_fixture(CONFIG, NOW)


def shipped_order(external_id: str = "6001", **changes: Any) -> Order:
    return order_with_parcel(external_id, BARCODE, **changes)


@pytest.fixture
def sandbox(world: World) -> MyParcelSandbox:
    box = MyParcelSandbox(world.clock)
    box.add_shipment(BARCODE)
    return box


def test_a_hook_is_merged_dated_by_its_receipt(world: World, sandbox: MyParcelSandbox) -> None:
    world.store(shipped_order())
    shipment_id = sandbox.shipments["25482400"].id
    response = sandbox.deliver(world.carrier_url("myparcel"), sandbox.webhook((shipment_id, 5)))
    assert (response.status_code, response.json()["outcomes"]) == (200, ["applied"])
    (event,) = world.order("6001").shipments[0].events
    assert (event.status, event.happened_at, event.raw_code) == (ShipmentStatus.OUT_FOR_DELIVERY, NOW, "5")
    with world.services.sessions() as session:
        assert [p.parcel_id for p in details_due(session, "theewinkel", "myparcel")] == [str(shipment_id)]


@pytest.mark.parametrize("key", ["another-key", ""])
def test_a_wrong_authorisation_is_401_and_stores_nothing(world: World, sandbox: MyParcelSandbox, key: str) -> None:
    world.store(shipped_order())
    body = sandbox.webhook((25482400, 7))
    headers = sandbox.headers(api_key=key or "x")
    if not key:
        del headers["X-MyParcel-Authorization"]
    response = requests.post(world.carrier_url("myparcel"), data=body, headers=headers, timeout=10)
    assert response.status_code == 401
    assert world.count() == 0
    assert world.order("6001").shipments[0].events == ()


def test_a_repeated_hook_is_a_duplicate_even_when_it_comes_later(world: World, sandbox: MyParcelSandbox) -> None:
    world.store(shipped_order())
    body = sandbox.webhook((25482400, 4))
    assert sandbox.deliver(world.carrier_url("myparcel"), body).json()["outcomes"] == ["applied"]
    world.clock.advance(minutes=30)
    assert sandbox.deliver(world.carrier_url("myparcel"), body).json()["outcomes"] == ["duplicate"]
    assert len(world.order("6001").shipments[0].events) == 1


def test_several_hooks_in_one_delivery_and_an_unknown_parcel(world: World, sandbox: MyParcelSandbox) -> None:
    world.store(shipped_order())
    other = sandbox.add_shipment("3SMYPA000000001")
    body = sandbox.webhook((25482400, 3), (other.id, UNPUBLISHED))
    response = sandbox.deliver(world.carrier_url("myparcel"), body)
    assert response.json()["outcomes"] == ["applied", "unmatched"]
    assert world.metric("myparcel", "unmatched") == 1
    rows = world.carrier_rows()
    assert [(r.parcel_id, r.order_external_id) for r in rows] == [("25482400", "6001"), (str(other.id), None)]


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"data": {"hooks": []}}',
        b'{"data": {"hooks": [{"shipment_id": 1}]}}',
        b'{"data": {"hooks": [{"shipment_id": 1, "status": "x"}]}}',
    ],
)
def test_malformed_hooks_are_400(world: World, sandbox: MyParcelSandbox, body: bytes) -> None:
    response = requests.post(world.carrier_url("myparcel"), data=body, headers=sandbox.headers(), timeout=10)
    assert response.status_code == 400
    assert world.count() == 0


# --- the read that fills in the details ------------------------------------------------------------


def _client(sandbox_url: str) -> Any:
    return make_client(MyParcelSettings(api_key=API_KEY, api_base_url=sandbox_url))


def _context(now: datetime) -> CarrierContext:
    return CarrierContext(shop_id="theewinkel", timezone="Europe/Amsterdam", received_at=now)


def test_the_read_gives_the_carriers_local_time_window_and_delay(world: World, sandbox: MyParcelSandbox) -> None:
    world.store(shipped_order())
    sandbox.deliver(world.carrier_url("myparcel"), sandbox.webhook((25482400, 4)))
    scanned = NOW - timedelta(minutes=40)
    sandbox.move(25482400, 4, scanned)
    sandbox.shipments["25482400"].delayed = True
    sandbox.shipments["25482400"].window = (NOW + timedelta(days=1, hours=6), NOW + timedelta(days=1, hours=8))
    with sandbox.serve() as server:
        events = _client(server.url).track([Parcel("myparcel", BARCODE, "25482400")], _context(NOW))
    (found,) = events
    assert found.event.happened_at == scanned  # "09:20:00" in Amsterdam, sent without an offset
    assert (found.event.status, found.event.raw_code) == (ShipmentStatus.DELAYED, "4:J01")
    assert found.event.estimated_delivery_at == NOW + timedelta(days=1, hours=6)
    assert found.expected_delivery_end == NOW + timedelta(days=1, hours=8)
    with transaction(world.services.sessions) as session:
        assert [o.value for o in receive(session, "theewinkel", events, NOW, unmatched_days=14)] == ["applied"]
    with world.services.sessions() as session:
        assert details_due(session, "theewinkel", "myparcel") == []
    assert world.order("6001").shipments[0].current_status is ShipmentStatus.DELAYED


def test_reads_are_batched_and_the_101st_call_in_5_minutes_gets_429(world: World, sandbox: MyParcelSandbox) -> None:
    for n in range(3):
        sandbox.move(sandbox.add_shipment(f"3SMYPA00000001{n}").id, 3, NOW - timedelta(hours=1))
    parcels = [Parcel("myparcel", s.barcode, str(s.id)) for s in sandbox.shipments.values()]
    with sandbox.serve() as server:
        client = _client(server.url)
        assert len(client.track(parcels, _context(NOW))) == 3  # one call for all of them
        for _ in range(99):
            client.track(parcels[:1], _context(NOW))
        with pytest.raises(RetryableError) as refused:
            client.track(parcels[:1], _context(NOW))
    assert refused.value.status == 429
    assert refused.value.retry_after == 300  # the refused call counts: wait the whole window
    assert sandbox.window.violations == 1


def test_garbage_is_retryable_and_changes_nothing(world: World, sandbox: MyParcelSandbox) -> None:
    sandbox.move(25482400, 7, NOW)
    sandbox.garbage = True
    with sandbox.serve() as server, pytest.raises(RetryableError, match="not JSON"):
        _client(server.url).track([Parcel("myparcel", BARCODE, "25482400")], _context(NOW))
    assert world.count() == 0
