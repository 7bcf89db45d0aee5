"""The platform registry: one line per supported shop platform.

Each platform package (same file names in each: adapter.py, mapper.py, client.py, install.py) exposes
``ADAPTER`` (a ``PlatformAdapter``) and ``make_client(shop, settings, clock=...)`` (a ``PlatformClient``) from its
``__init__``. Modules are imported on first use so the web process loads only what it serves.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from connector.model import Platform

if TYPE_CHECKING:
    from connector.clock import Clock
    from connector.config import Settings
    from connector.platforms.base import PlatformAdapter, PlatformClient
    from connector.shops import Shop

_PACKAGES: dict[Platform, str] = {
    Platform.SHOPIFY: "connector.platforms.shopify",
    Platform.WOOCOMMERCE: "connector.platforms.woocommerce",
}

SUPPORTED = frozenset(_PACKAGES)


def package(platform: Platform | str) -> ModuleType:
    return importlib.import_module(_PACKAGES[Platform(platform)])


def adapter(platform: Platform | str) -> PlatformAdapter:
    adapter_: PlatformAdapter = package(platform).ADAPTER
    return adapter_


def make_client(shop: Shop, settings: Settings, *, clock: Clock) -> PlatformClient:
    """The platform's client for this shop; ``clock`` is the service clock (token expiry, Retry-After dates)."""
    client: PlatformClient = package(shop.platform).make_client(shop, settings, clock=clock)
    return client
