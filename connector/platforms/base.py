"""Protocols every platform package implements, the one parse contract they share, and the client errors.

Inbound: a ``PlatformAdapter`` names the shop a delivery claims to come from, verifies the raw body,
and parses it into an ``OrderEvent`` (pure; no I/O) through its topic table and ``parse_delivery``.
Outbound: a ``PlatformClient`` performs one planned action, can tell whether an action already happened
(replay after a crash), and reads orders changed since the last sync for the reconcile job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar, runtime_checkable

from connector.actions import ActionRequest
from connector.model import OrderEvent, Platform

Headers = Mapping[str, str]  # lower-case header names
Json = Mapping[str, Any]  # a decoded JSON object


class MalformedPayload(ValueError):
    """The body is not what the topic promises (bad JSON, missing fields): answered with 400."""


class PlatformError(Exception):
    """A call to a shop platform failed; ``platform_message`` is the platform's own words."""

    def __init__(self, message: str, *, platform_message: str | None = None, status: int | None = None):
        super().__init__(message)
        self.platform_message = platform_message or message
        self.status = status


class RetryableError(PlatformError):
    """Network trouble, 429/THROTTLED or 5xx: try again later (after ``retry_after`` seconds if known)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PermanentError(PlatformError):
    """Other 4xx or ``userErrors``: repeating the same call cannot succeed."""


@dataclass(frozen=True, slots=True)
class ShopContext:
    """What an adapter may know about the shop a delivery is for."""

    shop_id: str
    platform: Platform
    timezone: str
    country: str


# --- the parse contract (the same in every platform package) ---------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a topic parser gets besides the body: the topic, the delivery's headers and the shop.

    A platform may extend it with what it reads from its own headers before the body (Shopify: the webhook
    id it dedupes on and the triggered-at time).
    """

    topic: str
    headers: Headers
    shop: ShopContext


DeliveryT = TypeVar("DeliveryT", bound=Delivery)

TopicParser = Callable[[Json, DeliveryT], OrderEvent | None]
"""One entry of an adapter's ``PARSERS`` table: ``(payload, delivery) -> OrderEvent | None``.

``payload`` is the body decoded as a JSON object. None: the topic is supported but this body carries nothing
to store (a WooCommerce checkout draft, a Shopify hold body that does not name its order). Raises
``MalformedPayload`` for a body that does not fit the topic.
"""


def json_object(body: bytes) -> Json:
    """The raw body as a JSON object (numbers with a fraction as ``Decimal``), or ``MalformedPayload``."""
    try:
        payload = json.loads(body, parse_float=Decimal)
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError, an integer too long to convert
        raise MalformedPayload(f"body: not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise MalformedPayload(f"body: expected a JSON object, got {type(payload).__name__}")
    return payload


def parse_delivery(
    parsers: Mapping[str, TopicParser[DeliveryT]],
    topic: str | None,
    body: bytes,
    delivery: Callable[[str], DeliveryT],
    *,
    topic_header: str,
) -> OrderEvent | None:
    """The one parse flow of every adapter: topic header, table look-up, delivery, JSON object, parser.

    - no topic header: ``MalformedPayload`` naming ``topic_header``;
    - a topic that is not a key of ``parsers`` (an ``IGNORED_TOPICS`` one or one we have never heard of):
      None, before the headers or the body are read. This is the only rule for an unknown topic;
    - ``delivery(topic)`` builds what the parser gets from the headers (it may raise ``MalformedPayload``);
    - the body must be a JSON object (``json_object``); then the topic's parser decides.
    """
    if topic is None:
        raise MalformedPayload(f"{topic_header}: required header is missing")
    parser = parsers.get(topic)
    if parser is None:
        return None
    context = delivery(topic)
    return parser(json_object(body), context)


# --- dedupe keys (the same contract for webhooks and the reconcile listing) ------------------------

CONTENT_KEY_PREFIX = "content:"


def content_key(*parts: str) -> str:
    """The dedupe key of a delivery from a platform without a stable delivery id: it names what the delivery
    carries (WooCommerce: the order, its ``date_modified_gmt`` and a digest of what ordercare maps of it).

    Any other key names the delivery itself (Shopify's ``X-Shopify-Webhook-Id``), and a second delivery under
    it is a duplicate, full stop. A content key seen before is a duplicate only while the stored order still
    carries that content: the same content at the same timestamp can come back after something else (an
    address changed and changed back, a second trash after a restore), and then it is news again.
    """
    return CONTENT_KEY_PREFIX + ":".join(parts)


def is_content_key(key: str) -> bool:
    return key.startswith(CONTENT_KEY_PREFIX)


class PlatformAdapter(Protocol):
    """Inbound webhooks of one platform; ``ADAPTER`` in the platform package's ``adapter.py``.

    Every ``adapter.py`` has the same module-level names, so two platforms can be compared file by file:

    - ``PARSERS: dict[str, TopicParser]``: topic -> parser, the one dispatch table (no if/elif on topics);
    - ``SUPPORTED_TOPICS = frozenset(PARSERS)``: what ``topics`` returns;
    - ``IGNORED_TOPICS``: topics we know and deliberately do not handle (never keys of ``PARSERS``);
    - ``SUBSCRIBED_TOPICS``: what the client's ``ensure_webhooks`` registers, derived from ``PARSERS``;
    - ``sign(body, secret)``: the signature the platform sends, for tests and sandboxes; ``ADAPTER``.

    ``parse(headers, body, shop) -> OrderEvent | None`` runs ``parse_delivery`` over ``PARSERS``. Its outcomes
    are the HTTP contract of ``POST /webhooks/<platform>``:

    - an ``OrderEvent``: stored, 200;
    - None: acknowledged with 2xx and stored nowhere. That is the answer for an ignored topic, for a topic
      we have never heard of (platforms retry anything but 2xx, so an unknown topic is never an error), and
      for a supported topic whose body carries nothing to store;
    - ``MalformedPayload``: 400 (a body, or a header the topic needs, that does not fit the topic).

    The route asks ``topics`` first and answers any other topic 200 without parsing (a delivery without a
    topic header too); ``parse`` gives the same answer, None, for an adapter called directly.
    """

    platform: Platform

    @property
    def topics(self) -> frozenset[str]:
        """Supported topics: ``SUPPORTED_TOPICS``, the keys of the adapter's ``PARSERS``."""

    def shop_key(self, headers: Headers) -> str | None:
        """The shop the delivery claims to come from (normalised), or None if the header is missing."""

    def topic(self, headers: Headers) -> str | None: ...

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        """A platform's unsigned "hello" when a webhook is created (WooCommerce); answered 200."""

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[str]) -> bool:
        """Constant-time signature check of the raw body against any of the shop's secrets."""

    def parse(self, headers: Headers, body: bytes, shop: ShopContext) -> OrderEvent | None:
        """The event this delivery carries, or None: nothing to store (ignored or unknown topic, or no news).

        Raises ``MalformedPayload`` for a missing topic header or a body that does not fit its topic.
        """


class PlatformClient(Protocol):
    def perform(self, request: ActionRequest) -> dict[str, Any]:
        """Do one action; return what to remember of it (ids). Raise Retryable/PermanentError."""

    def already_done(self, request: ActionRequest) -> dict[str, Any] | None:
        """For a repeat attempt after a crash: the result if the action already took effect."""

    def changed_orders(self, since: datetime | None) -> Iterator[OrderEvent]:
        """Order snapshots changed since ``since`` (oldest first), for the reconcile job."""

    def ensure_webhooks(self, callback_url: str) -> list[str]:
        """Create or re-enable our webhook subscriptions; return what was changed."""

    def close(self) -> None: ...


@runtime_checkable
class RereadsOrders(Protocol):
    """A client whose ``changed_orders`` cannot see every change, so reconcile also reads named orders again.

    WooCommerce with the legacy post storage keeps ``date_modified`` on an address or meta-only save, so
    ``modified_after`` never lists a staff address fix or a carrier status written by a tracking plugin.
    """

    def read_orders(self, external_ids: Sequence[str]) -> Iterator[OrderEvent]:
        """Snapshots of these orders as the shop has them now (any order; ids it no longer has are skipped),
        with the same dedupe keys as their webhooks."""
