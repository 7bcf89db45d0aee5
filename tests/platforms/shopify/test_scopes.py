"""The scope table: complete, in step with the schema's own text, and checked against what a shop granted."""

from __future__ import annotations

import logging

import pytest

from connector.config import ShopifyAppSettings
from connector.platforms.shopify import scopes
from connector.platforms.shopify.adapter import SUBSCRIBED_TOPICS, SUPPORTED_TOPICS
from connector.platforms.shopify.client import ShopifyClient
from connector.platforms.shopify.documents import DOCUMENTS
from connector.sandbox.shopify import SandboxShop, topic_scopes
from tests.platforms.shopify.conftest import FakeTime
from tests.platforms.shopify.test_client import client_for


def test_every_document_and_topic_has_its_scopes_in_the_table() -> None:
    assert set(scopes.DOCUMENT_SCOPES) == set(DOCUMENTS)
    assert set(scopes.TOPIC_SCOPES) == set(SUPPORTED_TOPICS)
    with pytest.raises(KeyError, match=r"add it to scopes\.py"):
        scopes.scopes_for("NoSuchDocument")


def test_topic_scopes_are_the_schema_descriptions() -> None:
    """Each subscribed topic needs exactly the scopes the 2026-10 WebhookSubscriptionTopic text names."""
    schema = topic_scopes()
    for topic, enum_name in SUBSCRIBED_TOPICS.items():
        ours = {s for need in scopes.TOPIC_SCOPES[topic] for s in need}
        assert ours == set(schema.get(enum_name, ())), topic


def test_the_install_requests_what_the_code_needs() -> None:
    assert scopes.REQUIRED_SCOPES == (
        "read_customers",
        "read_discounts",
        "write_discounts",
        "read_draft_orders",
        "write_draft_orders",
        "read_fulfillments",
        "read_inventory",
        "read_locations",
        "read_merchant_managed_fulfillment_orders",
        "write_merchant_managed_fulfillment_orders",
        "read_order_edits",
        "write_order_edits",
        "read_orders",
        "write_orders",
        "read_products",
        "read_third_party_fulfillment_orders",
        "write_third_party_fulfillment_orders",
    )
    assert ShopifyAppSettings(api_key="k", api_secret="s").scopes == list(scopes.REQUIRED_SCOPES)
    assert scopes.scopes_for("ReconcileOrders") == (
        "read_customers",
        "read_merchant_managed_fulfillment_orders",
        "read_orders",
        "read_products",
        "read_third_party_fulfillment_orders",
    )
    needs = scopes.scopes_for("fulfillment_events/create", "TagsAdd")
    assert needs == ("read_fulfillments", "read_orders", "write_orders")


def test_a_write_scope_grants_its_read_scope() -> None:
    assert scopes.covers(["write_orders"], ("read_orders",))
    assert not scopes.covers(["read_orders"], ("write_orders",))
    assert scopes.check(list(scopes.REQUIRED_SCOPES)).ok
    written_only = [s for s in scopes.REQUIRED_SCOPES if not s.startswith("read_")] + ["read_customers"]
    assert scopes.check(written_only).missing == (
        "read_fulfillments", "read_inventory", "read_locations", "read_products",
    )  # fmt: skip


def test_missing_scopes_are_named_with_what_they_stop() -> None:
    granted = [s for s in scopes.REQUIRED_SCOPES if s not in ("read_customers", "read_fulfillments")]
    result = scopes.check(granted)
    assert result.missing == ("read_customers", "read_fulfillments")
    assert result.stops == {
        "read_customers": ("ReconcileOrders", "OrdersById"),
        "read_fulfillments": ("fulfillments/create", "fulfillments/update", "fulfillment_events/create"),
    }
    assert result.describe() == (
        "missing access scopes: read_customers (needed for ReconcileOrders, OrdersById); "
        "read_fulfillments (needed for fulfillments/create, fulfillments/update, fulfillment_events/create)"
    )


def test_check_access_reads_the_granted_scopes_from_the_shop(
    shop: SandboxShop, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    shop.granted = {"read_orders", "write_orders", "write_discounts", "write_merchant_managed_fulfillment_orders"}
    client: ShopifyClient = client_for(shop, fake_time)
    with caplog.at_level(logging.WARNING):
        result = client.check_access()
    assert result.granted == (
        "read_orders", "write_discounts", "write_merchant_managed_fulfillment_orders", "write_orders",
    )  # fmt: skip
    assert result.missing == (
        "read_customers",
        "read_draft_orders",
        "write_draft_orders",
        "read_fulfillments",
        "read_inventory",
        "read_locations",
        "read_order_edits",
        "write_order_edits",
        "read_products",
        "read_third_party_fulfillment_orders",
        "write_third_party_fulfillment_orders",
    )
    assert client.granted == result.granted
    assert [r.getMessage() for r in caplog.records if r.name.endswith("shopify.client")] == [
        f"shop fietsen: {result.describe()}"
    ]
    # every scope granted: nothing is missing and nothing is logged
    shop.granted = set(scopes.REQUIRED_SCOPES)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert client.check_access().missing == ()
    assert [r for r in caplog.records if r.name.endswith("shopify.client")] == []


def test_a_shop_writing_carrier_events_is_told_when_write_fulfillments_is_missing(
    shop: SandboxShop, fake_time: FakeTime
) -> None:
    # given every scope an install requests, but not the one the carrier write-back needs
    shop.granted = set(scopes.REQUIRED_SCOPES)
    plain: ShopifyClient = client_for(shop, fake_time)
    opted: ShopifyClient = client_for(shop, fake_time, options=("carriers.shopify_events",))
    # then only the shop with the option on misses it, and hears what it stops
    assert plain.check_access().missing == ()
    result = opted.check_access()
    assert result.missing == ("write_fulfillments",)
    assert "write_fulfillments" in result.describe()
    shop.granted = set(scopes.required_scopes(["carriers.shopify_events"]))
    assert opted.check_access().ok
