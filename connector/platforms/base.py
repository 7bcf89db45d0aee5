"""Protocols every platform package implements, and the errors its client raises.

Inbound: a ``PlatformAdapter`` names the shop a delivery claims to come from, verifies the raw body,
and parses it into an ``OrderEvent`` (pure; no I/O). Outbound: a ``PlatformClient`` performs one
planned action, can tell whether an action already happened (replay after a crash), and reads orders
changed since the last sync for the reconcile job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from connector.actions import ActionRequest
from connector.model import OrderEvent, Platform

Headers = Mapping[str, str]  # lower-case header names


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


class PlatformAdapter(Protocol):
    platform: Platform

    @property
    def topics(self) -> frozenset[str]:
        """Supported topics, derived from the adapter's dispatch dict."""

    def shop_key(self, headers: Headers) -> str | None:
        """The shop the delivery claims to come from (normalised), or None if the header is missing."""

    def topic(self, headers: Headers) -> str | None: ...

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        """A platform's unsigned "hello" when a webhook is created (WooCommerce); answered 200."""

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[str]) -> bool:
        """Constant-time signature check of the raw body against any of the shop's secrets."""

    def parse(self, headers: Headers, body: bytes, shop: ShopContext) -> OrderEvent | None:
        """The event this delivery carries, or None for a known topic we ignore.

        Raises ``MalformedPayload`` for a body that does not fit its topic.
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
