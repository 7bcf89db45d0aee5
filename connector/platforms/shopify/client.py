"""Outbound Shopify: the GraphQL Admin API client the outbox and the reconcile job use.

One reused ``requests.Session`` with timeouts per shop. Calls are paced by the cost bucket Shopify
reports in ``extensions.cost.throttleStatus`` (we wait before a call the bucket cannot afford, for as
long as the restore rate needs, never a fixed sleep). Errors become ``RetryableError`` (network, 429,
5xx, THROTTLED, garbage bodies) or ``PermanentError`` (other 4xx, GraphQL errors, ``userErrors``) with
Shopify's own message. Expiring offline tokens are refreshed shortly before they expire.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import requests

from connector.actions import ActionKind, ActionRequest
from connector.clock import Clock
from connector.model import EventKind, OrderEvent, Platform
from connector.platforms.base import PermanentError, RetryableError, ShopContext
from connector.platforms.shopify import install, mapper
from connector.platforms.shopify.adapter import SUBSCRIBED_TOPICS
from connector.platforms.shopify.documents import DOCUMENTS

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.shops import Shop

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-10"
HOLD_HANDLE = mapper.OUR_HOLD_HANDLE
PACING_MARGIN_SECONDS = 0.02  # clocks on both sides round; arrive just after the bucket can afford the call
_HOLDABLE = frozenset({"OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"})
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


def _user_errors(payload: Mapping[str, Any] | None, operation: str) -> None:
    errors = (payload or {}).get("userErrors") or []
    if errors:
        message = "; ".join(
            (f"{'.'.join(str(p) for p in e.get('field') or [])}: " if e.get("field") else "") + str(e.get("message"))
            for e in errors
        )
        raise PermanentError(f"{operation} refused: {message}", platform_message=message)


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
    ) -> None:
        self.shop = shop
        self.shop_key = shop_key
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.endpoint = f"{self.base_url}/admin/api/{api_version}/graphql.json"
        self.credentials = dict(credentials)
        self.app = app
        self.http = http or requests.Session()
        self.timeout = timeout
        self.max_wait_seconds = max_wait_seconds
        self.page_size = page_size
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self.on_tokens = on_tokens
        self.bucket = CostBucket()
        self._costs: dict[str, float] = {}
        self._lock = threading.Lock()
        self.calls = 0

    # --- transport ---------------------------------------------------------------------------------

    def _token(self) -> str:
        expires = self.credentials.get("expires_at")
        refresh = self.credentials.get("refresh_token")
        if expires and refresh and self.app is not None:
            deadline = datetime.fromisoformat(str(expires)) - timedelta(seconds=install.REFRESH_MARGIN_SECONDS)
            if self.clock() >= deadline:
                tokens = install.refresh_access_token(self.http, self.base_url, self.app, str(refresh), self.clock())
                self.credentials.update(tokens.credentials())
                if self.on_tokens is not None:
                    self.on_tokens(dict(self.credentials))
        token = self.credentials.get("access_token")
        if not token:
            raise PermanentError(f"shop {self.shop.shop_id!r} has no access token (not installed, or uninstalled)")
        return str(token)

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
        self._pace(name)
        headers = {"X-Shopify-Access-Token": self._token(), "Content-Type": "application/json"}
        self.calls += 1
        try:
            response = self.http.post(
                self.endpoint,
                json={"query": document, "variables": dict(variables or {}), "operationName": name},
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise RetryableError(f"{name}: Shopify did not answer in time") from None
        except requests.RequestException as exc:
            raise RetryableError(f"{name}: network error: {type(exc).__name__}") from None
        return self._handle(name, response)

    def _handle(self, name: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
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
            return self._errors(name, errors, cost)
        data = body.get("data")
        if not isinstance(data, dict):
            raise RetryableError(f"{name}: Shopify sent no data", status=status)
        return data

    def _errors(self, name: str, errors: Any, cost: Mapping[str, Any]) -> dict[str, Any]:
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
            raise RetryableError(f"{name}: throttled", retry_after=max(wait, 0.1), platform_message=message)
        if "INTERNAL_SERVER_ERROR" in codes:
            raise RetryableError(f"{name}: {message}", platform_message=message)
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
        note = f"{current.rstrip()}\n{line}" if current.strip() else line
        result = self.execute("OrderUpdate", {"input": {"id": gid, "note": note}})
        _user_errors(result.get("orderUpdate"), "orderUpdate")
        return {"line": line}

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
        gid = self._order_gid(request)
        orders = [fo for fo in self._fulfillment_orders(gid) if fo.get("status") in _HOLDABLE]
        if not orders:
            raise PermanentError(f"order {request.order_external_id}: no open fulfilment order to hold")
        held: list[str] = []
        for fo in orders:
            if any(h.get("handle") == HOLD_HANDLE for h in fo.get("fulfillmentHolds") or []):
                continue
            hold = {
                "reason": self._hold_reason(request.payload),
                "reasonNotes": str(request.payload.get("note") or "")[:255] or None,
                "handle": HOLD_HANDLE,
                "notifyMerchant": False,
            }
            result = self.execute(
                "FulfillmentOrderHold", {"id": fo["id"], "hold": {k: v for k, v in hold.items() if v}}
            )
            payload = result.get("fulfillmentOrderHold")
            _user_errors(payload, "fulfillmentOrderHold")
            hold_id = ((payload or {}).get("fulfillmentHold") or {}).get("id")
            if hold_id:
                held.append(str(hold_id))
        return {"holds": held}

    def _ours(self, gid: str) -> list[tuple[str, list[str]]]:
        ours = []
        for fo in self._fulfillment_orders(gid):
            ids = [str(h["id"]) for h in fo.get("fulfillmentHolds") or [] if h.get("handle") == HOLD_HANDLE]
            if ids:
                ours.append((str(fo["id"]), ids))
        return ours

    def _hold_done(self, request: ActionRequest) -> dict[str, Any] | None:
        ours = self._ours(self._order_gid(request))
        return {"holds": [i for _, ids in ours for i in ids]} if ours else None

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

    _PERFORM: dict[ActionKind, Callable[[ShopifyClient, ActionRequest], dict[str, Any]]] = {
        ActionKind.ADD_TAGS: _add_tags,
        ActionKind.ADD_NOTE: _add_note,
        ActionKind.SET_ATTRIBUTES: _set_attributes,
        ActionKind.CREATE_VOUCHER: _create_voucher,
        ActionKind.HOLD_FULFILLMENT: _hold,
        ActionKind.RELEASE_HOLD: _release,
        ActionKind.UPDATE_ADDRESS: _update_address,
    }
    _DONE: dict[ActionKind, Callable[[ShopifyClient, ActionRequest], dict[str, Any] | None]] = {
        ActionKind.ADD_TAGS: _tags_done,
        ActionKind.ADD_NOTE: _note_done,
        ActionKind.SET_ATTRIBUTES: _attributes_done,
        ActionKind.CREATE_VOUCHER: _voucher_done,
        ActionKind.HOLD_FULFILLMENT: _hold_done,
        ActionKind.RELEASE_HOLD: _release_done,
        ActionKind.UPDATE_ADDRESS: _address_done,
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
            page = data.get("orders") or {}
            for node in page.get("nodes") or []:
                order = mapper.order_from_graphql(node, self.shop)
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

    def ensure_webhooks(self, callback_url: str) -> list[str]:
        present = {(str(s.get("topic")), str(s.get("uri"))) for s in self.webhook_subscriptions()}
        created: list[str] = []
        for topic, enum_name in sorted(SUBSCRIBED_TOPICS.items()):
            if (enum_name, callback_url) in present:
                continue
            result = self.execute(
                "WebhookSubscriptionCreate",
                {"topic": enum_name, "subscription": {"uri": callback_url, "format": "JSON"}},
            )
            _user_errors(result.get("webhookSubscriptionCreate"), "webhookSubscriptionCreate")
            created.append(topic)
        return created

    def close(self) -> None:
        self.http.close()


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _token_saver(shop: Shop, settings: Settings) -> Callable[[dict[str, Any]], None]:
    """Writes refreshed tokens of an installed shop back to its row, sealed."""

    def save(credentials: dict[str, Any]) -> None:
        from connector.crypto import SecretBox
        from connector.store.db import make_engine, session_factory, transaction
        from connector.store.tables import ShopRow

        engine = make_engine(settings.database_url)
        try:
            with transaction(session_factory(engine)) as session:
                row = session.get(ShopRow, shop.id)
                if row is not None:
                    row.credentials = SecretBox(settings.secret_key).seal(credentials)
        finally:
            engine.dispose()

    return save


def make_client(shop: Shop, settings: Settings, *, clock: Clock) -> ShopifyClient:
    app = settings.shopify_app
    version = shop.api_version or (app.api_version if app is not None else DEFAULT_API_VERSION)
    return ShopifyClient(
        shop.context,
        shop_key=shop.key,
        base_url=shop.api_base_url or f"https://{shop.key}",
        credentials=shop.credentials,
        api_version=version,
        app=install.AppCredentials(app.api_key, app.api_secret) if app is not None else None,
        clock=clock,
        on_tokens=_token_saver(shop, settings) if shop.source == "installed" else None,
    )


__all__ = ["CostBucket", "Platform", "ShopifyClient", "make_client"]
