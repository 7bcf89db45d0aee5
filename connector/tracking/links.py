"""Signed tracking-page links: one per order, signed from shop and order with the secret key, no row needed.

The token carries the shop id and the order's platform id with an HMAC-SHA256 signature, so it is the same
in every e-mail about the order and cannot be made without the secret key. It works while the order is open
and for ``KEPT_AFTER_CLOSE`` (60 days) after the order was delivered (or cancelled); it dies with the
customer's data erasure, which marks the stored order as redacted.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from connector.model import Order, OrderStatus
from connector.promises.rules import delivered_at

SALT = "ordercare.tracking-link"
KEPT_AFTER_CLOSE = timedelta(days=60)
_MAX_TOKEN = 512
_ENDED = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.FAILED})


class LinkState(enum.StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"  # forged, foreign, or the order is gone or erased: 404
    EXPIRED = "expired"  # more than 60 days after the order closed: 410


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def token_for(secret_key: str, shop_id: str, external_id: str) -> str:
    """The order's token: the same for every message about it."""
    return str(_serializer(secret_key).dumps([shop_id, external_id]))


def read(secret_key: str, token: str) -> tuple[str, str] | None:
    """(shop id, order platform id) from a token we signed; None for anything else."""
    if not token or len(token) > _MAX_TOKEN:
        return None
    try:
        value = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and v for v in value)):
        return None
    return value[0], value[1]


def page_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/track/{token}"


def lookup_url(public_url: str, shop_id: str) -> str:
    """The shop's lookup form, where a customer types the order number and the postcode or e-mail."""
    return f"{public_url.rstrip('/')}/track/lookup/{quote(shop_id, safe='')}"


def closed_at(order: Order) -> datetime | None:
    """When the order's story ended: cancelled, or shipped in full and every parcel delivered; None while open."""
    if order.status in _ENDED:
        return order.cancelled_at or order.updated_at
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        delivered = delivered_at(order)
        if delivered is not None:
            return delivered
        if order.status is OrderStatus.DELIVERED:
            return order.updated_at
    return None


def expires_at(order: Order) -> datetime | None:
    """When the order's link stops working; None while the order is open."""
    closed = closed_at(order)
    return closed + KEPT_AFTER_CLOSE if closed is not None else None


def erased(order: Order) -> bool:
    """The customer's data was erased (``connector.privacy``): the order has no page any more."""
    return bool(order.extra.get("redacted"))


def state(order: Order | None, now: datetime) -> LinkState:
    """Whether a link to ``order`` works at ``now``."""
    if order is None or erased(order):
        return LinkState.UNKNOWN
    ends = expires_at(order)
    if ends is not None and ends <= now:
        return LinkState.EXPIRED
    return LinkState.VALID


def order_page_url(secret_key: str, public_url: str, order: Order, now: datetime) -> str | None:
    """The link to ``order``'s page for a message sent at ``now``; None when the page would not open."""
    if state(order, now) is not LinkState.VALID:
        return None
    return page_url(public_url, token_for(secret_key, order.shop_id, order.external_id))
