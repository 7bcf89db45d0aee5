"""Shared test helpers for the WooCommerce package: the config shop, signed deliveries, stored state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector import codec
from connector.config import Settings
from connector.model import Order
from connector.platforms.woocommerce.adapter import sign
from connector.shops import Shop, ShopDirectory, sync_config_shops
from connector.store.db import transaction
from connector.store.tables import OrderRow, RawEvent, WebhookReceipt
from tests.conftest import WOO_SECRET

SITE = "https://theewinkel.example.nl/"


def config_shop(
    settings: Settings, sessions: sessionmaker[Session], now: datetime, shop_id: str = "theewinkel"
) -> Shop:
    with transaction(sessions) as session:
        sync_config_shops(session, settings, now)
    shop = ShopDirectory(settings, sessions).get(shop_id)
    assert shop is not None
    return shop


def delivery(
    topic: str, body: Any, secret: str = WOO_SECRET, source: str = SITE, webhook_id: int | str = 17
) -> tuple[dict[str, str], bytes]:
    """Headers (lower-case, as the route hands them over) and raw body of a signed WooCommerce delivery."""
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    resource, _, event = topic.partition(".")
    headers = {
        "x-wc-webhook-source": source,
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": resource,
        "x-wc-webhook-event": event,
        "x-wc-webhook-signature": sign(raw, secret),
        "x-wc-webhook-id": str(webhook_id),
        "x-wc-webhook-delivery-id": "b2f8c1d0a9e7",
        "content-type": "application/json",
        "user-agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
    }
    return headers, raw


def stored_order(sessions: sessionmaker[Session], shop_id: str, external_id: str) -> tuple[Order, bool] | None:
    with sessions() as session:
        row = session.scalars(
            select(OrderRow).where(OrderRow.shop_id == shop_id, OrderRow.external_id == external_id)
        ).first()
        return (codec.load_order(row.data), row.deleted) if row is not None else None


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """(orders, receipts, raw events) stored."""
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(OrderRow)) or 0,
            session.scalar(select(func.count()).select_from(WebhookReceipt)) or 0,
            session.scalar(select(func.count()).select_from(RawEvent)) or 0,
        )
