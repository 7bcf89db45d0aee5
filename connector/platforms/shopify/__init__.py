"""Shopify: webhooks in (``ADAPTER``), GraphQL Admin API out (``make_client``), OAuth install (``install``).

The client module is imported on first use so the web process, which only verifies and parses, does not
load the HTTP machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.platforms.shopify.adapter import ADAPTER

if TYPE_CHECKING:
    from connector.clock import Clock
    from connector.config import Settings
    from connector.platforms.shopify.client import ShopifyClient
    from connector.shops import Shop

__all__ = ["ADAPTER", "make_client"]


def make_client(shop: Shop, settings: Settings, *, clock: Clock) -> ShopifyClient:
    from connector.platforms.shopify.client import make_client as _make_client

    return _make_client(shop, settings, clock=clock)
