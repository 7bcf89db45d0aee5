"""Webhook subscriptions one by one: a refused topic never stops the others, and each gap is named with its reason."""

from __future__ import annotations

from connector.model import EventKind
from connector.platforms.shopify.adapter import ADAPTER, SUBSCRIBED_TOPICS
from connector.sandbox.shopify import NOT_APPROVED_TOPICS, SandboxShop
from tests.conftest import fixture_bytes
from tests.platforms.shopify.conftest import SHOP, FakeTime, signed_headers
from tests.platforms.shopify.test_client import client_for

URL = "https://ordercare.example.nl/webhooks/shopify"
ORDER_TOPICS = sorted(t for t in SUBSCRIBED_TOPICS if t.startswith("orders/"))
FULFILMENT_TOPICS = ["fulfillment_events/create", "fulfillments/create", "fulfillments/update"]


def _subscribed(shop: SandboxShop) -> set[str]:
    return {str(s["topic"]) for s in shop.subscriptions}


def test_orders_delete_is_subscribed_and_parsed_from_shopifys_sample() -> None:
    assert SUBSCRIBED_TOPICS["orders/delete"] == "ORDERS_DELETE"
    body = fixture_bytes("shopify/webhooks/orders_delete.json")
    event = ADAPTER.parse(signed_headers("orders/delete", body), body, SHOP)
    assert event is not None
    assert (event.kind, event.order_external_id, event.dedupe_key) == (
        EventKind.ORDER_DELETED,
        "820982911946154508",
        "b54557e4-0000-4000-8000-000000000001",
    )
    assert event.occurred_at.isoformat() == "2026-11-24T09:00:00.123456+00:00"


def test_protected_data_refusals_leave_the_other_topics_subscribed(shop: SandboxShop, fake_time: FakeTime) -> None:
    shop.protected = None  # protected customer data not approved
    client = client_for(shop, fake_time)
    created = client.ensure_webhooks(URL)
    refused = [t for t in SUBSCRIBED_TOPICS if t.startswith(("orders/", "fulfillments/"))]
    assert sorted(created) == sorted(set(SUBSCRIBED_TOPICS) - set(refused))
    assert "app/uninstalled" in created
    assert "fulfillment_events/create" in created
    assert client.missing_topics == {
        topic: NOT_APPROVED_TOPICS for topic in sorted(refused)  # Shopify's words
    }
    assert _subscribed(shop) == {SUBSCRIBED_TOPICS[t] for t in created}
    # once approved, the next run creates exactly the missing ones
    shop.protected = frozenset({"name", "email", "phone", "address"})
    assert sorted(client.ensure_webhooks(URL)) == sorted(refused)
    assert client.missing_topics == {}
    assert client.status()["missing_topics"] == {}


def test_a_missing_scope_is_named_for_its_topics(shop: SandboxShop, fake_time: FakeTime) -> None:
    shop.granted.discard("read_fulfillments")
    client = client_for(shop, fake_time)
    created = client.ensure_webhooks(URL)
    assert set(ORDER_TOPICS) <= set(created)  # alphabetically after the refused ones, created all the same
    assert client.missing_topics == {
        topic: "Access denied for webhookSubscriptionCreate field. (needs read_fulfillments)"
        for topic in FULFILMENT_TOPICS
    }
    assert client.status()["missing_topics"] == client.missing_topics
    assert not _subscribed(shop) & {SUBSCRIBED_TOPICS[t] for t in FULFILMENT_TOPICS}


def test_declared_subscriptions_are_checked_not_created(shop: SandboxShop, fake_time: FakeTime) -> None:
    shop.granted.discard("read_fulfillments")
    client = client_for(shop, fake_time, subscriptions="declared")
    assert client.ensure_webhooks(URL) == []
    assert shop.subscriptions == []
    assert shop.counters["webhooks_created"] == 0
    assert client.missing_topics == {
        topic: "declared in shopify.app.toml, but Shopify delivers it only with read_fulfillments, which is not granted"
        for topic in FULFILMENT_TOPICS
    }
    shop.granted.add("read_fulfillments")
    client.check_access()
    assert client.ensure_webhooks(URL) == []
    assert client.missing_topics == {}
