"""Inbound Shopify webhooks: which shop, is it genuine, and what it tells us (pure; no I/O).

``verify`` checks ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body) against every secret the
shop has (rotation), in constant time. ``parse`` dispatches on the topic through ``_PARSERS``; the
supported topics are its keys. Headers arrive with lower-case names; both the ``x-shopify-`` names and
the newer un-prefixed ``shopify-`` names are read.

Topics answered with None (known, nothing to store): ``orders/edited`` (its body is only the edit's
line deltas; Shopify follows it with ``orders/updated`` carrying the whole order) and hold topics whose
body does not name the order (Shopify's fulfilment-order bodies carry only the fulfilment order id;
the reconcile job reads holds together with their order).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from connector.model import EventKind, OrderEvent, Platform
from connector.platforms.base import Headers, MalformedPayload, ShopContext
from connector.platforms.shopify import mapper


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
class Delivery:
    """What every parser gets: the topic, dedupe key and time from the headers, and the shop."""

    topic: str
    dedupe_key: str
    triggered_at: datetime | None
    shop: ShopContext

    def occurred_at(self, payload: Mapping[str, Any]) -> datetime:
        if self.triggered_at is not None:
            return self.triggered_at
        for key in ("updated_at", "created_at"):
            if payload.get(key):
                return mapper.parse_time(payload[key], key)
        raise MalformedPayload("x-shopify-triggered-at: header missing and the body has no updated_at")


Parser = Callable[[Mapping[str, Any], Delivery], OrderEvent | None]


def _order(payload: Mapping[str, Any], d: Delivery) -> OrderEvent:
    order = mapper.order_from_rest(payload, d.shop)
    return OrderEvent(
        kind=EventKind.ORDER,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=d.triggered_at or order.updated_at,
        order_external_id=order.external_id,
        order=order,
    )


def _order_edited(payload: Mapping[str, Any], d: Delivery) -> None:
    edit = payload.get("order_edit")
    if not isinstance(edit, Mapping) or edit.get("order_id") in (None, ""):
        raise MalformedPayload("order_edit.order_id: required field is missing")
    return None


def _shipment(payload: Mapping[str, Any], d: Delivery) -> OrderEvent:
    order_id, shipment = mapper.shipment_from_rest(payload)
    return OrderEvent(
        kind=EventKind.SHIPMENT,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=d.triggered_at or shipment.updated_at or d.occurred_at(payload),
        order_external_id=order_id,
        shipment=shipment,
    )


def _shipment_event(payload: Mapping[str, Any], d: Delivery) -> OrderEvent:
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


def _hold_time(d: Delivery) -> datetime:
    if d.triggered_at is None:
        raise MalformedPayload("x-shopify-triggered-at: required for hold topics (a hold body has no timestamp)")
    return d.triggered_at


def _hold_placed(payload: Mapping[str, Any], d: Delivery) -> OrderEvent | None:
    order_id, hold = mapper.hold_placed_from_rest(payload, _hold_time(d))
    if order_id is None:
        return None
    return OrderEvent(
        kind=EventKind.HOLD,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=_hold_time(d),
        order_external_id=order_id,
        hold=hold,
    )


def _hold_released(payload: Mapping[str, Any], d: Delivery) -> OrderEvent | None:
    order_id, _fo_id, holds = mapper.holds_released_from_rest(payload, _hold_time(d))
    if order_id is None or not holds:
        return None
    # one event carries one hold; a release of several holds is answered by the reconcile job
    return OrderEvent(
        kind=EventKind.HOLD,
        topic=d.topic,
        dedupe_key=d.dedupe_key,
        occurred_at=_hold_time(d),
        order_external_id=order_id,
        hold=holds[0],
    )


def _shop_event(kind: EventKind) -> Parser:
    def parse(payload: Mapping[str, Any], d: Delivery) -> OrderEvent:
        return OrderEvent(kind=kind, topic=d.topic, dedupe_key=d.dedupe_key, occurred_at=d.occurred_at(payload))

    return parse


def _customer_event(kind: EventKind, orders_key: str) -> Parser:
    def parse(payload: Mapping[str, Any], d: Delivery) -> OrderEvent:
        return OrderEvent(
            kind=kind,
            topic=d.topic,
            dedupe_key=d.dedupe_key,
            occurred_at=d.occurred_at(payload),
            customer=mapper.customer_ref(payload, orders_key),
        )

    return parse


_PARSERS: dict[str, Parser] = {
    "orders/create": _order,
    "orders/updated": _order,
    "orders/paid": _order,
    "orders/fulfilled": _order,
    "orders/partially_fulfilled": _order,
    "orders/cancelled": _order,
    "orders/edited": _order_edited,
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

# GraphQL enum names for the topics we subscribe to through the Admin API (compliance topics are
# declared in the app configuration, not through the API).
SUBSCRIBED_TOPICS: dict[str, str] = {
    topic: topic.upper().replace("/", "_")
    for topic in _PARSERS
    if topic not in ("customers/redact", "customers/data_request", "shop/redact")
}


class ShopifyAdapter:
    platform = Platform.SHOPIFY

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(_PARSERS)

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
        topic = self.topic(headers)
        if topic is None:
            raise MalformedPayload("x-shopify-topic: required header is missing")
        parser = _PARSERS.get(topic)
        if parser is None:
            raise MalformedPayload(f"x-shopify-topic: unsupported topic {topic!r}")
        webhook_id = header(headers, "webhook-id")
        if not webhook_id:
            raise MalformedPayload("x-shopify-webhook-id: required header is missing")
        triggered = header(headers, "triggered-at")
        delivery = Delivery(
            topic=topic,
            dedupe_key=webhook_id,
            triggered_at=mapper.parse_time(triggered, "x-shopify-triggered-at") if triggered else None,
            shop=shop,
        )
        try:
            payload = json.loads(body, parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedPayload(f"body: not valid JSON ({exc})") from None
        if not isinstance(payload, dict):
            raise MalformedPayload(f"body: expected a JSON object, got {type(payload).__name__}")
        try:
            return parser(payload, delivery)
        except (TypeError, ValueError, KeyError) as exc:
            if isinstance(exc, MalformedPayload):
                raise
            raise MalformedPayload(f"body: {type(exc).__name__}: {exc}") from None


ADAPTER = ShopifyAdapter()
