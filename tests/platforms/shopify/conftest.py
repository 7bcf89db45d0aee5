"""Shared helpers for the Shopify tests: shop context, signed webhook headers."""

from __future__ import annotations

from datetime import datetime

import pytest

from connector.model import Platform
from connector.platforms.base import ShopContext
from connector.platforms.shopify.adapter import sign
from tests.conftest import SHOPIFY_SECRET

SHOP = ShopContext(shop_id="fietsen", platform=Platform.SHOPIFY, timezone="Europe/Amsterdam", country="NL")
DOMAIN = "fietsen-test.myshopify.com"


def signed_headers(
    topic: str,
    body: bytes,
    *,
    secret: str = SHOPIFY_SECRET,
    webhook_id: str = "b54557e4-0000-4000-8000-000000000001",
    triggered_at: str | None = "2026-11-24T09:00:00.123456789Z",
    domain: str = DOMAIN,
) -> dict[str, str]:
    headers = {
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": sign(body, secret),
        "x-shopify-shop-domain": domain,
        "x-shopify-api-version": "2026-10",
        "x-shopify-webhook-id": webhook_id,
        "x-shopify-event-id": "e-" + webhook_id,
    }
    if triggered_at is not None:
        headers["x-shopify-triggered-at"] = triggered_at
    return headers


@pytest.fixture
def shop_context() -> ShopContext:
    return SHOP


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)
