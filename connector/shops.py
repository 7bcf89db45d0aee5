"""The shops ordercare serves: from the config file and from install flows, as one runtime view.

Config shops are written to the ``shops`` table at start-up (so orders can reference them); installed
shops live only in the table, their credentials sealed with ``SecretBox``. ``ShopDirectory`` answers
"which shop is this delivery for" and "what are this shop's credentials" for both.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings, ShopSettings
from connector.crypto import SecretBox
from connector.model import Platform
from connector.platforms.base import ShopContext
from connector.store.tables import RawEvent, ShopRow


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
    mode: str = "act"  # observe | act (``ShopSettings.mode``)
    # where the platform client keeps the secrets of the webhooks it created (set by ``ShopDirectory``)
    webhook_keys: WebhookKeyStore | None = field(default=None, repr=False, compare=False)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def observing(self) -> bool:
        """Observe mode: ordercare records what it would do and writes nothing to the shop, sends nothing."""
        return self.mode == "observe"

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
    """One shop's sealed webhook state in ``shops.webhook_keys`` (a ``WebhookState``), and its signature failures.

    WooCommerce never returns a webhook's secret over REST, so ordercare keeps the one it generated for each
    webhook it created; those secrets are accepted for the shop's deliveries next to the configured one while
    their webhook exists. Deliveries that fail the signature check are rows in ``raw_events`` (outcome
    ``bad_signature``, no body: it is not authenticated), appended by the webhook route, so the request path
    and the reconcile job never overwrite each other's counts."""

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

    def signature_failures(self, since: datetime | None = None) -> dict[str, SignatureFailures]:
        """Deliveries that failed the signature check after ``since``, by the webhook id they named ("" for none)."""
        with self.directory.sessions() as session:
            return signature_failures(session, self.shop_id, since)


BAD_SIGNATURE = "bad_signature"  # ``raw_events.outcome`` of a delivery that failed the signature check
WEBHOOK_PREFIX = "webhook:"  # ``raw_events.dedupe_key`` of such a row: the webhook id the delivery named
# The header naming the webhook that sent a delivery. Shopify's X-Shopify-Webhook-Id names the event, not the
# subscription, so it is not kept.
WEBHOOK_ID_HEADERS = {Platform.WOOCOMMERCE: "x-wc-webhook-id"}
_WEBHOOK_ID = re.compile(r"^[0-9]{1,20}$")


@dataclass(frozen=True)
class SignatureFailures:
    count: int
    last_at: datetime


def record_signature_failure(
    session: Session, shop: Shop, headers: Mapping[str, str], topic: str, body_bytes: int, now: datetime
) -> None:
    """One delivery for ``shop`` that failed its signature check: counted, with the webhook id it named.

    Only where the count can repair something (a platform whose webhooks carry their own secret, see
    ``WEBHOOK_ID_HEADERS``); elsewhere (Shopify signs with the app's secret) nothing is stored."""
    name = WEBHOOK_ID_HEADERS.get(shop.platform)
    if name is None:
        return
    webhook_id = (headers.get(name) or "").strip()
    session.add(
        RawEvent(
            shop_id=shop.id,
            platform=shop.platform.value,
            topic=topic[:64],
            dedupe_key=WEBHOOK_PREFIX + webhook_id if _WEBHOOK_ID.match(webhook_id) else None,
            order_external_id=None,
            received_at=now,
            outcome=BAD_SIGNATURE,
            body=None,
            body_bytes=body_bytes,
            truncated=False,
        )
    )


def signature_failures(session: Session, shop_id: str, since: datetime | None = None) -> dict[str, SignatureFailures]:
    """``WebhookKeyStore.signature_failures`` inside the caller's session."""
    query = (
        select(RawEvent.dedupe_key, func.count(), func.max(RawEvent.received_at))
        .where(RawEvent.shop_id == shop_id, RawEvent.outcome == BAD_SIGNATURE)
        .group_by(RawEvent.dedupe_key)
    )
    if since is not None:
        query = query.where(RawEvent.received_at > since)
    found: dict[str, SignatureFailures] = {}
    for key, count, last_at in session.execute(query):
        hook = key[len(WEBHOOK_PREFIX) :] if key and key.startswith(WEBHOOK_PREFIX) else ""
        found[hook] = SignatureFailures(int(count), last_at)
    return found


def _stamp(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


HISTORY = 20  # webhook changes kept per shop for the dashboard


@dataclass
class WebhookState:
    """What ``shops.webhook_keys`` holds (sealed): the secrets ordercare generated and what it did about them.

    - ``secrets``: webhook id -> the secret ordercare created it with; ``pending``: topic -> the secret of a
      create whose answer was lost (accepted already, adopted by the webhook of ours found for that topic);
    - ``reenabled``: webhooks re-enabled after a disable, so a second disable is told from the first;
    - ``replaced``: webhook id -> ``{"old", "topic", "at", "why"}`` for the webhooks created in place of broken
      ones (``why``: ``signature`` or ``disabled``); such a webhook is not replaced again;
    - ``reported``: webhook id -> ``{"why", "at"}``: trouble ordercare no longer acts on, shown on the dashboard;
    - ``hooks``: the shop's webhooks to ordercare as the last check found them; ``checked_at``: that check;
    - ``history``: the last ``HISTORY`` changes (``at``, ``action``, ``topic``, ``webhook``, ``old``, ``why``).
    """

    secrets: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    reenabled: set[str] = field(default_factory=set)
    replaced: dict[str, dict[str, str]] = field(default_factory=dict)
    reported: dict[str, dict[str, str]] = field(default_factory=dict)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    checked_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> WebhookState:
        return cls(
            secrets={str(k): str(v) for k, v in (data.get("secrets") or {}).items() if v},
            pending={str(k): str(v) for k, v in (data.get("pending") or {}).items() if v},
            reenabled={str(i) for i in data.get("reenabled") or ()},
            replaced={str(k): dict(v) for k, v in (data.get("replaced") or {}).items()},
            reported={str(k): dict(v) for k, v in (data.get("reported") or {}).items()},
            hooks=[dict(h) for h in data.get("hooks") or ()],
            checked_at=_stamp(data.get("checked_at")),
            history=[dict(h) for h in data.get("history") or ()],
        )

    def dump(self) -> dict[str, Any]:
        return {
            "secrets": dict(self.secrets),
            "pending": dict(self.pending),
            "reenabled": sorted(self.reenabled),
            "replaced": self.replaced,
            "reported": self.reported,
            "hooks": self.hooks,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "history": self.history[-HISTORY:],
        }

    def note(self, at: datetime, action: str, topic: str, webhook: str, **more: str) -> None:
        entry = {"at": at.isoformat(), "action": action, "topic": topic, "webhook": webhook, **more}
        self.history = [*self.history, entry][-HISTORY:]


def generated_secrets(state: Mapping[str, Any]) -> tuple[str, ...]:
    """The secrets ordercare generated for this shop's webhooks, including those of creates still unanswered."""
    parsed = WebhookState.of(state)
    return tuple(dict.fromkeys([*parsed.secrets.values(), *parsed.pending.values()]))


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
            channel, mode = config.customer_channel, config.mode
        else:
            credentials = self.box.open(row.credentials) if row.credentials else {}
            secrets = self._installed_secrets(row, credentials)
            api_base_url = credentials.get("api_base_url")
            api_version = credentials.get("api_version")
            channel = "platform_note" if (row.settings or {}).get("customer_channel") == "platform_note" else "email"
            mode = "observe" if (row.settings or {}).get("mode") == "observe" else "act"
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
            mode=mode,
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

    def observing(self) -> frozenset[str]:
        """The ids of the shops in observe mode: configured so, or installed with ``mode: observe``."""
        configured = {shop.id for shop in self.settings.shops if shop.mode == "observe"}
        with self.sessions() as session:
            rows = session.execute(select(ShopRow.id, ShopRow.settings).where(ShopRow.source != "config"))
            installed = {shop_id for shop_id, values in rows if (values or {}).get("mode") == "observe"}
        return frozenset(configured | installed)

    def all(self, active_only: bool = True) -> list[Shop]:
        with self.sessions() as session:
            query = select(ShopRow).order_by(ShopRow.id)
            if active_only:
                query = query.where(ShopRow.status == "active")
            return [self._from_row(row) for row in session.scalars(query)]
