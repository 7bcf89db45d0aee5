"""Sendcloud's webhook over HTTP from the stand-in: signature, duplicates, out-of-order, unknown parcels, garbage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from connector.carriers.ingest import rematch
from connector.carriers.sendcloud.adapter import sign
from connector.carriers.sendcloud.sandbox import SECRET_KEY, UNPUBLISHED, SendcloudSandbox
from connector.model import Order, OrderStatus, ShipmentStatus
from connector.store.db import transaction
from connector.store.tables import CarrierEventRow
from tests.builders import shipment
from tests.carriers.support import World, order_with_parcel, world_fixture

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TRACKING = "3SABCD1234567"
CONFIG = {"sendcloud": {"public_key": "sandbox-public-key", "secret_key": SECRET_KEY}}


world = world_fixture(CONFIG, NOW)


def shipped_order(external_id: str = "5001", **changes: Any) -> Order:
    """A completed WooCommerce order of ``theewinkel`` whose tracking plugin wrote one PostNL number."""
    return order_with_parcel(external_id, TRACKING, **changes)


@pytest.fixture
def sandbox() -> SendcloudSandbox:
    box = SendcloudSandbox()
    box.add_parcel(TRACKING, order_number="5001", postal_code="1234 AB")
    return box


def test_the_documented_signature_vector() -> None:
    # sendcloud.dev/api/v2/webhooks: body {"key": "value"} with secret "secretkey"
    assert sign(b'{"key": "value"}', "secretkey") == "1eed4b3d41f4653ac64fd56f1bf1cbfd349e4482cbc11dff7134bd93e5da4b0a"


def test_a_signed_status_change_is_merged_into_the_order(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    at = NOW - timedelta(hours=2)
    response = sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, 92, at))
    assert (response.status_code, response.json()) == (200, {"ok": True, "outcomes": ["applied"]})
    parcel = world.order("5001").shipments[0]
    assert parcel.current_status is ShipmentStatus.OUT_FOR_DELIVERY
    (event,) = parcel.events
    assert (event.source, event.raw_code, event.physical_scan, event.happened_at) == ("sendcloud", "92", True, at)
    assert world.metric("sendcloud", "applied") == 1


def test_a_label_is_not_a_scan(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, 1000, NOW))
    (event,) = world.order("5001").shipments[0].events
    assert (event.status, event.physical_scan, event.is_scan) == (ShipmentStatus.PENDING, False, False)


@pytest.mark.parametrize("secret", ["wrong-secret", ""])
def test_bad_signature_is_401_and_stores_nothing(world: World, sandbox: SendcloudSandbox, secret: str) -> None:
    world.store(shipped_order())
    body = sandbox.webhook(TRACKING, 11, NOW)
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Sendcloud-Signature"] = sign(body, secret)
    response = requests.post(world.carrier_url("sendcloud"), data=body, headers=headers, timeout=10)
    assert response.status_code == 401
    assert world.count() == 0
    assert world.order("5001").shipments[0].events == ()


def test_a_body_changed_after_signing_is_401(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    body = sandbox.webhook(TRACKING, 8, NOW)
    headers = sandbox.headers(body)
    response = requests.post(
        world.carrier_url("sendcloud"), data=body.replace(b'"id": 8', b'"id": 11'), headers=headers, timeout=10
    )
    assert response.status_code == 401
    assert world.count() == 0


def test_a_repeated_delivery_is_stored_once(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    body = sandbox.webhook(TRACKING, 3, NOW)
    first = sandbox.deliver(world.carrier_url("sendcloud"), body).json()
    again = sandbox.deliver(world.carrier_url("sendcloud"), body).json()
    assert (first["outcomes"], again["outcomes"]) == (["applied"], ["duplicate"])
    assert world.count() == 1
    assert len(world.order("5001").shipments[0].events) == 1


def test_a_retry_sent_later_with_the_same_carrier_time_is_a_duplicate(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    at = NOW - timedelta(hours=1)
    sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, 3, at, sent_at=at))
    retry = sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, 3, at, sent_at=NOW))
    assert retry.json()["outcomes"] == ["duplicate"]


def test_out_of_order_deliveries_end_in_the_carriers_order(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    url = world.carrier_url("sendcloud")
    delivered_at, sorted_at = NOW - timedelta(hours=1), NOW - timedelta(hours=20)
    sandbox.deliver(url, sandbox.webhook(TRACKING, 11, delivered_at))
    sandbox.deliver(url, sandbox.webhook(TRACKING, 5, sorted_at))  # Sendcloud's retry of an older change
    stored = world.order("5001")
    parcel = stored.shipments[0]
    assert [e.raw_code for e in parcel.events] == ["5", "11"]
    assert parcel.current_status is ShipmentStatus.DELIVERED
    assert stored.status is OrderStatus.DELIVERED


def test_an_unpublished_status_is_unknown_with_its_code_kept(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, UNPUBLISHED, NOW))
    (event,) = world.order("5001").shipments[0].events
    assert (event.status, event.raw_code, event.sub_status) == (ShipmentStatus.UNKNOWN, str(UNPUBLISHED), None)


def test_an_unknown_parcel_is_counted_kept_and_matched_later(world: World, sandbox: SendcloudSandbox) -> None:
    sandbox.add_parcel("3SOTHER000001", order_number=None)
    response = sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook("3SOTHER000001", 91, NOW))
    assert (response.status_code, response.json()["outcomes"]) == (200, ["unmatched"])
    assert world.metric("sendcloud", "unmatched") == 1
    (row,) = world.carrier_rows()
    assert (row.order_external_id, row.expires_at) == (None, NOW + timedelta(days=14))
    # the platform tells us the tracking number a day later
    later = shipped_order("5002", shipments=(shipment("wc-9", tracking_number="3SOTHER000001"),))
    world.store(later)
    with transaction(world.services.sessions) as session:
        assert rematch(session, "theewinkel", NOW + timedelta(days=1)) == (1, 0)
    (event,) = world.order("5002").shipments[0].events
    assert event.raw_code == "91"
    assert world.carrier_rows()[0].order_external_id == "5002"


def test_an_unmatched_event_is_dropped_once_it_waited_too_long(world: World, sandbox: SendcloudSandbox) -> None:
    sandbox.add_parcel("3SOTHER000001", order_number=None)
    sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook("3SOTHER000001", 91, NOW))
    with transaction(world.services.sessions) as session:
        assert rematch(session, "theewinkel", NOW + timedelta(days=14) - timedelta(seconds=1)) == (0, 0)
    assert world.count() == 1
    with transaction(world.services.sessions) as session:
        assert rematch(session, "theewinkel", NOW + timedelta(days=14)) == (0, 1)
    assert world.count() == 0


def test_the_order_number_finds_an_order_without_tracking(world: World, sandbox: SendcloudSandbox) -> None:
    # a plain WooCommerce order: completed, no tracking meta; Sendcloud's plugin printed the label
    world.store(shipped_order(shipments=()))
    sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, 22, NOW))
    (parcel,) = world.order("5001").shipments
    assert (parcel.external_id, parcel.tracking_number, parcel.carrier) == (f"sendcloud:{TRACKING}", TRACKING, "PostNL")
    assert parcel.current_status is ShipmentStatus.CARRIER_PICKED_UP


def test_a_tracking_number_with_another_postcode_is_not_this_order(world: World, sandbox: SendcloudSandbox) -> None:
    sandbox.parcels[TRACKING].postal_code = "9999 ZZ"
    sandbox.parcels[TRACKING].order_number = None
    world.store(shipped_order())
    response = sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, 11, NOW))
    assert response.json()["outcomes"] == ["unmatched"]
    assert world.order("5001").shipments[0].events == ()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (json.dumps({"action": "parcel_status_changed", "timestamp": 1}).encode(), 400),
        (json.dumps({"action": "parcel_status_changed", "parcel": {"id": 1, "status": {}}}).encode(), 400),
        (json.dumps({"action": "integration_connected", "integration": {"id": 3}}).encode(), 200),
    ],
)
def test_malformed_bodies_are_400_and_other_actions_200(world: World, body: bytes, status: int) -> None:
    headers = {"Sendcloud-Signature": sign(body, SECRET_KEY), "Content-Type": "application/json"}
    response = requests.post(world.carrier_url("sendcloud"), data=body, headers=headers, timeout=10)
    assert response.status_code == status
    assert world.count() == 0


def test_a_shop_without_sendcloud_and_a_polling_source_are_refused(world: World, sandbox: SendcloudSandbox) -> None:
    body = sandbox.webhook(TRACKING, 11, NOW)
    assert sandbox.deliver(world.carrier_url("sendcloud", "fietsen"), body).status_code == 401
    assert sandbox.deliver(world.carrier_url("sendcloud", "nobody"), body).status_code == 401
    assert sandbox.deliver(world.carrier_url("dhl"), body).status_code == 404
    assert sandbox.deliver(world.carrier_url("nosuch"), body).status_code == 404
    assert world.count() == 0


def test_every_row_names_its_event(world: World, sandbox: SendcloudSandbox) -> None:
    world.store(shipped_order())
    sandbox.deliver(world.carrier_url("sendcloud"), sandbox.webhook(TRACKING, 92, NOW))
    with world.services.sessions() as session:
        row = session.scalars(select(CarrierEventRow)).one()
        assert (row.source, row.tracking_number, row.parcel_id, row.order_number) == (
            "sendcloud",
            TRACKING,
            "1001",
            "5001",
        )
        assert (row.order_external_id, row.shipment_id, row.expires_at) == ("5001", "wc-1", None)
