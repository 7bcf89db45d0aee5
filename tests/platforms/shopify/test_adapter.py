"""The HTTP-less adapter contract: shop key, signatures (good, bad, rotated), topics, malformed bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connector.model import EventKind, ShipmentStatus
from connector.platforms.base import MalformedPayload
from connector.platforms.shopify import ADAPTER
from connector.platforms.shopify.adapter import SUBSCRIBED_TOPICS
from tests.conftest import SHOPIFY_SECRET, fixture_bytes
from tests.platforms.shopify.conftest import SHOP, signed_headers

NL_ID = "5823991001234567891"
TRIGGERED = datetime(2026, 11, 24, 9, 0, 0, 123456, tzinfo=UTC)


def test_topics_are_the_dispatch_keys() -> None:
    assert ADAPTER.topics == {
        "orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/partially_fulfilled",
        "orders/cancelled", "orders/edited", "orders/delete", "fulfillments/create", "fulfillments/update",
        "fulfillment_events/create", "fulfillment_orders/placed_on_hold", "fulfillment_orders/hold_released",
        "app/uninstalled", "customers/data_request", "customers/redact", "shop/redact",
    }  # fmt: skip
    assert "customers/redact" not in SUBSCRIBED_TOPICS
    assert SUBSCRIBED_TOPICS["orders/create"] == "ORDERS_CREATE"
    assert SUBSCRIBED_TOPICS["fulfillment_orders/placed_on_hold"] == "FULFILLMENT_ORDERS_PLACED_ON_HOLD"


def test_shop_key_is_lower_cased_and_optional() -> None:
    assert ADAPTER.shop_key({"x-shopify-shop-domain": "Fietsen-Test.MyShopify.com"}) == "fietsen-test.myshopify.com"
    assert ADAPTER.shop_key({"shopify-shop-domain": "a.myshopify.com"}) == "a.myshopify.com"
    assert ADAPTER.shop_key({}) is None
    assert ADAPTER.is_ping({}, b"") is False


def test_signature_good_bad_and_rotated() -> None:
    body = fixture_bytes("shopify/orders_create__nl_paid.json")
    headers = signed_headers("orders/create", body)
    assert ADAPTER.verify(headers, body, [SHOPIFY_SECRET]) is True
    assert ADAPTER.verify(headers, body + b" ", [SHOPIFY_SECRET]) is False  # one byte more
    assert ADAPTER.verify(headers, body, ["another-secret"]) is False
    assert ADAPTER.verify(headers, body, []) is False
    # rotation: signed with the old secret, the shop has new and old
    assert ADAPTER.verify(headers, body, ["new-secret-after-rotation", SHOPIFY_SECRET]) is True
    new = signed_headers("orders/create", body, secret="new-secret-after-rotation")
    assert ADAPTER.verify(new, body, ["new-secret-after-rotation", SHOPIFY_SECRET]) is True
    missing = {k: v for k, v in headers.items() if k != "x-shopify-hmac-sha256"}
    assert ADAPTER.verify(missing, body, [SHOPIFY_SECRET]) is False
    assert ADAPTER.verify({**headers, "x-shopify-hmac-sha256": "not base64 é"}, body, [SHOPIFY_SECRET]) is False


def _parse(topic: str, body: bytes, **kwargs: object):  # type: ignore[no-untyped-def]
    return ADAPTER.parse(signed_headers(topic, body, **kwargs), body, SHOP)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "topic",
    ["orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/partially_fulfilled",
     "orders/cancelled"],
)  # fmt: skip
def test_order_topics(topic: str) -> None:
    event = _parse(topic, fixture_bytes("shopify/orders_create__nl_paid.json"))
    assert event is not None
    assert event.kind is EventKind.ORDER
    assert event.topic == topic
    assert event.dedupe_key == "b54557e4-0000-4000-8000-000000000001"
    assert event.occurred_at == TRIGGERED
    assert event.order_external_id == NL_ID
    assert event.order is not None
    assert event.order.external_id == NL_ID


def test_occurred_at_falls_back_to_updated_at() -> None:
    event = _parse("orders/updated", fixture_bytes("shopify/orders_create__nl_paid.json"), triggered_at=None)
    assert event is not None
    assert event.occurred_at == datetime(2026, 11, 23, 16, 42, 15, tzinfo=UTC)


def test_published_order_sample_parses() -> None:
    event = _parse("orders/create", fixture_bytes("shopify/webhooks/orders_create.json"))
    assert event is not None
    assert event.order_external_id == "820982911946154508"


def test_orders_edited_is_known_and_ignored() -> None:
    assert _parse("orders/edited", fixture_bytes("shopify/webhooks/orders_edited.json")) is None
    with pytest.raises(MalformedPayload, match=r"order_edit\.order_id"):
        _parse("orders/edited", b'{"order_edit": {}}')


def test_fulfillment_topics() -> None:
    for topic in ("fulfillments/create", "fulfillments/update"):
        event = _parse(topic, fixture_bytes("shopify/fulfillments_create__nl_postnl.json"))
        assert event is not None
        assert event.kind is EventKind.SHIPMENT
        assert event.order_external_id == NL_ID
        assert event.shipment is not None
        assert event.shipment.carrier == "PostNL"


def test_fulfillment_event_topic() -> None:
    event = _parse("fulfillment_events/create", fixture_bytes("shopify/fulfillment_events_create__nl_delayed.json"))
    assert event is not None
    assert event.kind is EventKind.SHIPMENT_EVENT
    assert (event.order_external_id, event.shipment_id) == (NL_ID, "6200000000000000001")
    assert event.shipment_event is not None
    assert event.shipment_event.status is ShipmentStatus.DELAYED


def test_hold_topics() -> None:
    placed = _parse(
        "fulfillment_orders/placed_on_hold",
        fixture_bytes("shopify/fulfillment_orders_placed_on_hold__nl_with_order.json"),
    )
    assert placed is not None
    assert placed.kind is EventKind.HOLD
    assert placed.order_external_id == NL_ID
    assert placed.hold is not None
    assert (placed.hold.handle, placed.hold.released, placed.hold.changed_at) == ("ordercare", False, TRIGGERED)
    released = _parse(
        "fulfillment_orders/hold_released",
        fixture_bytes("shopify/fulfillment_orders_hold_released__nl_with_order.json"),
    )
    assert released is not None
    assert released.hold is not None
    assert (released.hold.external_id, released.hold.released) == (placed.hold.external_id, True)
    # Shopify's own samples name no order: known topic, nothing to store
    assert (
        _parse(
            "fulfillment_orders/placed_on_hold",
            fixture_bytes("shopify/webhooks/fulfillment_orders_placed_on_hold.json"),
        )
        is None
    )
    assert (
        _parse(
            "fulfillment_orders/hold_released", fixture_bytes("shopify/webhooks/fulfillment_orders_hold_released.json")
        )
        is None
    )
    body = fixture_bytes("shopify/fulfillment_orders_placed_on_hold__nl_with_order.json")
    with pytest.raises(MalformedPayload, match="x-shopify-triggered-at"):
        _parse("fulfillment_orders/placed_on_hold", body, triggered_at=None)


def test_shop_level_topics() -> None:
    uninstall = _parse("app/uninstalled", fixture_bytes("shopify/webhooks/app_uninstalled.json"))
    assert uninstall is not None
    assert uninstall.kind is EventKind.APP_UNINSTALLED
    redact = _parse("shop/redact", fixture_bytes("shopify/webhooks/shop_redact.json"))
    assert redact is not None
    assert redact.kind is EventKind.SHOP_REDACT
    customer = _parse("customers/redact", fixture_bytes("shopify/webhooks/customers_redact.json"))
    assert customer is not None
    assert customer.kind is EventKind.CUSTOMER_REDACT
    assert customer.customer is not None
    assert customer.customer.order_ids == ("299938", "280263", "220458")
    request = _parse("customers/data_request", fixture_bytes("shopify/webhooks/customers_data_request.json"))
    assert request is not None
    assert request.kind is EventKind.CUSTOMER_DATA_REQUEST
    assert request.customer is not None
    assert request.customer.request_id == "9999"


def test_unknown_topic_and_missing_headers() -> None:
    body = b"{}"
    assert _parse("products/create", body) is None  # unknown: nothing to store, as on WooCommerce
    headers = signed_headers("orders/create", body)
    del headers["x-shopify-webhook-id"]
    with pytest.raises(MalformedPayload, match="x-shopify-webhook-id"):
        ADAPTER.parse(headers, body, SHOP)
    headers = signed_headers("orders/create", body)
    del headers["x-shopify-topic"]
    with pytest.raises(MalformedPayload, match="x-shopify-topic"):
        ADAPTER.parse(headers, body, SHOP)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (json.dumps({"id": 1}).encode(), "order.created_at"),
        (json.dumps({"created_at": "2026-11-23T17:42:10+01:00"}).encode(), "order.id"),
    ],
)
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        _parse("orders/create", body)


def test_malformed_fulfillment_names_order_id() -> None:
    data = json.loads(fixture_bytes("shopify/fulfillments_create__nl_postnl.json"))
    del data["order_id"]
    with pytest.raises(MalformedPayload, match=r"fulfillment\.order_id"):
        _parse("fulfillments/create", json.dumps(data).encode())


def test_bad_triggered_at_header() -> None:
    with pytest.raises(MalformedPayload, match="x-shopify-triggered-at"):
        _parse("orders/create", fixture_bytes("shopify/orders_create__nl_paid.json"), triggered_at="gisteren")
