"""Shared helpers for the reliability tests: a settable clock, signed deliveries, sandboxes on loopback,
whole-database dumps and comparable snapshots of the stored state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from connector.ingest import Outcome, RawDelivery, ingest
from connector.platforms import adapter
from connector.services import Services
from connector.shops import sync_config_shops
from connector.store.db import transaction
from connector.store.tables import ActionRow, Base, IncidentRow, OrderRow, PendingEvent

SHOPIFY_DOMAIN = "fietsen-test.myshopify.com"
WOO_SITE = "https://theewinkel.example.nl"


class Clock:
    """A settable clock for services and sandboxes."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class Signed:
    """One delivery as it travels: platform, headers (as sent) and the raw body."""

    platform: str
    headers: dict[str, str]
    body: bytes

    @property
    def lower_headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}


def woo_headers(topic: str, body: bytes, secret: str, delivery_id: str, source: str = WOO_SITE + "/") -> dict[str, str]:
    """The headers WooCommerce sends with a delivery (signature over the raw body)."""
    resource, _, event = topic.partition(".")
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": "17",
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }


def deliver_direct(services: Services, delivery: Signed) -> Outcome | None:
    """What the webhook route does after the HTTP layer: shop, verify, parse, ingest in one transaction."""
    platform_adapter = adapter(delivery.platform)
    headers = delivery.lower_headers
    key = platform_adapter.shop_key(headers)
    shop = services.shops.by_key(delivery.platform, key or "")
    assert shop is not None, f"no shop for {key!r}"
    assert platform_adapter.verify(headers, delivery.body, shop.webhook_secrets), "signature does not verify"
    event = platform_adapter.parse(headers, delivery.body, shop.context)
    if event is None:
        return None
    topic = platform_adapter.topic(headers) or ""
    with transaction(services.sessions) as session:
        return ingest(session, shop, event, services.now(), RawDelivery(topic, delivery.body))


# --- state --------------------------------------------------------------------------------------


def order_state(sessions: sessionmaker[Session]) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored orders, keyed by (shop, external id), without our own bookkeeping columns."""
    with sessions() as session:
        rows = session.scalars(select(OrderRow)).all()
        return {
            (r.shop_id, r.external_id): {
                "status": r.status,
                "platform_status": r.platform_status,
                "deleted": r.deleted,
                "platform_updated_at": r.platform_updated_at,
                "customer_email": r.customer_email,
                "data": r.data,
            }
            for r in rows
        }


def action_state(sessions: sessionmaker[Session]) -> dict[str, tuple[str, str, Any]]:
    """Planned actions by idempotency key: (kind, state, payload)."""
    with sessions() as session:
        return {a.idempotency_key: (a.kind, a.state, a.payload) for a in session.scalars(select(ActionRow))}


def incident_state(sessions: sessionmaker[Session]) -> dict[tuple[str, str, str], tuple[str, int]]:
    with sessions() as session:
        rows = session.execute(
            select(
                IncidentRow.shop_id, OrderRow.external_id, IncidentRow.kind, IncidentRow.state, IncidentRow.level
            ).join(OrderRow, OrderRow.id == IncidentRow.order_id)
        ).all()
        return {(shop, ext, kind): (state, level) for shop, ext, kind, state, level in rows}


def pending_events(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(PendingEvent.id)).all())


def wipe(services: Services) -> None:
    """Empty every table and put the configured shops back (one database, two runs)."""
    with transaction(services.sessions) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        sync_config_shops(session, services.settings, services.now())
    services.shops.invalidate()


def dump_database(engine: Engine) -> str:
    """Every row of every table as text (the search target for privacy and secret checks); on SQLite
    the ``iterdump`` of the file as well."""
    parts: list[str] = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                parts.append(f"{table.name}: " + json.dumps([str(v) for v in row], ensure_ascii=False))
        if engine.dialect.name == "sqlite":
            raw = connection.connection.dbapi_connection
            assert raw is not None
            parts.extend(raw.iterdump())
        else:
            for (name,) in connection.execute(
                text("select tablename from pg_tables where schemaname = current_schema()")
            ):
                for row in connection.execute(text(f'select t::text from "{name}" t')):
                    parts.append(f"{name}: {row[0]}")
    return "\n".join(parts)


def sqlite_file_bytes(engine: Engine) -> bytes:
    """The raw bytes of a SQLite database file and its WAL (what a stolen backup would hold)."""
    path = engine.url.database
    assert path
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as handle:
                data += handle.read()
        except FileNotFoundError:
            pass
    return data


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve a WSGI app (a sandbox) on loopback for the block; yields its URL."""
    from connector.sandbox.server import BackgroundServer

    server = BackgroundServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()
