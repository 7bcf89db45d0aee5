"""The reconcile listing reads what the webhook body says: both copies of one order map to the same Order."""

from __future__ import annotations

import dataclasses

import pytest

from connector.platforms.shopify import mapper
from connector.sandbox.shopify import ShopifySandbox
from tests.platforms.shopify.conftest import SHOP, FakeTime
from tests.platforms.shopify.test_client import client_for

# Only a GraphQL read sees the fulfilment orders, so only the listing copy has these; the REST body of an
# ``orders/*`` webhook carries none of them (its holds come by the hold topics).
FULFILMENT_ORDER_FIELDS = ("holds", "hold_check", "delivery_method")


@pytest.mark.parametrize(
    ("consent", "buyer_accepts"), [("subscribed", False), ("unsubscribed", True), (None, True), (None, False)]
)
def test_the_listing_copy_and_the_webhook_copy_are_one_order(
    sandbox: ShopifySandbox, fake_time: FakeTime, consent: str | None, buyer_accepts: bool
) -> None:
    sandbox.monotonic = fake_time.monotonic
    shop = sandbox.add_shop(f"copy-{len(sandbox.shops)}.myshopify.com", "secret", access_token=f"t{len(sandbox.shops)}")
    body = shop.create_order(buyer_accepts_marketing=buyer_accepts)
    if consent is not None:
        body["customer"]["email_marketing_consent"] = {"state": consent, "opt_in_level": "single_opt_in"}
        shop.update_order(body["id"], customer=body["customer"])
    webhook = mapper.order_from_rest(shop.order(body["id"]), SHOP)
    (event,) = list(client_for(shop, fake_time).changed_orders(None))
    listing = event.order
    assert listing is not None
    assert listing.lines == webhook.lines
    assert all(line.product_id == "8800000000000000001" for line in listing.lines)
    assert listing.customer == webhook.customer
    assert listing.customer.accepts_marketing is (consent == "subscribed" if consent else buyer_accepts)
    same = {f: getattr(webhook, f) for f in FULFILMENT_ORDER_FIELDS}
    assert dataclasses.replace(listing, **same) == webhook
