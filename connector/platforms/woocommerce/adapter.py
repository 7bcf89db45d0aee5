"""Inbound WooCommerce webhooks: the ping, the shop, the signature, and the topic dispatch (pure).

WooCommerce signs the raw body (base64 HMAC-SHA256 with the webhook secret), names the site in
``X-WC-Webhook-Source`` and sends a fresh delivery id on every attempt, so deliveries are deduplicated by
content: order id + ``date_modified_gmt``. The ping sent when a webhook is created has no headers at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.config import normalise_site_url
from connector.model import EventKind, OrderEvent, Platform
from connector.platforms.base import Headers, MalformedPayload, ShopContext
from connector.platforms.woocommerce.mapper import DRAFT_STATUSES, map_order, order_id_of

SOURCE = "x-wc-webhook-source"
TOPIC = "x-wc-webhook-topic"
SIGNATURE = "x-wc-webhook-signature"
WEBHOOK_ID = "x-wc-webhook-id"
DELIVERY_ID = "x-wc-webhook-delivery-id"
HEADER_PREFIX = "x-wc-webhook-"
# Not sent by WooCommerce itself; a proxy or relay that knows when the order was trashed may set it.
DELETED_AT = "x-wc-webhook-deleted-at"

# order.deleted carries only {"id": N}: without a time of its own it is dated at the epoch, which
# ingest reads as "applies to the version we hold" (a later restore, newer by date_modified_gmt, wins).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_PING = re.compile(rb"^webhook_id=\d+$")

# WordPress HTML-decodes the secret before signing (wp_specialchars_decode with ENT_QUOTES)
_SPECIALCHARS = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#039;", "'"), ("&amp;", "&"))


def signing_key(secret: str) -> bytes:
    for entity, char in _SPECIALCHARS:
        secret = secret.replace(entity, char)
    return secret.encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """The ``X-WC-Webhook-Signature`` WooCommerce computes for this body."""
    return base64.b64encode(hmac.new(signing_key(secret), body, hashlib.sha256).digest()).decode("ascii")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"body: not valid JSON ({exc})") from None


def _order_event(topic: str, data: Any, headers: Headers, shop: ShopContext) -> OrderEvent | None:
    order_id_of(data)
    if data.get("status") in DRAFT_STATUSES:
        return None
    order = map_order(data, shop)
    return OrderEvent(
        kind=EventKind.ORDER,
        topic=topic,
        dedupe_key=f"{order.external_id}:{data['date_modified_gmt']}",
        occurred_at=order.updated_at,
        order_external_id=order.external_id,
        order=order,
    )


def _deleted_event(topic: str, data: Any, headers: Headers, shop: ShopContext) -> OrderEvent:
    order_id = order_id_of(data)
    occurred_at = EPOCH
    stamp = headers.get(DELETED_AT)
    if stamp:
        try:
            occurred_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise MalformedPayload(f"{DELETED_AT}: not a date: {stamp[:40]!r}") from None
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
    return OrderEvent(
        kind=EventKind.ORDER_DELETED,
        topic=topic,
        dedupe_key=f"{order_id}:deleted" if occurred_at == EPOCH else f"{order_id}:deleted:{occurred_at.isoformat()}",
        occurred_at=occurred_at,
        order_external_id=order_id,
    )


Parser = Callable[[str, Any, Headers, ShopContext], OrderEvent | None]


class WooCommerceAdapter:
    """``PlatformAdapter`` for WooCommerce webhooks (REST v3 payloads)."""

    platform = Platform.WOOCOMMERCE

    def __init__(self) -> None:
        self._parsers: dict[str, Parser] = {
            "order.created": _order_event,
            "order.updated": _order_event,
            "order.restored": _order_event,
            "order.deleted": _deleted_event,
        }

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._parsers)

    def shop_key(self, headers: Headers) -> str | None:
        source = (headers.get(SOURCE) or "").strip()
        return normalise_site_url(source) if source else None

    def topic(self, headers: Headers) -> str | None:
        value = (headers.get(TOPIC) or "").strip()
        return value or None

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        """The unsigned ``webhook_id=N`` form post sent when a webhook is created: answered exactly 200."""
        if any(name.lower().startswith(HEADER_PREFIX) for name in headers):
            return False
        return bool(_PING.match(body.strip()))

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[str]) -> bool:
        given = (headers.get(SIGNATURE) or "").strip().encode("ascii", errors="replace")
        if not given:
            return False
        matched = False
        for secret in secrets:
            if secret:
                matched |= hmac.compare_digest(sign(body, secret).encode("ascii"), given)
        return matched

    def parse(self, headers: Headers, body: bytes, shop: ShopContext) -> OrderEvent | None:
        topic = self.topic(headers)
        if topic is None:
            raise MalformedPayload(f"{TOPIC}: header missing")
        parser = self._parsers.get(topic)
        if parser is None:
            return None
        return parser(topic, _json(body), headers, shop)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


ADAPTER = WooCommerceAdapter()
