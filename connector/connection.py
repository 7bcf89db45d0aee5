"""Whether each shop is connected: credentials, scopes or key permissions, webhooks, last delivery; a line each."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

from connector.admin.shop_status import shop_statuses
from connector.leases import acquire, release
from connector.model import Platform
from connector.platforms.base import PlatformClient, PlatformError
from connector.platforms.shopify.adapter import SUBSCRIBED_TOPICS as SHOPIFY_TOPICS
from connector.platforms.shopify.client import ShopifyClient
from connector.platforms.shopify.scopes import topic_blocked
from connector.platforms.woocommerce.adapter import SUBSCRIBED_TOPICS as WOOCOMMERCE_TOPICS
from connector.platforms.woocommerce.client import WooCommerceClient, error_code
from connector.shops import Shop, signature_failures
from connector.store.db import transaction

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.services import Services

log = logging.getLogger(__name__)

PLATFORM_NAMES = {Platform.SHOPIFY: "Shopify", Platform.WOOCOMMERCE: "WooCommerce"}

# A route WooCommerce does not have. WooCommerce checks a key's permissions for the request method before it looks
# the route up (``WC_REST_Authentication::check_user_permissions`` on ``rest_pre_dispatch``), so a POST here answers
# 401 "The API key provided does not have write permissions." to a read-only key and 404 ``rest_no_route`` to a
# key that may write, and changes nothing either way.
WRITE_PROBE = "ordercare-connection-check"
NO_WRITE = "does not have write permissions"
NO_READ = "does not have read permissions"
WOOCOMMERCE_KEYS_PAGE = "WooCommerce > Settings > Advanced > REST API"

# how the clients say that an answer came but was not the platform's API (an HTML page, a proxy's error page)
_NOT_THE_API = ("not JSON", "unexpected body", "expected a list", "sent no data")

REPAIR_LEASE_SECONDS = 5 * 60  # the reconcile's lease, held while the start-up check repairs a shop's webhooks


@dataclass(frozen=True)
class Hints:
    """Where an operator fixes a shop: the keys of its credentials and of its address, in words."""

    credentials: str
    address: str


@dataclass(frozen=True)
class Webhooks:
    """The shop's webhooks to ordercare's delivery URL: topics that work, of those expected, and what is wrong."""

    working: int
    expected: int
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectionCheck:
    """One shop's connection as the platform answered it."""

    shop_id: str
    platform: Platform
    timezone: str = "UTC"
    failure: str | None = None  # the shop could not be asked: refused, unreachable, an error, paused
    webhooks: Webhooks | None = None
    missing_scopes: tuple[str, ...] = ()  # Shopify
    key_permissions: str | None = None  # WooCommerce: read_write or read
    problems: tuple[str, ...] = ()  # wrong although the shop answers: scopes, key permissions, a failed repair
    last_delivery_at: datetime | None = None

    @property
    def every_problem(self) -> tuple[str, ...]:
        """The shop's own problems, then its webhooks'."""
        return self.problems + (self.webhooks.problems if self.webhooks is not None else ())

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.every_problem

    def line(self) -> str:
        """``fietsen: connected, 14/14 webhooks, 0 missing scopes, no delivery yet``, or the problem in words."""
        if self.failure is not None:
            return f"{self.shop_id}: {self.failure}"
        parts = ["connected"]
        if self.webhooks is not None:
            parts.append(f"{self.webhooks.working}/{self.webhooks.expected} webhooks")
        if self.platform == Platform.SHOPIFY:
            count = len(self.missing_scopes)
            parts.append(f"{count} missing scope{'' if count == 1 else 's'}")
        elif self.key_permissions is not None:
            parts.append(f"key {self.key_permissions}")
        if self.last_delivery_at is None:
            parts.append("no delivery yet")
        else:
            local = self.last_delivery_at.astimezone(ZoneInfo(self.timezone))
            parts.append(f"last delivery {local.strftime('%Y-%m-%d %H:%M %Z')}")
        text = f"{self.shop_id}: {', '.join(parts)}"
        return text + "".join(f"; {problem}" for problem in self.every_problem)


# --- decisions on what the platform answered (pure) ------------------------------------------------------


def hints(shop: Shop, settings: Settings) -> Hints:
    """The keys to check for a shop from the config file (``shops[1].consumer_key``), or what to do for an
    installed one."""
    index = next((i for i, s in enumerate(settings.shops) if s.id == shop.id), None)
    if shop.source != "config" or index is None:
        again = "install the app in the shop again" if shop.platform == Platform.SHOPIFY else "connect the shop again"
        return Hints(credentials=again, address="the shop's address")
    config = settings.shops[index]
    key = f"shops[{index}]"
    if shop.platform == Platform.WOOCOMMERCE:
        credentials = f"check {key}.consumer_key and {key}.consumer_secret"
    elif config.client_id:
        credentials = f"check {key}.client_id and {key}.client_secret"
    else:
        credentials = f"check {key}.access_token"
    address = (
        f"{key}.api_base_url"
        if config.api_base_url
        else (f"{key}.url" if shop.platform == Platform.WOOCOMMERCE else f"{key}.shop_domain")
    )
    return Hints(credentials=credentials, address=address)


def _platform_words(error: PlatformError) -> str:
    """The status and the platform's own words for an error (``401 woocommerce_rest_cannot_view: ...``, Shopify's
    ``errors``), or only the status when the platform said nothing more."""
    own = error.platform_message == str(error)  # the client's words, not the platform's
    text = (error.platform_message or "").strip().rstrip(":").rstrip()  # "503: " when the body said nothing
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("errors"), str):
        text = data["errors"]
    if error.status is None or text.startswith(str(error.status)):
        return text[:300]
    return str(error.status) if own or not text else f"{error.status}: {text[:300]}"


def _network_problem(error: BaseException) -> str | None:
    """What went wrong on the way to the shop, from the requests error behind ``error``; None if none did."""
    cause: BaseException | None = error
    while cause is not None and (
        not isinstance(cause, requests.RequestException) or isinstance(cause, requests.exceptions.InvalidJSONError)
    ):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return None
    text = str(cause)
    if isinstance(cause, requests.Timeout):
        return "did not answer in time"
    if "Connection refused" in text:
        return "refused the connection"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "is not a known host name"
    if isinstance(cause, requests.exceptions.SSLError):
        return "answered with a TLS certificate ordercare does not trust"
    return f"could not be reached ({type(cause).__name__})"


def failure(error: PlatformError, platform: Platform, host: str, hint: Hints) -> str:
    """Why a shop could not be asked, in words: refused credentials, a shop that is down or unreachable, an
    answer that is not the platform's API, a pause."""
    name = PLATFORM_NAMES[platform]
    paused = getattr(error, "pause_reason", None)
    if paused:
        return f"paused: {paused}"
    status = error.status
    words = _platform_words(error)
    if status == 401 and NO_READ in words:
        return (
            f"not connected: the API key may not read ({name}: {words}); ordercare needs a key with Read/Write "
            f"permissions ({WOOCOMMERCE_KEYS_PAGE})"
        )
    if status == 401:
        return f"not connected: {name} refused the credentials ({words}); {hint.credentials}"
    if status == 403:
        return f"not connected: {name} refused access ({words}); {hint.credentials}"
    if status == 429:
        return f"not checked: {name} is limiting ordercare's requests ({words}); try again in a minute"
    if status is not None and status >= 500:
        return f"not checked: {name} answered with a server error ({words}); try again later"
    network = _network_problem(error)
    if network is not None:
        return f"not reachable: {host} {network}; check {hint.address} and that the shop is up"
    if any(words in str(error) for words in _NOT_THE_API):
        return f"not checked: {host} answered, but not as the {name} API does (not JSON); check {hint.address}"
    return f"not checked: {str(error)[:300]}"


def shopify_webhooks(
    subscriptions: Sequence[Mapping[str, Any]], callback_url: str, reasons: Mapping[str, str] | None = None
) -> Webhooks:
    """Shopify's subscriptions against the topics ordercare subscribes to at ``callback_url``; ``reasons``: why a
    topic has no subscription, as the last attempt to create it found."""
    reasons = reasons or {}
    present = {(str(s.get("topic")), str(s.get("uri"))) for s in subscriptions}
    missing = [topic for topic, enum in SHOPIFY_TOPICS.items() if (enum, callback_url) not in present]
    plain = [topic for topic in missing if not reasons.get(topic)]
    problems = [f"no webhook for {', '.join(plain)}"] if plain else []
    problems += [f"no webhook for {topic}: {reasons[topic]}" for topic in missing if reasons.get(topic)]
    return Webhooks(len(SHOPIFY_TOPICS) - len(missing), len(SHOPIFY_TOPICS), tuple(problems))


def declared_webhooks(granted: Sequence[str]) -> Webhooks:
    """Subscriptions declared in ``shopify.app.toml`` (the Admin API does not list them): a topic works when its
    scopes are granted."""
    problems = []
    for topic in SHOPIFY_TOPICS:
        needs = topic_blocked(granted, topic)
        if needs:
            problems.append(
                f"no webhook for {topic}: declared in shopify.app.toml, but Shopify delivers it only with "
                f"{', '.join(needs)}, which is not granted"
            )
    return Webhooks(len(SHOPIFY_TOPICS) - len(problems), len(SHOPIFY_TOPICS), tuple(problems))


def _hook_trouble(hook: Mapping[str, Any]) -> str:
    status = str(hook.get("status") or "")
    failures = int(hook.get("failure_count") or 0)
    if status != "active":
        return f"webhook {hook.get('id')} ({hook.get('topic')}) is {status or 'in an unknown state'}"
    return f"webhook {hook.get('id')} ({hook.get('topic')}): its last {failures} deliveries failed"


def woocommerce_webhooks(
    hooks: Sequence[Mapping[str, Any]], callback_url: str, signature_failures: int = 0
) -> Webhooks:
    """WooCommerce's webhooks to ``callback_url`` against the topics ordercare needs: a topic works when one of
    its webhooks is active with no failed delivery since its last success; ``signature_failures``: deliveries
    that failed ordercare's signature check since the last webhook check."""
    problems: list[str] = []
    missing: list[str] = []
    working = 0
    for topic in WOOCOMMERCE_TOPICS:
        ours = [h for h in hooks if h.get("delivery_url") == callback_url and h.get("topic") == topic]
        if any(h.get("status") == "active" and not int(h.get("failure_count") or 0) for h in ours):
            working += 1
        elif not ours:
            missing.append(topic)
        else:
            problems += [_hook_trouble(h) for h in ours]
    if missing:
        problems.insert(0, f"no webhook for {', '.join(missing)}")
    if signature_failures:
        plural = "delivery" if signature_failures == 1 else "deliveries"
        problems.append(
            f"{signature_failures} {plural} failed the signature check since the last webhook check "
            "(signed with a secret ordercare does not have)"
        )
    return Webhooks(working, len(WOOCOMMERCE_TOPICS), tuple(problems))


def key_permissions(probe: PlatformError | None) -> str | None:
    """A WooCommerce key's permissions from the answer to the write probe: ``read_write``, ``read``, or None when
    the answer does not tell (the probe's own error is then reported elsewhere)."""
    if probe is None or (probe.status == 404 and error_code(probe) == "rest_no_route"):
        return "read_write"  # nothing can answer 2xx at the probe's route; 404 means the key passed the check
    if probe.status == 401 and NO_WRITE in _platform_words(probe):
        return "read"
    return None


def read_only_key() -> str:
    return (
        "the API key may only read; ordercare writes notes, tags and coupons and creates its webhooks, so it "
        f"needs a key with Read/Write permissions ({WOOCOMMERCE_KEYS_PAGE})"
    )


# --- asking the shop -------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What the check of one shop needs besides its client."""

    shop: Shop
    callback_url: str
    hint: Hints
    host: str
    repair: Callable[[Callable[[], object]], bool]  # a webhook repair under the shop's reconcile lease: if it ran
    # deliveries that failed the signature check since the last webhook check (read after any repair)
    signature_failures: Callable[[], int]
    problems: list[str] = field(default_factory=list)


def _repairing(ctx: _Context, what: Callable[[], object]) -> bool:
    """Run a repair; whether it ran (a repair that failed ran too, and is a problem of its own)."""
    try:
        return ctx.repair(what)
    except PlatformError as exc:
        ctx.problems.append(f"webhooks not repaired: {_platform_words(exc)}")
        return True


def _ask_shopify(client: PlatformClient, ctx: _Context) -> dict[str, Any]:
    if not isinstance(client, ShopifyClient):
        raise TypeError(f"shop {ctx.shop.id!r}: expected a Shopify client, got {type(client).__name__}")
    scopes = client.check_access()
    if scopes.missing:
        ctx.problems.append(scopes.describe())
    if client.subscriptions == "declared":
        return {"missing_scopes": scopes.missing, "webhooks": declared_webhooks(scopes.granted)}
    _repairing(ctx, lambda: client.ensure_webhooks(ctx.callback_url))
    hooks = shopify_webhooks(client.webhook_subscriptions(), ctx.callback_url, client.missing_topics)
    return {"missing_scopes": scopes.missing, "webhooks": hooks}


def _ask_woocommerce(client: PlatformClient, ctx: _Context) -> dict[str, Any]:
    if not isinstance(client, WooCommerceClient):
        raise TypeError(f"shop {ctx.shop.id!r}: expected a WooCommerce client, got {type(client).__name__}")
    listed = list(client.paged("webhooks"))  # the first call: the credentials and the read permission
    try:
        client.request("POST", WRITE_PROBE, {})
        probe: PlatformError | None = None
    except PlatformError as exc:
        probe = exc
    permissions = key_permissions(probe)
    if permissions == "read":
        ctx.problems.append(read_only_key())
    elif permissions is None and probe is not None:
        ctx.problems.append(f"key permissions not known: {_platform_words(probe)}")
    if permissions == "read_write" and _repairing(ctx, lambda: client.ensure_webhooks(ctx.callback_url)):
        listed = list(client.paged("webhooks"))
    hooks = woocommerce_webhooks(listed, ctx.callback_url, ctx.signature_failures())
    return {"key_permissions": permissions, "webhooks": hooks}


_ASK: dict[Platform, Callable[[PlatformClient, _Context], dict[str, Any]]] = {
    Platform.SHOPIFY: _ask_shopify,
    Platform.WOOCOMMERCE: _ask_woocommerce,
}


def _host(shop: Shop) -> str:
    base = shop.api_base_url or str(shop.credentials.get("url") or "") or shop.key
    parts = urlsplit(base if "//" in base else f"//{base}")
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or shop.key
    return f"{host}:{port}" if port else host


def check_shop(
    services: Services,
    shop: Shop,
    make_client: Callable[[], PlatformClient],
    now: datetime,
    *,
    repair_as: str | None = None,
) -> ConnectionCheck:
    """Ask one shop through its platform client (made by ``make_client``): credentials, scopes or key permissions,
    its webhooks to ordercare. With ``repair_as`` (a worker's name), missing or broken webhooks are first made
    right as the reconcile does, under the shop's reconcile lease (skipped while another worker holds it)."""
    settings = services.settings
    callback = settings.public_url.rstrip("/") + f"/webhooks/{shop.platform.value}"
    with services.sessions() as session:
        status = next(iter(shop_statuses(session, services.shops.box, [shop.id], now)), None)
    last_delivery = status.last_delivery_at if status is not None else None

    def failed_signatures() -> int:
        with services.sessions() as session:
            current = next(iter(shop_statuses(session, services.shops.box, [shop.id], now)), None)
            since = current.webhooks_checked_at if current is not None else None
            return sum(f.count for f in signature_failures(session, shop.id, since).values())

    def repair(what: Callable[[], object]) -> bool:
        if repair_as is None:
            return False
        lease = f"reconcile:{shop.id}"
        with transaction(services.sessions) as session:
            if not acquire(session, lease, repair_as, now, REPAIR_LEASE_SECONDS):
                return False  # another worker is reconciling this shop: it repairs the webhooks itself
        try:
            what()
        finally:
            with transaction(services.sessions) as session:
                release(session, lease, repair_as)
        return True

    ctx = _Context(shop, callback, hints(shop, settings), _host(shop), repair, failed_signatures)
    base = ConnectionCheck(shop.id, shop.platform, timezone=shop.timezone, last_delivery_at=last_delivery)
    try:
        answers = _ASK[shop.platform](make_client(), ctx)
    except PlatformError as exc:
        return replace(base, failure=failure(exc, shop.platform, ctx.host, ctx.hint))
    except Exception as exc:  # a bug must not hide the other shops' lines
        log.exception("connection check failed", extra={"shop": shop.id})
        return replace(base, failure=f"not checked: {type(exc).__name__}: {str(exc)[:200]}")
    return replace(base, problems=tuple(ctx.problems), **answers)


def check_shops(
    services: Services,
    client_for: Callable[[Shop], PlatformClient],
    *,
    shop_id: str | None = None,
    repair_as: str | None = None,
) -> list[ConnectionCheck]:
    """Every active shop's check (or ``shop_id``'s, whatever its status), in id order, at the service clock's now."""
    now = services.now()
    if shop_id is not None:
        one = services.shops.get(shop_id)
        shops = [one] if one is not None else []
    else:
        shops = services.shops.all(active_only=True)
    checks = []
    for shop in shops:
        if shop.active:
            checks.append(check_shop(services, shop, partial(client_for, shop), now, repair_as=repair_as))
        else:
            checks.append(ConnectionCheck(shop.id, shop.platform, shop.timezone, failure=f"{shop.status}; not checked"))
    return checks


__all__ = [
    "ConnectionCheck",
    "Hints",
    "Webhooks",
    "check_shop",
    "check_shops",
    "declared_webhooks",
    "failure",
    "hints",
    "key_permissions",
    "shopify_webhooks",
    "woocommerce_webhooks",
]
