"""Outbound Shopify: the GraphQL Admin API client the outbox and the reconcile job use.

One reused ``requests.Session`` with timeouts per shop. Calls are paced by the cost bucket Shopify
reports in ``extensions.cost.throttleStatus`` (we wait before a call the bucket cannot afford, for as
long as the restore rate needs, never a fixed sleep). Errors become ``RetryableError`` (network, 429,
5xx, THROTTLED, garbage bodies) or ``PermanentError`` (other 4xx, GraphQL errors, ``userErrors``) with
Shopify's own message. Expiring offline tokens are refreshed shortly before they expire.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import requests

from connector.actions import ActionKind, ActionRequest
from connector.clock import Clock
from connector.config import DEFAULT_COMBINES_WITH
from connector.model import EventKind, Order, OrderEvent, Platform
from connector.platforms.base import PermanentError, PlatformError, RetryableError, ShopContext
from connector.platforms.shopify import auth, install, mapper
from connector.platforms.shopify.adapter import SUBSCRIBED_TOPICS
from connector.platforms.shopify.documents import DOCUMENTS
from connector.platforms.shopify.scopes import (
    Denial,
    DenialLog,
    ScopeCheck,
    check,
    required_scopes,
    split_denials,
    topic_blocked,
)
from connector.reports import replacement

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.shops import Shop

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-10"
HOLD_HANDLE = mapper.OUR_HOLD_HANDLE
PACING_MARGIN_SECONDS = 0.02  # clocks on both sides round; arrive just after the bucket can afford the call
NOTE_LIMIT = 5000  # Order.note: "The maximum length is 5000 characters" (2026-10 schema)
# a line ordercare wrote into a note: "<d MMM yyyy HH:mm> ordercare: ..." (connector.policies.notes.render_note)
_OUR_NOTE_LINE = re.compile(r"^\d{1,2} \S+ \d{4} \d{1,2}:\d{2} ordercare: ")
# DiscountCombinesWithInput: every class defaults to false (2026-10 schema); ours stack with shipping discounts
# unless the shop's ``voucher_combines_with`` says otherwise (DEFAULT_COMBINES_WITH)
COMBINES_WITH_FIELDS = {"order": "orderDiscounts", "product": "productDiscounts", "shipping": "shippingDiscounts"}
DEPRECATED_HEADER = "X-Shopify-API-Deprecated-Reason"
# A frozen, locked or closed shop (https://shopify.dev/docs/api/usage/response-codes; closed shops send no
# app/uninstalled and answer 402/404: community.shopify.dev/t/uninstalled-webhooks-for-closed-shops/1840).
PAUSE_SECONDS = 15 * 60  # no call to such a shop for this long, unless the reconcile check finds it open
_UNAVAILABLE = {
    402: "Shopify answered 402 Payment Required: the shop is frozen (its Shopify bill is unpaid)",
    404: "Shopify answered 404 Not Found: the shop is closed or no longer exists",
    423: "Shopify answered 423 Locked: Shopify has locked the shop",
}
_HOLD_REASONS = frozenset(
    {
        "AWAITING_PAYMENT",
        "HIGH_RISK_OF_FRAUD",
        "INCORRECT_ADDRESS",
        "INVENTORY_OUT_OF_STOCK",
        "UNKNOWN_DELIVERY_DATE",
        "ONLINE_STORE_POST_PURCHASE_CROSS_SELL",
        "AWAITING_RETURN_ITEMS",
        "OTHER",
    }
)
_REASON_ALIASES = {"address": "INCORRECT_ADDRESS", "payment": "AWAITING_PAYMENT", "fraud": "HIGH_RISK_OF_FRAUD"}


@dataclass
class CostBucket:
    """What we know of the shop's leaky bucket, from the last ``throttleStatus`` we saw."""

    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 100.0
    seen_at: float | None = None

    def predicted(self, now: float) -> float:
        if self.seen_at is None:
            return self.available
        return min(self.maximum, self.available + (now - self.seen_at) * self.restore_rate)

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until the bucket can afford ``cost`` (0 if it can now)."""
        missing = min(cost, self.maximum) - self.predicted(now)
        return max(0.0, missing / self.restore_rate) if self.restore_rate > 0 else 0.0

    def update(self, status: Mapping[str, Any], now: float) -> None:
        try:
            self.maximum = float(status.get("maximumAvailable", self.maximum))
            self.available = float(status.get("currentlyAvailable", self.available))
            self.restore_rate = float(status.get("restoreRate", self.restore_rate)) or self.restore_rate
        except (TypeError, ValueError):
            return
        self.seen_at = now

    def spend(self, cost: float, now: float) -> None:
        self.available = self.predicted(now) - cost
        self.seen_at = now


class Throttled(RetryableError):
    """Shopify answered THROTTLED: the bucket could not afford the document; ``retry_after`` says for how long."""


class ShopUnavailable(RetryableError):
    """The shop is frozen, locked or closed: it is paused (no calls) until a reconcile check finds it open."""

    def __init__(self, message: str, *, status: int, until: float) -> None:
        reason = f"{message}; ordercare makes no calls to it until the next reconcile check finds it open again"
        super().__init__(reason, retry_after=PAUSE_SECONDS, platform_message=reason, status=status)
        self.pause_reason = reason
        self.until = until


def _user_errors(payload: Mapping[str, Any] | None, operation: str) -> None:
    errors = (payload or {}).get("userErrors") or []
    if errors:
        message = "; ".join(
            (f"{'.'.join(str(p) for p in e.get('field') or [])}: " if e.get("field") else "") + str(e.get("message"))
            for e in errors
        )
        raise PermanentError(f"{operation} refused: {message}", platform_message=message)


def edit_payload(payload: Mapping[str, Any]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """An EDIT_ORDER_LINES payload as (line id, new quantity) and (variant id, quantity) pairs, or PermanentError."""
    sets: list[tuple[str, int]] = []
    adds: list[tuple[str, int]] = []
    for key, pairs, name, low in (("set", sets, "line_id", 0), ("add", adds, "variant_id", 1)):
        items = payload.get(key) or []
        if not isinstance(items, list):
            raise PermanentError(f"payload.{key}: expected a list")
        for index, item in enumerate(items):
            ident = item.get(name) if isinstance(item, Mapping) else None
            quantity = item.get("quantity") if isinstance(item, Mapping) else None
            if not ident or isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < low:
                raise PermanentError(f"payload.{key}[{index}]: needs {name} and a quantity of at least {low}")
            pairs.append((str(ident), quantity))
    if not sets and not adds:
        raise PermanentError("payload: nothing to change (no set, no add)")
    return sets, adds


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PermanentError(f"payload.{field}: not a number: {value!r}") from None


def _require(payload: Mapping[str, Any], key: str) -> Any:
    value = payload.get(key)
    if value in (None, "", [], {}):
        raise PermanentError(f"payload.{key}: required for this action")
    return value


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compose_address1(address: Mapping[str, Any]) -> str | None:
    """``address1`` as given, or built from street + house number + addition (``Hoofdstraat 12a``)."""
    if address.get("address1"):
        return str(address["address1"])
    street, number = address.get("street"), address.get("house_number")
    if not street:
        return None
    addition = str(address.get("house_number_addition") or "")
    if not number:
        return str(street)
    joined = f"{number}{addition}" if len(addition) == 1 and addition.isalpha() else f"{number} {addition}".strip()
    return f"{street} {joined}"


def mailing_address(address: Mapping[str, Any]) -> dict[str, Any]:
    """Our Address fields -> ``MailingAddressInput`` (``countryCode``/``provinceCode``, not the deprecated names)."""
    fields = {
        "firstName": address.get("first_name"),
        "lastName": address.get("last_name"),
        "company": address.get("company"),
        "address1": compose_address1(address),
        "address2": address.get("address2"),
        "zip": address.get("postcode"),
        "city": address.get("city"),
        "provinceCode": address.get("province_code"),
        "countryCode": (str(address["country_code"]).upper() if address.get("country_code") else None),
        "phone": address.get("phone"),
    }
    return {k: v for k, v in fields.items() if v not in (None, "")}


def _same_address(current: Mapping[str, Any] | None, target: Mapping[str, Any]) -> bool:
    if current is None:
        return False

    def norm(value: Any) -> str:
        return "".join(str(value or "").split()).upper()

    pairs = {
        "address1": "address1",
        "address2": "address2",
        "zip": "zip",
        "city": "city",
        "countryCode": "countryCodeV2",
        "provinceCode": "provinceCode",
        "firstName": "firstName",
        "lastName": "lastName",
    }
    return all(norm(target.get(ours)) == norm(current.get(theirs)) for ours, theirs in pairs.items() if ours in target)


class ShopifyClient:
    """``PlatformClient`` for one shop. Thread-safe enough for one worker thread per shop."""

    def __init__(
        self,
        shop: ShopContext,
        *,
        shop_key: str,
        base_url: str,
        credentials: Mapping[str, Any],
        api_version: str = DEFAULT_API_VERSION,
        app: install.AppCredentials | None = None,
        http: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 20.0),
        max_wait_seconds: float = 30.0,
        page_size: int = 10,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        on_tokens: Callable[[dict[str, Any]], None] | None = None,
        tokens: auth.TokenStore | None = None,
        own_app: install.AppCredentials | None = None,
        subscriptions: str = "api",
        options: tuple[str, ...] = (),
        combines_with: Sequence[str] = DEFAULT_COMBINES_WITH,
    ) -> None:
        self.shop = shop
        self.shop_key = shop_key
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.endpoint = f"{self.base_url}/admin/api/{api_version}/graphql.json"
        self.app = app
        self.http = http or requests.Session()
        # the token is read from ``tokens`` (the shop's row) on every call; without a store, from ``credentials``
        self.tokens = auth.AccessTokens(
            tokens if tokens is not None else auth.MemoryTokens(credentials, on_save=on_tokens),
            shop_id=shop.shop_id,
            base_url=self.base_url,
            http=self.http,
            clock=clock,
            app=app,
            own_app=own_app,
        )
        self.timeout = timeout
        self.max_wait_seconds = max_wait_seconds
        self.page_size = page_size
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self.on_close: Callable[[], None] | None = None
        self.bucket = CostBucket()
        self._costs: dict[str, float] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.options = options  # the shop's options that need scopes of their own (``scopes.required_scopes``)
        self.subscriptions = subscriptions  # "api": ensure_webhooks creates them; "declared": shopify.app.toml does
        self.combines_with = tuple(combines_with)
        self.denials = DenialLog(shop.shop_id)  # fields Shopify refused, each logged once for this shop
        self.last_denied: tuple[Denial, ...] = ()  # of the last call
        self.granted: tuple[str, ...] | None = None  # the scopes the last check_access read
        self.missing_topics: dict[str, str] = {}  # topic -> why it has no subscription (last ensure_webhooks)
        self.deprecations: dict[str, str] = {}  # document -> Shopify's X-Shopify-API-Deprecated-Reason
        self.unavailable: ShopUnavailable | None = None  # set by 402/404/423: the shop is paused

    # --- transport ---------------------------------------------------------------------------------

    def _token(self) -> str:
        """The shop's current access token (read from the store, renewed first when it is about to expire)."""
        return self.tokens.current()

    def _pace(self, name: str) -> None:
        cost = self._costs.get(name, 10.0)
        with self._lock:
            wait = self.bucket.wait_for(cost, self.monotonic())
        if wait > self.max_wait_seconds:
            raise RetryableError(f"rate limit: {name} must wait {wait:.1f}s", retry_after=wait)
        if wait > 0:
            self.sleep(wait + PACING_MARGIN_SECONDS)

    def execute(self, name: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run one named document; return its ``data`` or raise Retryable/PermanentError."""
        document = DOCUMENTS[name]
        paused = self.unavailable
        if paused is not None and name != "AppAccessScopes":  # the reconcile check is the one call that probes
            if self.monotonic() < paused.until:
                raise paused
            self.unavailable = None
        for attempt in (1, 2):
            self._pace(name)
            token = self._token()
            response = self._post(name, document, variables, token)
            if response.status_code == 401:  # a 401 runs nothing: reload or renew the token, then once more
                fresh = self.tokens.refused(token)
                if fresh is not None:
                    response = self._post(name, document, variables, fresh)
            try:
                return self._handle(name, response)
            except Throttled as exc:
                # THROTTLED runs nothing; now that the document's cost is known, wait for it once (Shopify's
                # advice: shopify.dev/docs/api/usage/rate-limits), unless that wait is longer than we may wait
                wait = exc.retry_after or 0.0
                if attempt == 2 or wait > self.max_wait_seconds:
                    raise
                self.sleep(wait + PACING_MARGIN_SECONDS)
        raise AssertionError("unreachable")

    def _post(self, name: str, document: str, variables: Mapping[str, Any] | None, token: str) -> requests.Response:
        headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json"}
        self.calls += 1
        try:
            return self.http.post(
                self.endpoint,
                json={"query": document, "variables": dict(variables or {}), "operationName": name},
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise RetryableError(f"{name}: Shopify did not answer in time") from None
        except requests.RequestException as exc:
            raise RetryableError(f"{name}: network error: {type(exc).__name__}") from None

    def _handle(self, name: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        self.last_denied = ()
        self._deprecated(name, response)
        if status in _UNAVAILABLE:
            self.unavailable = ShopUnavailable(
                f"{_UNAVAILABLE[status]} ({name})", status=status, until=self.monotonic() + PAUSE_SECONDS
            )
            log.warning("shop %s paused: %s", self.shop.shop_id, self.unavailable.pause_reason)
            raise self.unavailable
        self.unavailable = None
        if status == 429:
            retry_after = _float(response.headers.get("Retry-After")) or 1.0
            raise RetryableError(f"{name}: 429 Too Many Requests", retry_after=retry_after, status=status)
        if status >= 500:
            raise RetryableError(f"{name}: Shopify answered {status}", status=status)
        if status in (401, 403):
            raise PermanentError(
                f"{name}: Shopify refused the access token ({status})",
                platform_message=response.text[:500],
                status=status,
            )
        if status >= 400:
            raise PermanentError(
                f"{name}: Shopify answered {status}", platform_message=response.text[:500], status=status
            )
        try:
            body = response.json()
        except ValueError:
            raise RetryableError(f"{name}: Shopify sent a body that is not JSON", status=status) from None
        if not isinstance(body, dict):
            raise RetryableError(f"{name}: Shopify sent an unexpected body", status=status)
        cost = ((body.get("extensions") or {}).get("cost")) or {}
        now = self.monotonic()
        with self._lock:
            if cost.get("requestedQueryCost") is not None:
                self._costs[name] = float(cost["requestedQueryCost"])
            if isinstance(cost.get("throttleStatus"), Mapping):
                self.bucket.update(cost["throttleStatus"], now)
            else:
                self.bucket.spend(self._costs.get(name, 10.0), now)
        errors = body.get("errors")
        if errors:
            return self._errors(name, errors, cost, body.get("data"))
        data = body.get("data")
        if not isinstance(data, dict):
            raise RetryableError(f"{name}: Shopify sent no data", status=status)
        return data

    def _deprecated(self, name: str, response: requests.Response) -> None:
        """Log Shopify's deprecation notice once per document (the reason names the field and its successor)."""
        reason = response.headers.get(DEPRECATED_HEADER)
        if reason and name not in self.deprecations:
            self.deprecations[name] = reason
            log.warning("shop %s: Shopify marks %s as deprecated: %s", self.shop.shop_id, name, reason)

    def _errors(
        self, name: str, errors: Any, cost: Mapping[str, Any], data: Any = None
    ) -> dict[str, Any]:
        """Shopify's ``errors``: throttling and internal errors are retried; field denials beside ``data`` are
        partial data (the denied fields are null, recorded once per shop, and the rest is used); a denied root
        field or any other error fails the call with Shopify's words."""
        items = errors if isinstance(errors, list) else [{"message": str(errors)}]
        codes = {
            str(extensions.get("code", ""))
            for e in items
            if isinstance(e, dict) and isinstance(extensions := e.get("extensions") or {}, dict)
        }
        message = "; ".join(str(e.get("message")) for e in items if isinstance(e, dict)) or str(errors)
        if "THROTTLED" in codes:
            requested = float(cost.get("requestedQueryCost") or self._costs.get(name, 10.0))
            with self._lock:
                wait = self.bucket.wait_for(requested, self.monotonic())
            raise Throttled(f"{name}: throttled", retry_after=max(wait, 0.1), platform_message=message)
        if "INTERNAL_SERVER_ERROR" in codes:
            raise RetryableError(f"{name}: {message}", platform_message=message)
        denied, other = split_denials(name, items)
        self.denials.record(denied)
        if isinstance(data, dict) and denied and not other and all(len(d.path) > 1 for d in denied):
            self.last_denied = tuple(denied)
            return data
        raise PermanentError(f"{name}: {message}", platform_message=message)

    # --- reads -------------------------------------------------------------------------------------

    def _order_gid(self, request: ActionRequest) -> str:
        if not request.order_external_id:
            raise PermanentError(f"{request.kind.value}: the action names no order")
        return mapper.to_gid("Order", request.order_external_id)

    def _order(self, name: str, gid: str) -> dict[str, Any]:
        order = self.execute(name, {"id": gid}).get("order")
        if not isinstance(order, dict):
            raise PermanentError(f"order {gid} not found in the shop")
        return order

    def _fulfillment_orders(self, gid: str) -> list[dict[str, Any]]:
        order = self._order("OrderFulfillmentOrders", gid)
        return list((order.get("fulfillmentOrders") or {}).get("nodes") or [])

    # --- actions -----------------------------------------------------------------------------------

    def _add_tags(self, request: ActionRequest) -> dict[str, Any]:
        tags = [str(t) for t in _require(request.payload, "tags")]
        result = self.execute("TagsAdd", {"id": self._order_gid(request), "tags": tags})
        _user_errors(result.get("tagsAdd"), "tagsAdd")
        return {"tags": tags}

    def _tags_done(self, request: ActionRequest) -> dict[str, Any] | None:
        tags = [str(t) for t in _require(request.payload, "tags")]
        present = set(self._order("OrderTags", self._order_gid(request)).get("tags") or [])
        return {"tags": tags} if set(tags) <= present else None

    def _add_note(self, request: ActionRequest) -> dict[str, Any]:
        text = str(_require(request.payload, "text")).strip()
        gid = self._order_gid(request)
        current = self._order("OrderNote", gid).get("note") or ""
        if text in current:
            return {"note": "already present"}
        line = text  # the policy's line is already dated and signed ("24 nov 2026 10:00 ordercare: ...")
        note, trimmed = fit_note(current, line)
        result = self.execute("OrderUpdate", {"input": {"id": gid, "note": note}})
        _user_errors(result.get("orderUpdate"), "orderUpdate")
        return {"line": line, "trimmed": trimmed} if trimmed else {"line": line}

    def _note_done(self, request: ActionRequest) -> dict[str, Any] | None:
        text = str(_require(request.payload, "text")).strip()
        note = self._order("OrderNote", self._order_gid(request)).get("note") or ""
        return {"note": "already present"} if text in note else None

    def _set_attributes(self, request: ActionRequest) -> dict[str, Any]:
        wanted = {str(k): str(v) for k, v in dict(_require(request.payload, "attributes")).items()}
        gid = self._order_gid(request)
        current = self._order("OrderAttributes", gid).get("customAttributes") or []
        merged = {str(a["key"]): str(a.get("value") or "") for a in current}
        merged.update(wanted)
        attributes = [{"key": k, "value": v} for k, v in merged.items()]
        result = self.execute("OrderUpdate", {"input": {"id": gid, "customAttributes": attributes}})
        _user_errors(result.get("orderUpdate"), "orderUpdate")
        return {"attributes": wanted}

    def _attributes_done(self, request: ActionRequest) -> dict[str, Any] | None:
        wanted = {str(k): str(v) for k, v in dict(_require(request.payload, "attributes")).items()}
        current = self._order("OrderAttributes", self._order_gid(request)).get("customAttributes") or []
        have = {str(a["key"]): str(a.get("value") or "") for a in current}
        return {"attributes": wanted} if all(have.get(k) == v for k, v in wanted.items()) else None

    def voucher_input(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The ``DiscountCodeBasicInput`` for a CREATE_VOUCHER payload.

        ``kind: percentage`` takes ``value`` in percent (10 = 10 %); ``kind: fixed`` an amount in the shop's
        currency. One use in total, once per customer, limited to the customer when an id is given.
        """
        code = str(_require(payload, "code"))
        kind = str(_require(payload, "kind"))
        value = _decimal(_require(payload, "value"), "value")
        if kind == "percentage":
            if not Decimal(0) < value <= Decimal(100):
                raise PermanentError(f"payload.value: a percentage must be in (0, 100], got {value}")
            gets_value: dict[str, Any] = {"percentage": float(value / Decimal(100))}
        elif kind == "fixed":
            if value <= 0:
                raise PermanentError(f"payload.value: a fixed amount must be positive, got {value}")
            gets_value = {"discountAmount": {"amount": str(value), "appliesOnEachItem": False}}
        else:
            raise PermanentError(f"payload.kind: expected 'percentage' or 'fixed', got {kind!r}")
        customer = payload.get("customer_external_id")
        context: dict[str, Any] = (
            {"customers": {"add": [mapper.to_gid("Customer", str(customer))]}} if customer else {"all": "ALL"}
        )
        starts = payload.get("starts_at") or _iso(self.clock())
        data: dict[str, Any] = {
            "title": str(payload.get("title") or f"ordercare {code}"),
            "code": code,
            "startsAt": starts,
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
            "context": context,
            "customerGets": {"value": gets_value, "items": {"all": True}},
        }
        if payload.get("ends_at"):
            data["endsAt"] = payload["ends_at"]
        combines = payload.get("combines_with", self.combines_with)
        unknown = [c for c in combines if c not in COMBINES_WITH_FIELDS]
        if unknown:
            raise PermanentError(f"payload.combines_with: expected order, product or shipping, got {unknown}")
        data["combinesWith"] = {name: name_key in combines for name_key, name in COMBINES_WITH_FIELDS.items()}
        return data

    def _create_voucher(self, request: ActionRequest) -> dict[str, Any]:
        discount = self.voucher_input(request.payload)
        result = self.execute("DiscountCodeBasicCreate", {"discount": discount}).get("discountCodeBasicCreate") or {}
        errors = result.get("userErrors") or []
        if any(str(e.get("code")) == "TAKEN" for e in errors):
            existing = self._voucher_done(request)
            if existing is not None:
                return existing
        _user_errors(result, "discountCodeBasicCreate")
        node = result.get("codeDiscountNode") or {}
        return {"code": discount["code"], "discount_id": node.get("id")}

    def _voucher_done(self, request: ActionRequest) -> dict[str, Any] | None:
        code = str(_require(request.payload, "code"))
        node = self.execute("DiscountByCode", {"code": code}).get("codeDiscountNodeByCode")
        return {"code": code, "discount_id": node.get("id")} if isinstance(node, dict) else None

    def _hold_reason(self, payload: Mapping[str, Any]) -> str:
        raw = str(payload.get("reason") or "other").strip()
        candidate = _REASON_ALIASES.get(raw.lower(), raw.upper().replace("-", "_").replace(" ", "_"))
        return candidate if candidate in _HOLD_REASONS else "OTHER"

    def _hold(self, request: ActionRequest) -> dict[str, Any]:
        """Hold every fulfilment order that supports it; ours already in place count as held (a retry after a
        part-way failure holds only the rest). A part-way failure is not done: it is retried, and its error
        names the fulfilment orders held so far."""
        fos = self._fulfillment_orders(self._order_gid(request))
        targets = [fo for fo in fos if _supports(fo, "HOLD")]
        if not targets:
            raise PermanentError(
                f"order {request.order_external_id}: no fulfilment order that can be held (supportedActions)"
            )
        holds: list[str] = []
        held: list[str] = []
        refused: list[str] = []
        for fo in targets:
            mine = _our_hold_ids(fo)
            if mine:
                holds.extend(mine)
                held.append(str(fo["id"]))
                continue
            hold = {
                "reason": self._hold_reason(request.payload),
                "reasonNotes": str(request.payload.get("note") or "")[:255] or None,
                "handle": HOLD_HANDLE,
                "notifyMerchant": False,
            }
            try:
                result = self.execute(
                    "FulfillmentOrderHold", {"id": fo["id"], "hold": {k: v for k, v in hold.items() if v}}
                )
                payload = result.get("fulfillmentOrderHold")
                _user_errors(payload, "fulfillmentOrderHold")
            except PlatformError as exc:
                if not held:
                    raise
                refused.append(f"{fo['id']}: {exc.platform_message}")
                continue
            hold_id = ((payload or {}).get("fulfillmentHold") or {}).get("id")
            if hold_id:
                holds.append(str(hold_id))
            held.append(str(fo["id"]))
        if refused:
            message = f"held {', '.join(held)}; not held {'; '.join(refused)}"
            raise RetryableError(f"fulfillmentOrderHold: part-way: {message}", platform_message=message)
        return {"holds": holds, **self._hold_summary(fos, held)}

    @staticmethod
    def _hold_summary(fos: list[dict[str, Any]], held: list[str]) -> dict[str, Any]:
        """Which fulfilment orders are held, and which we saw but cannot hold (a 3PL's, once it accepted)."""
        open_ = [str(fo["id"]) for fo in fos if str(fo.get("status")) not in _CLOSED_FULFILLMENT_ORDER]
        return {"held": held, "not_holdable": [i for i in open_ if i not in held]}

    def _ours(self, gid: str) -> list[tuple[str, list[str]]]:
        ours = []
        for fo in self._fulfillment_orders(gid):
            ids = _our_hold_ids(fo)
            if ids:
                ours.append((str(fo["id"]), ids))
        return ours

    def _hold_done(self, request: ActionRequest) -> dict[str, Any] | None:
        """Done when every fulfilment order that can be held carries our hold (one held of two is not done)."""
        fos = self._fulfillment_orders(self._order_gid(request))
        targets = [fo for fo in fos if _supports(fo, "HOLD")]
        if not targets or any(not _our_hold_ids(fo) for fo in targets):
            return None
        held = [str(fo["id"]) for fo in targets]
        return {"holds": [i for fo in targets for i in _our_hold_ids(fo)], **self._hold_summary(fos, held)}

    def _release(self, request: ActionRequest) -> dict[str, Any]:
        released: list[str] = []
        for fo_id, hold_ids in self._ours(self._order_gid(request)):
            result = self.execute("FulfillmentOrderReleaseHold", {"id": fo_id, "holdIds": hold_ids})
            _user_errors(result.get("fulfillmentOrderReleaseHold"), "fulfillmentOrderReleaseHold")
            released.extend(hold_ids)
        return {"released": released}

    def _release_done(self, request: ActionRequest) -> dict[str, Any] | None:
        return None if self._ours(self._order_gid(request)) else {"released": []}

    def _update_address(self, request: ActionRequest) -> dict[str, Any]:
        target = mailing_address(dict(_require(request.payload, "address")))
        if not target.get("address1") or not target.get("countryCode"):
            raise PermanentError("payload.address: needs address1 (or street) and country_code")
        result = self.execute("OrderUpdate", {"input": {"id": self._order_gid(request), "shippingAddress": target}})
        _user_errors(result.get("orderUpdate"), "orderUpdate")
        return {"address": target}

    def _address_done(self, request: ActionRequest) -> dict[str, Any] | None:
        target = mailing_address(dict(_require(request.payload, "address")))
        current = self._order("OrderShippingAddress", self._order_gid(request)).get("shippingAddress")
        return {"address": target} if _same_address(current, target) else None

    def _edit_lines(self, request: ActionRequest) -> dict[str, Any]:
        """Order editing: begin a session, stage the new quantities and the added variants, commit (without
        Shopify's own customer e-mail: ordercare writes to the customer)."""
        gid = self._order_gid(request)
        sets, adds = edit_payload(request.payload)
        begun = self.execute("OrderEditBegin", {"id": gid}).get("orderEditBegin")
        _user_errors(begun, "orderEditBegin")
        calculated = (begun or {}).get("calculatedOrder") or {}
        session = calculated.get("id")
        if not session:
            raise PermanentError("orderEditBegin: no calculated order in the answer")
        # a calculated line item carries the numeric id of the order's line item it stands for
        nodes = (calculated.get("lineItems") or {}).get("nodes") or []
        lines = {mapper.gid_tail(str(n["id"])): str(n["id"]) for n in nodes}
        for line_id, quantity in sets:
            calculated_id = lines.get(line_id)
            if calculated_id is None:
                raise PermanentError(f"payload.set: line {line_id} is not on order {request.order_external_id}")
            variables = {"id": session, "lineItemId": calculated_id, "quantity": quantity, "restock": False}
            changed = self.execute("OrderEditSetQuantity", variables).get("orderEditSetQuantity")
            _user_errors(changed, "orderEditSetQuantity")
        for variant_id, quantity in adds:
            variables = {"id": session, "variantId": mapper.to_gid("ProductVariant", variant_id), "quantity": quantity}
            added = self.execute("OrderEditAddVariant", variables).get("orderEditAddVariant")
            _user_errors(added, "orderEditAddVariant")
        note = str(request.payload.get("note") or "")[:5000] or None
        committed = self.execute("OrderEditCommit", {"id": session, "notifyCustomer": False, "staffNote": note})
        _user_errors(committed.get("orderEditCommit"), "orderEditCommit")
        return {"set": [list(s) for s in sets], "added": [list(a) for a in adds]}

    def _lines_done(self, request: ActionRequest) -> dict[str, Any] | None:
        """The edit took effect: every line has its new quantity and every added variant is on the order."""
        sets, adds = edit_payload(request.payload)
        order = self._order("OrderLineVariants", self._order_gid(request))
        nodes = (order.get("lineItems") or {}).get("nodes") or []
        quantities = {mapper.gid_tail(str(n["id"])): n.get("currentQuantity") for n in nodes}
        variants = {mapper.gid_tail(str((n.get("variant") or {}).get("id") or "")) for n in nodes}
        done = all(quantities.get(line) == q for line, q in sets) and all(v in variants for v, _ in adds)
        return {"set": [list(s) for s in sets], "added": [list(a) for a in adds]} if done else None

    def _create_replacement(self, request: ActionRequest) -> dict[str, Any]:
        """A replacement at no cost: a draft order (every line at 100 % off, free shipping), completed into an
        order (``connector.reports.replacement``); a draft a crashed attempt left is completed, not made again."""
        draft = self._replacement_draft(request)
        if draft is None:
            address = request.payload.get("address")
            draft_input = replacement.shopify_draft_input(
                request.payload, request.action_id, mailing_address(address) if isinstance(address, dict) else None
            )
            created = self.execute("DraftOrderCreate", {"input": draft_input}).get("draftOrderCreate")
            _user_errors(created, "draftOrderCreate")
            draft = (created or {}).get("draftOrder") or {}
            if not draft.get("id"):
                raise PermanentError("draftOrderCreate: no draft order in the answer")
        if draft.get("status") != "COMPLETED":
            completed = self.execute("DraftOrderComplete", {"id": draft["id"]}).get("draftOrderComplete")
            _user_errors(completed, "draftOrderComplete")
            draft = (completed or {}).get("draftOrder") or draft
        order = draft.get("order") or {}
        return {"draft_order": draft.get("name"), "order_id": mapper.gid_tail(str(order.get("id") or "")) or None,
                "order_name": order.get("name")}  # fmt: skip

    def _replacement_draft(self, request: ActionRequest) -> dict[str, Any] | None:
        tag = replacement.action_tag(request.action_id)
        found = self.execute("DraftOrdersByTag", {"query": f"tag:'{tag}'"}).get("draftOrders") or {}
        return next((d for d in found.get("nodes") or [] if tag in (d.get("tags") or [])), None)

    def _replacement_done(self, request: ActionRequest) -> dict[str, Any] | None:
        draft = self._replacement_draft(request)
        if draft is None or draft.get("status") != "COMPLETED":
            return None
        order = draft.get("order") or {}
        return {"draft_order": draft.get("name"), "order_id": mapper.gid_tail(str(order.get("id") or "")) or None,
                "order_name": order.get("name")}  # fmt: skip

    _PERFORM: dict[ActionKind, Callable[[ShopifyClient, ActionRequest], dict[str, Any]]] = {
        ActionKind.ADD_TAGS: _add_tags,
        ActionKind.ADD_NOTE: _add_note,
        ActionKind.SET_ATTRIBUTES: _set_attributes,
        ActionKind.CREATE_VOUCHER: _create_voucher,
        ActionKind.HOLD_FULFILLMENT: _hold,
        ActionKind.RELEASE_HOLD: _release,
        ActionKind.UPDATE_ADDRESS: _update_address,
        ActionKind.EDIT_ORDER_LINES: _edit_lines,
        ActionKind.CREATE_REPLACEMENT: _create_replacement,
    }
    _DONE: dict[ActionKind, Callable[[ShopifyClient, ActionRequest], dict[str, Any] | None]] = {
        ActionKind.ADD_TAGS: _tags_done,
        ActionKind.ADD_NOTE: _note_done,
        ActionKind.SET_ATTRIBUTES: _attributes_done,
        ActionKind.CREATE_VOUCHER: _voucher_done,
        ActionKind.HOLD_FULFILLMENT: _hold_done,
        ActionKind.RELEASE_HOLD: _release_done,
        ActionKind.UPDATE_ADDRESS: _address_done,
        ActionKind.EDIT_ORDER_LINES: _lines_done,
        ActionKind.CREATE_REPLACEMENT: _replacement_done,
    }

    def perform(self, request: ActionRequest) -> dict[str, Any]:
        handler = self._PERFORM.get(request.kind)
        if handler is None:
            raise PermanentError(f"{request.kind.value}: not a Shopify action")
        return handler(self, request)

    def already_done(self, request: ActionRequest) -> dict[str, Any] | None:
        check = self._DONE.get(request.kind)
        return None if check is None else check(self, request)

    # --- reconcile and webhooks --------------------------------------------------------------------

    def changed_orders(self, since: datetime | None) -> Iterator[OrderEvent]:
        query = f"updated_at:>='{_iso(since)}'" if since is not None else ""
        after: str | None = None
        while True:
            data = self.execute("ReconcileOrders", {"query": query, "first": self.page_size, "after": after})
            # a field denied on one order is denied on all (scopes and approvals are per shop), and Shopify
            # stops listing denials after its error limit: the page's denials apply to every order on it
            denied = {p for d in self.last_denied if (p := d.relative(("orders", "nodes")))}
            page = data.get("orders") or {}
            for node in page.get("nodes") or []:
                order = mapper.order_from_graphql(node, self.shop, denied)
                if mapper.needs_stock_read(node):
                    order = self._with_stock(order)
                yield OrderEvent(
                    kind=EventKind.ORDER,
                    topic="reconcile/orders",
                    dedupe_key=f"reconcile:{order.external_id}:{_iso(order.updated_at)}",
                    occurred_at=order.updated_at,
                    order_external_id=order.external_id,
                    order=order,
                )
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = str(info["endCursor"])

    def _with_stock(self, order: Order) -> Order:
        """The order with its lines' stock where they are fulfilled (``OrderStock``); as it was if the read fails
        for good (a scope not granted): the listing's own facts still stand."""
        try:
            data = self.execute("OrderStock", {"id": mapper.to_gid("Order", order.external_id)}).get("order")
        except PermanentError as exc:
            log.warning("shop %s: stock of order %s not read: %s", self.shop.shop_id, order.number, exc)
            return order
        return mapper.stock_from_graphql(order, data) if isinstance(data, dict) else order

    def webhook_subscriptions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = self.execute("WebhookSubscriptions", {"after": after}).get("webhookSubscriptions") or {}
            found.extend(page.get("nodes") or [])
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return found
            after = str(info["endCursor"])

    def check_access(self) -> ScopeCheck:
        """Read the granted scopes (``currentAppInstallation.accessScopes``) and compare them with what the code
        needs; missing ones are logged by name. Also the probe that ends a pause (402/404/423)."""
        data = self.execute("AppAccessScopes")
        installation = data.get("currentAppInstallation") or {}
        scopes = installation.get("accessScopes") or []
        granted = [str(s["handle"]) for s in scopes if isinstance(s, Mapping) and s.get("handle")]
        result = check(granted, required_scopes(self.options), options=self.options)
        self.granted = result.granted
        if not result.ok:
            log.warning("shop %s: %s", self.shop.shop_id, result.describe(), extra={"shop": self.shop.shop_id})
        return result

    def ensure_webhooks(self, callback_url: str) -> list[str]:
        """Subscribe to every topic that has no subscription to ``callback_url``, one by one: a refused topic
        never stops the others. Returns the topics created; ``missing_topics`` names each topic still without
        a subscription and why (Shopify's words). With ``subscriptions: declared`` the app's TOML subscribes,
        so nothing is created; each topic is checked against the granted scopes instead."""
        if self.granted is None:
            self.check_access()
        granted = self.granted or ()
        self.missing_topics = {}
        if self.subscriptions == "declared":
            for topic in sorted(SUBSCRIBED_TOPICS):
                needs = topic_blocked(granted, topic)
                if needs:
                    self.missing_topics[topic] = (
                        f"declared in shopify.app.toml, but Shopify delivers it only with {', '.join(needs)}, "
                        "which is not granted"
                    )
            self._report_topics()
            return []
        present = {(str(s.get("topic")), str(s.get("uri"))) for s in self.webhook_subscriptions()}
        created: list[str] = []
        for topic, enum_name in sorted(SUBSCRIBED_TOPICS.items()):
            if (enum_name, callback_url) in present:
                continue
            try:
                result = self.execute(
                    "WebhookSubscriptionCreate",
                    {"topic": enum_name, "subscription": {"uri": callback_url, "format": "JSON"}},
                )
                _user_errors(result.get("webhookSubscriptionCreate"), "webhookSubscriptionCreate")
            except ShopUnavailable:
                raise
            except PlatformError as exc:
                if exc.status in (401, 403):  # the token itself is refused: no topic can be created
                    raise
                needs = topic_blocked(granted, topic)
                reason = exc.platform_message or str(exc)
                self.missing_topics[topic] = f"{reason} (needs {', '.join(needs)})" if needs else reason
                continue
            created.append(topic)
        self._report_topics()
        return created

    def _report_topics(self) -> None:
        for topic, reason in sorted(self.missing_topics.items()):
            log.warning(
                "shop %s: no webhook subscription for %s: %s",
                self.shop.shop_id,
                topic,
                reason,
                extra={"shop": self.shop.shop_id, "topic": topic},
            )

    def status(self) -> dict[str, Any]:
        """What this client learnt about the shop's connection, for the shop's status and the connection check."""
        return {
            "granted": list(self.granted) if self.granted is not None else None,
            "denied_fields": self.denials.report(),
            "missing_topics": dict(sorted(self.missing_topics.items())),
            "deprecations": dict(sorted(self.deprecations.items())),
            "paused": self.unavailable.pause_reason if self.unavailable is not None else None,
        }

    def close(self) -> None:
        self.http.close()
        if self.on_close is not None:
            self.on_close()


_CLOSED_FULFILLMENT_ORDER = frozenset({"CLOSED", "CANCELLED", "INCOMPLETE"})


def _supports(fo: Mapping[str, Any], action: str) -> bool:
    """Whether ``FulfillmentOrder.supportedActions`` lists ``action`` (``HOLD``, ``RELEASE_HOLD``...)."""
    return any(isinstance(a, Mapping) and a.get("action") == action for a in fo.get("supportedActions") or [])


def _our_hold_ids(fo: Mapping[str, Any]) -> list[str]:
    """Our holds on a fulfilment order: our handle *and* held by this app. A handle is unique only per app and
    fulfilment order ("the same handle can be re-used ... by different apps": FulfillmentOrderHoldInput), so
    another app's hold named ``ordercare`` is not ours and is never released by us."""
    return [
        str(h["id"])
        for h in fo.get("fulfillmentHolds") or []
        if h.get("handle") == HOLD_HANDLE and h.get("heldByRequestingApp") is True
    ]


def fit_note(current: str, line: str, limit: int = NOTE_LIMIT) -> tuple[str, int]:
    """The note with ``line`` appended, within ``limit`` characters: our own oldest lines go first, the
    merchant's text never. Returns (note, how many of our lines were dropped)."""
    lines = current.rstrip().split("\n") if current.strip() else []

    def joined() -> str:
        return "\n".join([*lines, line])

    dropped = 0
    while len(joined()) > limit:
        ours = next((i for i, text in enumerate(lines) if _OUR_NOTE_LINE.match(text)), None)
        if ours is None:
            raise PermanentError(
                f"orderUpdate: the note would exceed Shopify's {limit} characters and what remains is the "
                "merchant's own text, which ordercare never shortens",
                platform_message=f"note full: {len(joined())} of {limit} characters",
            )
        del lines[ours]
        dropped += 1
    return joined(), dropped


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def make_client(shop: Shop, settings: Settings, *, clock: Clock) -> ShopifyClient:
    app = settings.shopify_app
    version = shop.api_version or (app.api_version if app is not None else DEFAULT_API_VERSION)
    own_app = auth.own_app(shop, settings)
    store, dispose = auth.shop_token_store(shop, settings, own_app=own_app)
    client = ShopifyClient(
        shop.context,
        shop_key=shop.key,
        base_url=shop.api_base_url or f"https://{shop.key}",
        credentials=shop.credentials,
        api_version=version,
        app=install.AppCredentials(app.api_key, app.api_secret) if app is not None else None,
        clock=clock,
        tokens=store,
        own_app=own_app,
        subscriptions=_subscriptions(shop, settings),
        options=_options(shop, settings),
        combines_with=_combines_with(shop, settings),
    )
    client.on_close = dispose
    return client


def _subscriptions(shop: Shop, settings: Settings) -> str:
    """``declared`` when the shop's block or the app says shopify.app.toml declares the subscriptions."""
    config = next((s for s in settings.shops if s.id == shop.id), None)
    if config is not None and config.subscriptions is not None:
        return config.subscriptions
    return settings.shopify_app.subscriptions if settings.shopify_app is not None else "api"


def _options(shop: Shop, settings: Settings) -> tuple[str, ...]:
    """The shop's options that need scopes beyond ``REQUIRED_SCOPES``: writing carrier events to its fulfilments."""
    config = next((s for s in settings.shops if s.id == shop.id), None)
    carriers = config.carriers if config is not None else None
    return ("carriers.shopify_events",) if carriers is not None and carriers.shopify_events else ()


def _combines_with(shop: Shop, settings: Settings) -> tuple[str, ...]:
    config = next((s for s in settings.shops if s.id == shop.id), None)
    return tuple(config.voucher_combines_with) if config is not None else DEFAULT_COMBINES_WITH


__all__ = ["CostBucket", "Platform", "ShopUnavailable", "ShopifyClient", "fit_note", "make_client"]
