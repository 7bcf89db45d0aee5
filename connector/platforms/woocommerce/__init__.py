"""WooCommerce: webhooks in (adapter, mapper), REST v3 write-backs out (client), the key exchange (install).

The registry in ``connector.platforms`` reads ``ADAPTER`` and ``make_client`` from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.platforms.woocommerce.adapter import ADAPTER

if TYPE_CHECKING:
    from connector.clock import Clock
    from connector.config import Settings
    from connector.platforms.woocommerce.client import WooCommerceClient
    from connector.shops import Shop

__all__ = ["ADAPTER", "make_client"]


def make_client(shop: Shop, settings: Settings, *, clock: Clock) -> WooCommerceClient:
    from connector.platforms.woocommerce.client import make_client as _make_client

    return _make_client(shop, settings, clock=clock)
