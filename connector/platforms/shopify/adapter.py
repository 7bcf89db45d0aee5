"""Inbound Shopify webhooks: which shop, is it genuine, and what it tells us (pure; no I/O).

``verify`` checks ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body) against every secret the
shop has (rotation), in constant time. ``parse`` follows the contract in ``connector.platforms.base``:
``parse_delivery`` over ``PARSERS``; ``SUPPORTED_TOPICS`` and ``SUBSCRIBED_TOPICS`` are derived from its
keys, and any other topic (``IGNORED_TOPICS`` or unknown) is answered with None. Headers arrive with
lower-case names; both the ``x-shopify-`` names and the newer un-prefixed ``shopify-`` names are read.

Supported topics answered with None (nothing to store): ``orders/edited`` (its body is only the edit's
line deltas; Shopify follows it with ``orders/updated`` carrying the whole order) and hold topics whose
body does not name the order (Shopify's fulfilment-order bodies carry only the fulfilment order id;
the reconcile job reads holds together with their order).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from connector.model import EventKind, Hold, OrderEvent, Platform
from connector.platforms.base import (
    Delivery,
    Headers,
    Json,
    MalformedPayload,
    PlatformAdapter,
    ShopContext,
    TopicParser,
    parse_delivery,
)
from connector.platforms.shopify import mapper

TOPIC = "x-shopify-topic"
DELETED_UNDATED = datetime(1970, 1, 1, tzinfo=UTC)  # ingest applies an undated deletion to the stored version


def header(headers: Headers, name: str) -> str | None:
    """``name`` without its prefix, e.g. ``topic``: reads ``x-shopify-topic`` or ``shopify-topic``."""
    for key in (f"x-shopify-{name}", f"shopify-{name}"):
        value = headers.get(key)
        if value:
            return value.strip()
    return None


def sign(body: bytes, secret: str) -> str:
    """The value Shopify puts in ``X-Shopify-Hmac-Sha256`` for this body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class ShopifyDelivery(Delivery):
    """The ``Delivery`` plus what Shopify's headers say before the body is read: dedupe key and time."""

    dedupe_key: str
    triggered_at: datetime | None

    def occurred_at(self, payload: Json) -> datetime:
        if self.triggered_at is not None:
            return self.triggered_at
        for key in ("updated_at", "created_at"):
            if payload.get(key):
                return mapper.parse_time(payload[key], key)
        raise MalformedPayload("x-shopify-triggered-at: header missing and the body has no updated_at")


def _delivery(topic: str, headers: Headers, shop: ShopContext) -> ShopifyDelivery:
    webhook_id = header(headers, "webhook-id")
    if not webhook_id:
        raise MalformedPayload("x-shopify-webhook-id: required header is missing")
    triggered = header(headers, "triggered-at")
    return ShopifyDelivery(
        topic=topic,
        headers=headers,
        shop=shop,
        dedupe_key=webhook_id,
        triggered_at=mapper.parse_time(triggered, "x-shopify-triggered-at") if triggered else None,
    )


Parser = TopicParser[ShopifyDelivery]


def _order(payload: Json, d: ShopifyDelivery) -> OrderEvent:
    order = mapper.order_from_rest(payload, d.shop)
    return OrderEvent(
        kind=EventKind.ORDER,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=d.triggered_at or order.updated_at,
        order_external_id=order.external_id,
        order=order,
    )


def _order_deleted(payload: Json, d: ShopifyDelivery) -> OrderEvent:
    """``orders/delete``: the body is only the order id (Shopify's sample: ``{"id": 820982911946154508}``)."""
    if payload.get("id") in (None, ""):
        raise MalformedPayload("id: required field is missing")
    order_id = mapper.external_id(payload, "order")
    return OrderEvent(
        kind=EventKind.ORDER_DELETED,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        # undated (no X-Shopify-Triggered-At): the deletion applies to whatever version is stored
        occurred_at=d.triggered_at or DELETED_UNDATED,
        order_external_id=order_id,
    )


def _order_edited(payload: Json, d: ShopifyDelivery) -> None:
    edit = payload.get("order_edit")
    if not isinstance(edit, Mapping) or edit.get("order_id") in (None, ""):
        raise MalformedPayload("order_edit.order_id: required field is missing")
    return None


def _shipment(payload: Json, d: ShopifyDelivery) -> OrderEvent:
    order_id, shipment = mapper.shipment_from_rest(payload)
    return OrderEvent(
        kind=EventKind.SHIPMENT,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=d.triggered_at or shipment.updated_at or d.occurred_at(payload),
        order_external_id=order_id,
        shipment=shipment,
    )


def _shipment_event(payload: Json, d: ShopifyDelivery) -> OrderEvent:
    order_id, shipment_id, event = mapper.shipment_event_from_rest(payload)
    return OrderEvent(
        kind=EventKind.SHIPMENT_EVENT,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=d.triggered_at or event.happened_at,
        order_external_id=order_id,
        shipment_id=shipment_id,
        shipment_event=event,
    )


def _hold_time(d: ShopifyDelivery) -> datetime:
    if d.triggered_at is None:
        raise MalformedPayload("x-shopify-triggered-at: required for hold topics (a hold body has no timestamp)")
    return d.triggered_at


def _hold_event(d: ShopifyDelivery, order_id: str, hold: Hold) -> OrderEvent:
    return OrderEvent(
        kind=EventKind.HOLD,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=_hold_time(d),
        order_external_id=order_id,
        hold=hold,
    )


def _hold_placed(payload: Json, d: ShopifyDelivery) -> OrderEvent | None:
    order_id, hold = mapper.hold_placed_from_rest(payload, _hold_time(d))
    return None if order_id is None else _hold_event(d, order_id, hold)


def _hold_released(payload: Json, d: ShopifyDelivery) -> OrderEvent | None:
    order_id, _fo_id, holds = mapper.holds_released_from_rest(payload, _hold_time(d))
    if order_id is None or not holds:
        return None
    # one event carries one hold; a release of several holds is answered by the reconcile job
    return _hold_event(d, order_id, holds[0])


def _shop_event(kind: EventKind) -> Parser:
    def parse(payload: Json, d: ShopifyDelivery) -> OrderEvent:
        return OrderEvent(kind=kind, topic=d.topic, dedupe_key=d.dedupe_key, occurred_at=d.occurred_at(payload))

    return parse


def _customer_event(kind: EventKind, orders_key: str) -> Parser:
    def parse(payload: Json, d: ShopifyDelivery) -> OrderEvent:
        return OrderEvent(
            kind=kind,
            topic=d.topic,
            dedupe_key=d.dedupe_key,
            occurred_at=d.occurred_at(payload),
            customer=mapper.customer_ref(payload, orders_key),
        )

    return parse


PARSERS: dict[str, Parser] = {
    "orders/create": _order,
    "orders/updated": _order,
    "orders/paid": _order,
    "orders/fulfilled": _order,
    "orders/partially_fulfilled": _order,
    "orders/cancelled": _order,
    "orders/edited": _order_edited,
    "orders/delete": _order_deleted,
    "fulfillments/create": _shipment,
    "fulfillments/update": _shipment,
    "fulfillment_events/create": _shipment_event,
    "fulfillment_orders/placed_on_hold": _hold_placed,
    "fulfillment_orders/hold_released": _hold_released,
    "app/uninstalled": _shop_event(EventKind.APP_UNINSTALLED),
    "shop/redact": _shop_event(EventKind.SHOP_REDACT),
    "customers/redact": _customer_event(EventKind.CUSTOMER_REDACT, "orders_to_redact"),
    "customers/data_request": _customer_event(EventKind.CUSTOMER_DATA_REQUEST, "orders_requested"),
}

SUPPORTED_TOPICS: frozenset[str] = frozenset(PARSERS)

# Known and not handled: Shopify's per-hold topics (its sample bodies are in tests/fixtures/shopify/webhooks/).
# We do not subscribe to them; holds reach us through ``fulfillment_orders/*`` and the reconcile job.
IGNORED_TOPICS: frozenset[str] = frozenset({"fulfillment_holds/added", "fulfillment_holds/released"})

# Declared in the app configuration (``compliance_topics``), not subscribed through the Admin API.
COMPLIANCE_TOPICS: frozenset[str] = frozenset({"customers/data_request", "customers/redact", "shop/redact"})

# GraphQL enum names of the topics ``ensure_webhooks`` subscribes to through the Admin API.
SUBSCRIBED_TOPICS: dict[str, str] = {
    topic: topic.upper().replace("/", "_") for topic in PARSERS if topic not in COMPLIANCE_TOPICS
}


class ShopifyAdapter:
    """``PlatformAdapter`` for Shopify webhooks (REST resource bodies)."""

    platform = Platform.SHOPIFY

    @property
    def topics(self) -> frozenset[str]:
        return SUPPORTED_TOPICS

    def shop_key(self, headers: Headers) -> str | None:
        domain = header(headers, "shop-domain")
        return domain.lower() if domain else None

    def topic(self, headers: Headers) -> str | None:
        return header(headers, "topic")

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        return False

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[str]) -> bool:
        given = header(headers, "hmac-sha256")
        if not given:
            return False
        given_bytes = given.encode("ascii", errors="replace")
        ok = False
        for secret in secrets:
            if secret and hmac.compare_digest(sign(body, secret).encode("ascii"), given_bytes):
                ok = True
        return ok

    def parse(self, headers: Headers, body: bytes, shop: ShopContext) -> OrderEvent | None:
        try:
            return parse_delivery(
                PARSERS,
                self.topic(headers),
                body,
                lambda topic: _delivery(topic, headers, shop),
                topic_header=TOPIC,
            )
        except (TypeError, ValueError, KeyError) as exc:
            if isinstance(exc, MalformedPayload):
                raise
            raise MalformedPayload(f"body: {type(exc).__name__}: {exc}") from None


ADAPTER: PlatformAdapter = ShopifyAdapter()
