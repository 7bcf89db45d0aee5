"""The shops ordercare serves: from the config file and from install flows, as one runtime view.

Config shops are written to the ``shops`` table at start-up (so orders can reference them); installed
shops live only in the table, their credentials sealed with ``SecretBox``. ``ShopDirectory`` answers
"which shop is this delivery for" and "what are this shop's credentials" for both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings, ShopSettings
from connector.crypto import SecretBox
from connector.model import Platform
from connector.platforms.base import ShopContext
from connector.store.tables import ShopRow


@dataclass(frozen=True)
class Shop:
    id: str
    platform: Platform
    key: str
    name: str
    status: str
    timezone: str
    locale: str
    country: str
    source: str
    api_base_url: str | None = None
    api_version: str | None = None
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    customer_channel: str = "email"
    # where the platform client keeps the secrets of webhooks it replaced (set by ``ShopDirectory``)
    webhook_keys: WebhookKeyStore | None = field(default=None, repr=False, compare=False)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def context(self) -> ShopContext:
        return ShopContext(shop_id=self.id, platform=self.platform, timezone=self.timezone, country=self.country)


def _config_credentials(shop: ShopSettings) -> dict[str, Any]:
    names = ("access_token", "consumer_key", "consumer_secret")
    return {name: getattr(shop, name) for name in names if getattr(shop, name)}


def sync_config_shops(session: Session, settings: Settings, now: datetime) -> None:
    """Upsert the config file's shops into the table; their secrets stay in the config, not the row."""
    existing = {row.id: row for row in session.scalars(select(ShopRow).where(ShopRow.source == "config"))}
    for shop in settings.shops:
        row = existing.get(shop.id) or session.get(ShopRow, shop.id)
        if row is None:
            row = ShopRow(id=shop.id, created_at=now, source="config", status="active", settings={})
            session.add(row)
        row.platform = shop.platform
        row.key = shop.key
        row.name = shop.display_name
        row.timezone = shop.timezone
        row.locale = shop.locale
        row.country = shop.country
        row.source = "config"
        if row.status == "uninstalled":
            row.status = "active"


class WebhookKeyStore:
    """One shop's sealed webhook state in ``shops.webhook_keys``: ``{"secrets": {webhook id: secret},
    "reenabled": [webhook id, ...]}``.

    ``secrets`` are those ordercare generated for webhooks it created in place of broken ones (WooCommerce never
    returns a webhook's secret, so ordercare keeps it); they are accepted for the shop's deliveries next to the
    configured secret while their webhook exists. ``reenabled`` names the webhooks ordercare re-enabled after a
    disable, so a second disable is told from the first."""

    def __init__(self, directory: ShopDirectory, shop_id: str) -> None:
        self.directory = directory
        self.shop_id = shop_id

    def load(self) -> dict[str, Any]:
        with self.directory.sessions() as session:
            row = session.get(ShopRow, self.shop_id)
            return self.directory.box.open(row.webhook_keys) if row is not None and row.webhook_keys else {}

    def save(self, state: Mapping[str, Any]) -> None:
        with self.directory.sessions() as session, session.begin():
            row = session.get(ShopRow, self.shop_id)
            if row is None:
                raise LookupError(f"shop {self.shop_id!r} is not stored")
            row.webhook_keys = self.directory.box.seal(dict(state))
        self.directory.invalidate()  # the webhook route's cache: the new secret is accepted at once


def generated_secrets(state: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(s) for s in (state.get("secrets") or {}).values() if s))


class ShopDirectory:
    """Looks shops up by id or by (platform, key), with a short cache for the webhook path."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], ttl_seconds: float = 5.0) -> None:
        self.settings = settings
        self.sessions = sessions
        self.box = SecretBox(settings.secret_key)
        self._config = {shop.id: shop for shop in settings.shops}
        self._ttl = ttl_seconds
        self._cache: dict[tuple[str, str], tuple[float, Shop | None]] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def _from_row(self, row: ShopRow) -> Shop:
        config = self._config.get(row.id) if row.source == "config" else None
        if config is not None:
            credentials: dict[str, Any] = _config_credentials(config)
            secrets = tuple(s for s in (config.webhook_secret, config.previous_webhook_secret) if s)
            api_base_url, api_version = config.api_base_url, config.api_version
            channel = config.customer_channel
        else:
            credentials = self.box.open(row.credentials) if row.credentials else {}
            secrets = self._installed_secrets(row, credentials)
            api_base_url = credentials.get("api_base_url")
            api_version = credentials.get("api_version")
            channel = "platform_note" if (row.settings or {}).get("customer_channel") == "platform_note" else "email"
        if row.webhook_keys:
            generated = generated_secrets(self.box.open(row.webhook_keys))
            secrets = (*secrets, *(g for g in generated if g not in secrets))
        return Shop(
            id=row.id,
            platform=Platform(row.platform),
            key=row.key,
            name=row.name or row.id,
            status=row.status,
            timezone=row.timezone,
            locale=row.locale,
            country=row.country,
            source=row.source,
            api_base_url=api_base_url,
            api_version=api_version,
            credentials=credentials,
            webhook_secrets=secrets,
            customer_channel=channel,
            webhook_keys=WebhookKeyStore(self, row.id),
        )

    def _installed_secrets(self, row: ShopRow, credentials: Mapping[str, Any]) -> tuple[str, ...]:
        if row.platform == Platform.SHOPIFY and self.settings.shopify_app is not None:
            app = self.settings.shopify_app
            return tuple(s for s in (app.api_secret, app.previous_api_secret) if s)
        secret = credentials.get("webhook_secret")
        return (str(secret),) if secret else ()

    def by_key(self, platform: Platform | str, key: str) -> Shop | None:
        cache_key = (str(platform), key)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(cache_key)
            if hit is not None and hit[0] > now:
                return hit[1]
        with self.sessions() as session:
            row = session.scalars(select(ShopRow).where(ShopRow.platform == str(platform), ShopRow.key == key)).first()
            shop = self._from_row(row) if row is not None else None
        with self._lock:
            self._cache[cache_key] = (now + self._ttl, shop)
        return shop

    def get(self, shop_id: str) -> Shop | None:
        with self.sessions() as session:
            row = session.get(ShopRow, shop_id)
            return self._from_row(row) if row is not None else None

    def all(self, active_only: bool = True) -> list[Shop]:
        with self.sessions() as session:
            query = select(ShopRow).order_by(ShopRow.id)
            if active_only:
                query = query.where(ShopRow.status == "active")
            return [self._from_row(row) for row in session.scalars(query)]
