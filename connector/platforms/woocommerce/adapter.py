"""Inbound WooCommerce webhooks: the ping, the shop, the signature, and the topic dispatch (pure; no I/O).

WooCommerce signs the raw body (base64 HMAC-SHA256 with the webhook secret), names the site in
``X-WC-Webhook-Source`` and sends a fresh delivery id on every attempt, so deliveries are deduplicated by
content (``snapshot_key``): what ordercare maps of the order, not ``date_modified_gmt`` alone, which the legacy
post storage leaves unchanged on an address or meta-only save. The ping sent when a webhook is created has no
headers at all.
``parse`` follows the contract in ``connector.platforms.base``: ``parse_delivery`` over ``PARSERS``;
``SUPPORTED_TOPICS`` and ``SUBSCRIBED_TOPICS`` are derived from its keys, and any other topic
(``IGNORED_TOPICS`` or unknown) is answered with None.

Supported topics answered with None (nothing to store): any ``order.*`` delivery but ``order.deleted`` whose
order is a checkout draft (block checkout re-saves drafts; they are not real orders yet).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from connector import codec
from connector.config import normalise_site_url
from connector.model import EventKind, Order, OrderEvent, Platform
from connector.platforms.base import (
    Delivery,
    Headers,
    Json,
    MalformedPayload,
    PlatformAdapter,
    ShopContext,
    TopicParser,
    content_key,
    parse_delivery,
)
from connector.platforms.woocommerce.mapper import DRAFT_STATUSES, order_from_rest, order_id_of

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


Parser = TopicParser[Delivery]


def snapshot_key(order: Order, date_modified_gmt: str) -> str:
    """What a snapshot is, for dedupe: the order, its ``date_modified_gmt`` and a digest of the ``Order`` we map.

    With the legacy post storage WooCommerce sends a staff address fix over REST, or a carrier status a tracking
    plugin saved as meta, with the ``date_modified_gmt`` it had before (../shared/platforms/
    woocommerce-real-2026-12.md, finding 1), so the date alone would call a real change a repeat. Meta we do not
    map does not change the digest: such a save is a duplicate.
    """
    canonical = json.dumps(codec.dump_order(order), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return content_key(order.external_id, date_modified_gmt, digest)


def order_event(payload: Json, shop: ShopContext, topic: str) -> OrderEvent:
    """The snapshot a REST v3 order carries: an ``order.*`` body, or an order the reconcile listing read."""
    order = order_from_rest(payload, shop)
    return OrderEvent(
        kind=EventKind.ORDER,
        topic=topic,
        dedupe_key=snapshot_key(order, str(payload["date_modified_gmt"])),
        occurred_at=order.updated_at,
        order_external_id=order.external_id,
        order=order,
    )


def _order(payload: Json, d: Delivery) -> OrderEvent | None:
    order_id_of(payload)
    if payload.get("status") in DRAFT_STATUSES:
        return None
    return order_event(payload, d.shop, d.topic)


def _order_deleted(payload: Json, d: Delivery) -> OrderEvent:
    order_id = order_id_of(payload)
    occurred_at = EPOCH
    stamp = d.headers.get(DELETED_AT)
    if stamp:
        try:
            occurred_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise MalformedPayload(f"{DELETED_AT}: not a date: {stamp[:40]!r}") from None
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
    # every trash of an order sends this same body: whether it is news is the stored order's deletion state
    # (a content key), so a second trash after a restore applies and a repeat of the first does not
    stamp_parts = () if occurred_at == EPOCH else (occurred_at.isoformat(),)
    return OrderEvent(
        kind=EventKind.ORDER_DELETED,
        topic=d.topic,
        dedupe_key=content_key(order_id, "deleted", *stamp_parts),
        occurred_at=occurred_at,
        order_external_id=order_id,
    )


# In the order ``ensure_webhooks`` creates them.
PARSERS: dict[str, Parser] = {
    "order.created": _order,
    "order.updated": _order,
    "order.deleted": _order_deleted,
    "order.restored": _order,
}

SUPPORTED_TOPICS: frozenset[str] = frozenset(PARSERS)

# Known and not handled: none today. Every ``order.*`` topic WooCommerce defines is in ``PARSERS``; the other
# resources (coupon, customer, product) and ``action.*`` topics are unknown to us, and answered the same way.
IGNORED_TOPICS: frozenset[str] = frozenset()

# The webhooks ``ensure_webhooks`` creates (WooCommerce's REST API takes the topic names themselves).
SUBSCRIBED_TOPICS: tuple[str, ...] = tuple(PARSERS)


class WooCommerceAdapter:
    """``PlatformAdapter`` for WooCommerce webhooks (REST v3 payloads)."""

    platform = Platform.WOOCOMMERCE

    @property
    def topics(self) -> frozenset[str]:
        return SUPPORTED_TOPICS

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
        return parse_delivery(
            PARSERS,
            self.topic(headers),
            body,
            lambda topic: Delivery(topic=topic, headers=headers, shop=shop),
            topic_header=TOPIC,
        )


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


ADAPTER: PlatformAdapter = WooCommerceAdapter()
