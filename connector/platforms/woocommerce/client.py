"""Outbound WooCommerce REST v3: the outbox's write-backs, their replay checks, reconcile and webhooks.

Wraps the ``woocommerce`` package's ``API`` with one reused ``requests.Session`` and timeouts. Over HTTPS
the keys go as HTTP basic auth (or in the query string for servers that drop the header); over plain
HTTP the package's OAuth 1.0a signature is used, as WooCommerce requires. Errors carry WooCommerce's own
``code`` and ``message``: 429, 5xx and network trouble are retryable, other 4xx permanent. No error text
carries a key: every one goes through ``redact`` (a signed URL names the consumer key and the signature,
and requests puts the URL in its connection errors), and so do urllib3's log lines.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import requests
from requests.auth import HTTPBasicAuth
from woocommerce import API

from connector.actions import ActionKind, ActionRequest
from connector.clock import Clock
from connector.model import EventKind, OrderEvent, OrderStatus
from connector.platforms.base import PermanentError, PlatformError, RetryableError
from connector.platforms.woocommerce.adapter import snapshot_key
from connector.platforms.woocommerce.mapper import (
    DRAFT_STATUSES,
    HOLD_META,
    HOLD_RELEASED_META,
    LEGACY_TAGS_META,
    META_PREFIX,
    TAGS_META,
    meta_map,
    order_from_rest,
    stored_tags,
    tag_values,
    with_stock_statuses,
)
from connector.platforms.woocommerce.webhooks import WebhookKeeper
from connector.reports import replacement
from connector.shops import Shop

if TYPE_CHECKING:
    from connector.config import Settings

log = logging.getLogger(__name__)

COUPON_EXISTS = "woocommerce_rest_coupon_code_already_exists"
IDEMPOTENCY_META = "_ordercare_action"
SPLIT_META = ("_shipping_street_name", "_shipping_house_number", "_shipping_house_number_suffix")
PER_PAGE = 100
USER_AGENT = "ordercare (WooCommerce REST v3)"


REDACTED = "[redacted]"
_SECRET_PARAM = re.compile(r"(?i)^(?:consumer_key|consumer_secret|oauth_[a-z_]*)$")
_QUERY = re.compile(r"\?([^\s'\"<>()\[\]{}]+)")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#@'\"<>]+@")
_SECRET_PAIR = re.compile(
    r"(?i)\b(?:consumer_key|consumer_secret|oauth_[a-z_]+)\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s&,;'\"<>()]*)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(authorization\s*[:=]\s*['\"]?(?:basic|bearer|oauth)\s+)[^\s,;'\"]+")
_KEY_LIKE = re.compile(r"\b(?:ck|cs)_[A-Za-z0-9_]+")


def _clean_query(match: re.Match[str]) -> str:
    params = re.split(r"&(?:amp;)?", match.group(1))
    kept = [p for p in params if not _SECRET_PARAM.match(p.split("=", 1)[0])]
    if len(kept) == len(params):
        return match.group(0)
    kept = [p for p in kept if p]
    return "?" + "&".join(kept) if kept else ""


def redact(text: str, *secrets: str) -> str:
    """``text`` without keys, OAuth parameters, signatures or credentials, for error messages and logs.

    Drops ``consumer_key``, ``consumer_secret`` and every ``oauth_*`` parameter from query strings and the
    ``user:password@`` of URLs; masks such ``name=value`` pairs elsewhere, ``Authorization`` values, words
    shaped like WooCommerce keys (``ck_…``, ``cs_…``) and each of ``secrets``. Host, path and error type stay.
    """
    text = _USERINFO.sub(r"\1", text)
    text = _QUERY.sub(_clean_query, text)
    text = _SECRET_PAIR.sub(REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _KEY_LIKE.sub(REDACTED, text)
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record whose message carries a key (urllib3 logs each request line, query string and all)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: let logging report it as it would
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_URLLIB3_LOG = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, RedactingFilter) for f in _URLLIB3_LOG.filters):
    _URLLIB3_LOG.addFilter(RedactingFilter())


class WooCommerceError(PermanentError):
    """A permanent 4xx with WooCommerce's error ``code`` (e.g. ``woocommerce_rest_shop_order_invalid_id``)."""

    def __init__(self, message: str, *, code: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code


def error_code(error: PlatformError) -> str:
    return error.code if isinstance(error, WooCommerceError) else ""


class SessionAPI(API):  # type: ignore[misc]
    """The package's ``API`` with one ``requests.Session`` for every call (keep-alive, pooled connections).

    Also fixes two quirks of the package: over plain HTTP the query parameters were sent twice (once
    inside the signed URL, once again by requests), and ``params`` passed by the caller were mutated.
    """

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *, session: requests.Session, **kw: Any):
        super().__init__(url, consumer_key, consumer_secret, **kw)
        self.session = session

    def _API__request(  # the package's private request method (name-mangled)
        self, method: str, endpoint: str, data: Any, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        query = dict(params or {})
        url: str = self._API__get_url(endpoint)
        auth = None
        if self.is_ssl and not self.query_string_auth:
            auth = HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        elif self.is_ssl:
            query.update(consumer_key=self.consumer_key, consumer_secret=self.consumer_secret)
        else:
            url = self._API__get_oauth_url(f"{url}?{urlencode(query)}" if query else url, method)
            query = {}
        headers = {"user-agent": self.user_agent, "accept": "application/json"}
        body = None
        if data is not None:
            body = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
            headers["content-type"] = "application/json;charset=utf-8"
        return self.session.request(
            method,
            url,
            params=query or None,
            data=body,
            headers=headers,
            auth=auth,
            timeout=self.timeout,
            verify=self.verify_ssl,
            allow_redirects=False,
            **kwargs,
        )


def _retry_after(response: requests.Response, now: Callable[[], datetime]) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _host_of(url: str) -> str:
    """``host[:port]`` of the shop's URL, without any credentials in it."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname:
        return "the shop"
    return f"{parts.hostname}:{port}" if port else parts.hostname


def _released_in_shop(data: Mapping[str, Any]) -> bool:
    """Our hold marker is set but the order has left on-hold (a trashed order keeps its hold for a restore)."""
    status = data.get("status")
    return status not in ("on-hold", "trash") and str(meta_map(data.get("meta_data")).get(HOLD_META)) == "1"


def _ours(order: Mapping[str, Any]) -> bool:
    """The order's on-hold is ours: it is on-hold and our marker is set (cleared once staff released it)."""
    return order.get("status") == "on-hold" and str(meta_map(order.get("meta_data")).get(HOLD_META)) == "1"


def _not_released(order: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome of a release that leaves the order as it is, and why."""
    status = order.get("status")
    released_by = meta_map(order.get("meta_data")).get(HOLD_RELEASED_META)
    if status == "on-hold":
        why = (
            "our hold was released in the shop; the order's on-hold now was set there, so it stays"
            if released_by == "shop"
            else "the order's on-hold was not placed by ordercare, so it stays"
        )
    elif released_by == "shop":
        why = f"our hold was already released in the shop (the order is {status})"
    elif released_by == "ordercare":
        why = f"our hold was already released (the order is {status})"
    else:
        why = f"the order is not on hold (it is {status})"
    return {"released": False, "status": status, "why": why}


def _error_parts(response: requests.Response, clean: Callable[[str], str]) -> tuple[str, str]:
    """WooCommerce's ``code`` and ``message`` (or the start of a body that is not its JSON), redacted before
    it is cut: a proxy's error page can quote the request line, signed query string and all."""
    try:
        data = response.json()
    except ValueError:
        return "", clean((response.text or "").strip())[:200] or response.reason or ""
    if isinstance(data, dict):
        return clean(str(data.get("code") or "")), clean(str(data.get("message") or ""))
    return "", clean(str(data))[:200]


class WooCommerceClient:
    """``PlatformClient`` for one WooCommerce shop."""

    def __init__(
        self,
        shop: Shop,
        *,
        timeout: float = 20.0,
        session: requests.Session | None = None,
        query_string_auth: bool = False,
        clock: Clock,
    ) -> None:
        credentials = shop.credentials
        key, secret = credentials.get("consumer_key"), credentials.get("consumer_secret")
        if not key or not secret:
            raise PermanentError(f"shop {shop.id!r} has no consumer_key/consumer_secret")
        base = shop.api_base_url or credentials.get("url") or shop.key
        self.shop = shop
        self.session = session or requests.Session()
        self._clock = clock
        self._secrets = (str(key), str(secret))
        self.host = _host_of(base)  # named in network errors (never the URL: it can carry the keys)
        self.api = SessionAPI(
            base.rstrip("/"),
            str(key),
            str(secret),
            session=self.session,
            version="wc/v3",
            timeout=timeout,
            query_string_auth=query_string_auth or bool(credentials.get("query_string_auth")),
            user_agent=USER_AGENT,
        )
        self._performers: dict[ActionKind, Callable[[ActionRequest], dict[str, Any]]] = {
            ActionKind.ADD_NOTE: self._add_note,
            ActionKind.ADD_TAGS: self._add_tags,
            ActionKind.SET_ATTRIBUTES: self._set_attributes,
            ActionKind.CREATE_VOUCHER: self._create_voucher,
            ActionKind.HOLD_FULFILLMENT: self._hold,
            ActionKind.RELEASE_HOLD: self._release,
            ActionKind.UPDATE_ADDRESS: self._update_address,
            ActionKind.EDIT_ORDER_LINES: self._edit_lines,
            ActionKind.CREATE_REPLACEMENT: self._create_replacement,
        }
        self._checks: dict[ActionKind, Callable[[ActionRequest], dict[str, Any] | None]] = {
            ActionKind.ADD_NOTE: self._note_done,
            ActionKind.ADD_TAGS: self._tags_done,
            ActionKind.SET_ATTRIBUTES: self._attributes_done,
            ActionKind.CREATE_VOUCHER: self._voucher_done,
            ActionKind.HOLD_FULFILLMENT: self._hold_done,
            ActionKind.RELEASE_HOLD: self._release_done,
            ActionKind.UPDATE_ADDRESS: self._address_done,
            ActionKind.EDIT_ORDER_LINES: self._lines_done,
            ActionKind.CREATE_REPLACEMENT: self._replacement_done,
        }

    # --- transport -------------------------------------------------------------------------------

    def request(
        self, method: str, endpoint: str, data: Any = None, params: Mapping[str, Any] | None = None
    ) -> requests.Response:
        """One call; raises ``RetryableError``/``PermanentError`` with WooCommerce's code and message.

        The text never carries a key: requests' own message (which quotes the signed URL) is redacted, and
        the exception is raised without it chained, so a logged traceback cannot show it either."""
        what = f"WooCommerce {method} /{endpoint}"
        call = getattr(self.api, method.lower())
        try:
            response: requests.Response = (
                call(endpoint, data, params=params) if method in ("POST", "PUT") else call(endpoint, params=params)
            )
        except requests.Timeout as exc:
            raise RetryableError(f"{what}: {self.host} timed out ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            detail = self.redact(f"{type(exc).__name__}: {exc}")
            raise RetryableError(f"{what}: {self.host} unreachable: {detail}") from None
        status = response.status_code
        if status < 300:
            return response
        code, message = _error_parts(response, self.redact)
        detail = f"{status} {code}: {message}" if code else f"{status}: {message}"
        text = f"{what}: {detail}"
        if status == 429 or status >= 500:
            raise RetryableError(
                text, platform_message=detail, status=status, retry_after=_retry_after(response, self._clock)
            )
        raise WooCommerceError(text, code=code, platform_message=detail, status=status)

    def redact(self, text: str) -> str:
        """``redact`` with this shop's own key and secret masked too, whatever their shape."""
        return redact(text, *self._secrets)

    def _json(self, method: str, endpoint: str, data: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        response = self.request(method, endpoint, data, params)
        try:
            return response.json(parse_float=Decimal)
        except ValueError:
            raise RetryableError(
                f"WooCommerce {method} /{endpoint}: {response.status_code} but the body is not JSON",
                platform_message="response body is not JSON",
                status=response.status_code,
            ) from None

    def paged(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page by page, following ``X-WP-TotalPages``."""
        page = 1
        while True:
            query = {**(params or {}), "per_page": PER_PAGE, "page": page}
            response = self.request("GET", endpoint, params=query)
            try:
                items = response.json(parse_float=Decimal)
            except ValueError:
                raise RetryableError(f"WooCommerce GET /{endpoint}: the body is not JSON") from None
            if not isinstance(items, list):
                raise RetryableError(f"WooCommerce GET /{endpoint}: expected a list")
            yield from items
            try:
                total_pages = int(response.headers.get("X-WP-TotalPages", "1"))
            except ValueError:
                total_pages = 1
            if page >= total_pages or not items:
                return
            page += 1

    def close(self) -> None:
        self.session.close()

    # --- the protocol ----------------------------------------------------------------------------

    def perform(self, request: ActionRequest) -> dict[str, Any]:
        """Do the action; a repeat attempt first checks whether an earlier one took effect after all
        (a timeout or an unreadable answer can hide a write that happened)."""
        performer = self._performers.get(request.kind)
        if performer is None:
            raise PermanentError(f"WooCommerce cannot perform {request.kind.value}")
        if request.attempt > 1:
            done = self.already_done(request)
            if done is not None:
                return done
        return performer(request)

    def already_done(self, request: ActionRequest) -> dict[str, Any] | None:
        check = self._checks.get(request.kind)
        return check(request) if check is not None else None

    def get_order(self, order_id: str) -> dict[str, Any]:
        """The REST order, with a hold that staff released no longer marked as ours (see ``_forget_released_hold``)."""
        data = self._json("GET", f"orders/{order_id}")
        if not isinstance(data, dict):
            raise RetryableError(f"WooCommerce GET /orders/{order_id}: expected an object")
        return self._forget_released_hold(data) if _released_in_shop(data) else data

    def _forget_released_hold(self, data: dict[str, Any]) -> dict[str, Any]:
        """Our marker on an order that is no longer on-hold: someone in the shop released our hold.

        WooCommerce leaves meta alone when staff change the status, so the marker would still say "ours"
        when staff later put the order on-hold themselves, and our release would ship it over their hold.
        It is cleared at the first read that sees the release (and who released it is kept). The one write is
        meta only; WooCommerce sends ``order.updated`` for it.
        """
        order_id = str(data.get("id"))
        update = {"meta_data": [{"key": HOLD_META, "value": "0"}, {"key": HOLD_RELEASED_META, "value": "shop"}]}
        updated = self._json("PUT", f"orders/{order_id}", update)
        log.info(
            "our hold was released in the shop; it is no longer ours",
            extra={"shop": self.shop.id, "order": order_id, "status": data.get("status")},
        )
        return updated if isinstance(updated, dict) else data

    def changed_orders(self, since: datetime | None) -> Iterator[OrderEvent]:
        """Orders modified after ``since`` (oldest first): re-reads what webhooks may have missed or staled.

        Keyed like their webhooks (``snapshot_key``). The legacy post storage keeps ``date_modified`` on an
        address or meta-only save, so ``modified_after`` misses those; ``read_orders`` reads watched orders again.
        """
        params: dict[str, Any] = {"orderby": "modified", "order": "asc"}
        if since is not None:
            params.update(modified_after=since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), dates_are_gmt="true")
        try:
            items = list(self.paged("orders", params))
        except PermanentError as exc:
            if error_code(exc) != "rest_invalid_param":
                raise
            # sites older than orderby=modified: read in the default order and sort here
            params.pop("orderby")
            params.pop("order")
            items = sorted(self.paged("orders", params), key=lambda o: (str(o.get("date_modified_gmt")), o.get("id")))
        statuses = self._stock_statuses(items)
        for data in items:
            event = self._reconcile_event(data, statuses)
            if event is not None:
                yield event

    def _reconcile_event(self, data: dict[str, Any], statuses: Mapping[str, str] | None = None) -> OrderEvent | None:
        """One listed order as a reconcile event; None for a checkout draft."""
        if data.get("status") in DRAFT_STATUSES:
            return None
        if _released_in_shop(data):  # read it once more: the hold may be ours again since the list was read
            data = self.get_order(str(data.get("id")))
        order = order_from_rest(data, self.shop.context)
        if statuses and order.status in STOCK_STATUSES and order.lines:
            order = with_stock_statuses(order, statuses)
        return OrderEvent(
            kind=EventKind.ORDER,
            topic="reconcile",
            dedupe_key=snapshot_key(order, str(data["date_modified_gmt"])),
            occurred_at=order.updated_at,
            order_external_id=order.external_id,
            order=order,
        )

    def read_orders(self, external_ids: Sequence[str]) -> Iterator[OrderEvent]:
        """These orders as the shop has them now, ``PER_PAGE`` ids per request (``include``), whatever their
        ``date_modified``: ``RereadsOrders`` for the reconcile job. Ids the shop no longer lists (trashed,
        deleted) are skipped; keys and the released-hold read are those of ``changed_orders``."""
        ids = list(dict.fromkeys(str(i) for i in external_ids))
        for start in range(0, len(ids), PER_PAGE):
            params = {"include": ",".join(ids[start : start + PER_PAGE]), "orderby": "include"}
            items = list(self.paged("orders", params))
            statuses = self._stock_statuses(items)
            for data in items:
                event = self._reconcile_event(data, statuses)
                if event is not None:
                    yield event

    def _stock_statuses(self, orders: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Product and variation id -> ``stock_status`` for the lines of the paid, unshipped orders among ``orders``,
        ``PER_PAGE`` products a request (``GET products`` with ``include``; variations through
        ``products/<parent>/variations``). A failed read says nothing (an empty answer)."""
        waiting = [o for o in orders if o.get("status") in STOCK_RAW_STATUSES and o.get("date_paid_gmt")]
        items = [i for o in waiting for i in o.get("line_items") or [] if isinstance(i, Mapping)]
        products = sorted({str(i["product_id"]) for i in items if i.get("product_id") and not i.get("variation_id")})
        parents: dict[str, set[str]] = {}
        for item in items:
            if item.get("variation_id") and item.get("product_id"):
                parents.setdefault(str(item["product_id"]), set()).add(str(item["variation_id"]))
        found: dict[str, str] = {}
        try:
            for start in range(0, len(products), PER_PAGE):
                for product in self.paged("products", {"include": ",".join(products[start : start + PER_PAGE])}):
                    found[str(product.get("id"))] = str(product.get("stock_status") or "")
            for parent, variations in sorted(parents.items()):
                params = {"include": ",".join(sorted(variations))}
                for variation in self.paged(f"products/{parent}/variations", params):
                    found[str(variation.get("id"))] = str(variation.get("stock_status") or "")
        except PlatformError as exc:
            shop = {"shop": self.shop.id}
            log.warning("stock of the orders' products not read: %s", exc.platform_message, extra=shop)
            return {}
        return {k: v for k, v in found.items() if v}

    def _edit_lines(self, request: ActionRequest) -> dict[str, Any]:
        """The order's line items through REST: a new quantity, a removal (``product_id: null`` deletes an item:
        WC_REST_Orders_V2_Controller::item_is_null) or a new item; then a private order note."""
        order_id = self._order_id(request)
        body = {"line_items": woo_line_changes(request.payload)}
        self._json("PUT", f"orders/{order_id}", body)
        note = str(request.payload.get("note") or "").strip()
        if note:
            self._json("POST", f"orders/{order_id}/notes", {"note": note, "customer_note": False})
        return {"line_items": body["line_items"]}

    def _lines_done(self, request: ActionRequest) -> dict[str, Any] | None:
        changes = woo_line_changes(request.payload)
        items = {str(i.get("id")): i for i in self.get_order(self._order_id(request)).get("line_items") or []}
        products = {(str(i.get("product_id")), str(i.get("variation_id") or 0)) for i in items.values()}
        for change in changes:
            if "id" in change:
                item = items.get(str(change["id"]))
                if change.get("product_id", "") is None and item is not None:
                    return None
                if "quantity" in change and (item is None or item.get("quantity") != change["quantity"]):
                    return None
            elif (str(change["product_id"]), str(change.get("variation_id") or 0)) not in products:
                return None
        return {"line_items": changes}

    def _create_replacement(self, request: ActionRequest) -> dict[str, Any]:
        """A new order at zero total for the same items, linked to the original by meta, then a private note on
        the original naming it (``connector.reports.replacement``)."""
        found = self._replacement_done(request)
        if found is not None:
            return found
        address = request.payload.get("address")
        shipping = self._target_address(request)[0] if isinstance(address, dict) else None
        body = replacement.woocommerce_order(request.payload, request.action_id, shipping)
        created = self._json("POST", "orders", body)
        if str(created.get("total", "0")) not in ("0", "0.00", "0.0"):
            log.warning("replacement order %s has total %s", created.get("id"), created.get("total"))
        original = self._order_id(request)
        note = f"ordercare: replacement order #{created.get('number') or created.get('id')} at no cost"
        self._json("POST", f"orders/{original}/notes", {"note": note, "customer_note": False})
        return {"order_id": str(created.get("id")), "order_name": str(created.get("number") or created.get("id"))}

    def _replacement_done(self, request: ActionRequest) -> dict[str, Any] | None:
        """The order an earlier attempt created: the customer's orders (``search`` matches the billing e-mail)
        carrying this action in their meta."""
        email = str(request.payload.get("email") or "")
        if not email:
            return None
        for order in self.paged("orders", {"search": email, "orderby": "date", "order": "desc"}):
            if meta_map(order.get("meta_data")).get(replacement.ACTION_META) == str(request.action_id):
                return {"order_id": str(order.get("id")), "order_name": str(order.get("number") or order.get("id"))}
        return None

    def ensure_webhooks(self, callback_url: str) -> list[str]:
        """Order webhooks to ``callback_url`` that keep working: created with a secret of their own, a lost
        create adopted, a disabled one re-enabled once, a broken one replaced once (``WebhookKeeper``)."""
        return WebhookKeeper(self, self.shop, self._clock).ensure(callback_url)

    # --- notes -----------------------------------------------------------------------------------

    @staticmethod
    def _order_id(request: ActionRequest) -> str:
        if not request.order_external_id:
            raise PermanentError(f"{request.kind.value}: the action names no order")
        return request.order_external_id

    @staticmethod
    def _payload_text(request: ActionRequest, key: str) -> str:
        value = request.payload.get(key)
        if not isinstance(value, str) or not value.strip():
            raise PermanentError(f"{request.kind.value}: payload.{key} must be a non-empty string")
        return value

    def _add_note(self, request: ActionRequest) -> dict[str, Any]:
        """A private order note; ``"customer_note": true`` makes it a customer note (WooCommerce e-mails it)."""
        text = self._payload_text(request, "text")
        customer = bool(request.payload.get("customer_note", False))
        body = {"note": text, "customer_note": customer}
        note = self._json("POST", f"orders/{self._order_id(request)}/notes", body)
        return {"note_id": note.get("id"), "customer_note": customer}

    def _note_done(self, request: ActionRequest) -> dict[str, Any] | None:
        text = self._payload_text(request, "text").strip()
        kind = "customer" if request.payload.get("customer_note") else "internal"
        for note in self.paged(f"orders/{self._order_id(request)}/notes", {"type": kind}):
            if str(note.get("note", "")).strip() == text:
                return {"note_id": note.get("id"), "customer_note": kind == "customer"}
        return None

    # --- tags and attributes (order meta) --------------------------------------------------------

    def _meta(self, order_id: str) -> dict[str, Any]:
        return meta_map(self.get_order(order_id).get("meta_data"))

    def _add_tags(self, request: ActionRequest) -> dict[str, Any]:
        """WooCommerce orders have no tags: ours live in the order meta ``ordercare_tags`` ("a, b").

        Without the underscore WordPress shows the key in the order screen's Custom Fields box, and shop
        automations (AutomateWoo's order meta rules) can match on it. Existing tags are kept and the new ones
        appended. Tags an older ordercare kept in the hidden ``_ordercare_tags`` are moved over in the same
        write (``"value": null`` deletes a meta key: ``WC_Data::save_meta_data``).
        """
        tags = request.payload.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise PermanentError("add_tags: payload.tags must be a list of non-empty strings")
        order_id = self._order_id(request)
        meta = self._meta(order_id)
        current = list(stored_tags(meta))
        merged = list(dict.fromkeys([*current, *(t.strip() for t in tags)]))
        update: list[dict[str, Any]] = []
        if tag_values(meta.get(TAGS_META)) != merged or not isinstance(meta.get(TAGS_META), str):
            update.append({"key": TAGS_META, "value": ", ".join(merged)})
        if LEGACY_TAGS_META in meta:
            update.append({"key": LEGACY_TAGS_META, "value": None})
        if update:
            self._json("PUT", f"orders/{order_id}", {"meta_data": update})
        return {"tags": merged, "moved_from": LEGACY_TAGS_META} if LEGACY_TAGS_META in meta else {"tags": merged}

    def _tags_done(self, request: ActionRequest) -> dict[str, Any] | None:
        current = list(stored_tags(self._meta(self._order_id(request))))
        wanted = [str(t).strip() for t in request.payload.get("tags") or []]
        return {"tags": current} if all(t in current for t in wanted) else None

    @staticmethod
    def _attribute_meta(request: ActionRequest) -> dict[str, str]:
        attributes = request.payload.get("attributes")
        if not isinstance(attributes, dict) or not attributes:
            raise PermanentError("set_attributes: payload.attributes must be a non-empty object")
        return {k if k.startswith(META_PREFIX) else f"{META_PREFIX}{k}": str(v) for k, v in attributes.items()}

    def _set_attributes(self, request: ActionRequest) -> dict[str, Any]:
        """Our state on the order as ``_ordercare_*`` meta (hidden from customers by the underscore)."""
        wanted = self._attribute_meta(request)
        meta = [{"key": k, "value": v} for k, v in wanted.items()]
        self._json("PUT", f"orders/{self._order_id(request)}", {"meta_data": meta})
        return {"meta": sorted(wanted)}

    def _attributes_done(self, request: ActionRequest) -> dict[str, Any] | None:
        wanted = self._attribute_meta(request)
        meta = self._meta(self._order_id(request))
        return {"meta": sorted(wanted)} if all(str(meta.get(k)) == v for k, v in wanted.items()) else None

    # --- vouchers --------------------------------------------------------------------------------

    def _coupon_body(self, request: ActionRequest) -> dict[str, Any]:
        payload = request.payload
        code = self._payload_text(request, "code")
        kinds = {"percentage": "percent", "fixed": "fixed_cart"}
        discount_type = kinds.get(str(payload.get("kind")))
        if discount_type is None:
            raise PermanentError(
                f"create_voucher: payload.kind must be percentage or fixed, got {payload.get('kind')!r}"
            )
        try:
            amount = Decimal(str(payload.get("value")))
        except ArithmeticError:
            raise PermanentError(f"create_voucher: payload.value is not a number: {payload.get('value')!r}") from None
        if not amount.is_finite() or amount <= 0:
            raise PermanentError(f"create_voucher: payload.value must be positive, got {payload.get('value')!r}")
        emails = payload.get("emails") or [payload.get("email") or payload.get("customer_email")]
        body: dict[str, Any] = {
            "code": code,
            "discount_type": discount_type,
            "amount": f"{amount:.2f}",
            "usage_limit": 1,
            "usage_limit_per_user": 1,
            "individual_use": bool(payload.get("individual_use", False)),
            "email_restrictions": [str(e) for e in emails if e],
            "description": str(
                payload.get("description") or f"ordercare voucher for order {request.order_external_id}"
            ),
            "meta_data": [{"key": IDEMPOTENCY_META, "value": request.idempotency_key}],
        }
        if payload.get("ends_at"):
            ends_at = datetime.fromisoformat(str(payload["ends_at"]))
            if ends_at.tzinfo is None:
                raise PermanentError("create_voucher: payload.ends_at must carry its offset")
            # date_expires is read in the site's time zone
            local = ends_at.astimezone(ZoneInfo(self.shop.timezone))
            body["date_expires"] = local.strftime("%Y-%m-%dT%H:%M:%S")
        return body

    def _find_coupon(self, code: str) -> dict[str, Any] | None:
        for coupon in self.paged("coupons", {"code": code}):
            if str(coupon.get("code", "")).lower() == code.lower():
                return coupon
        return None

    def _ours(self, coupon: Mapping[str, Any], request: ActionRequest) -> bool:
        return meta_map(coupon.get("meta_data")).get(IDEMPOTENCY_META) == request.idempotency_key

    def _create_voucher(self, request: ActionRequest) -> dict[str, Any]:
        """``POST /coupons``; a 400 "code already exists" for a coupon we created counts as done."""
        body = self._coupon_body(request)
        try:
            coupon = self._json("POST", "coupons", body)
        except PermanentError as exc:
            if error_code(exc) != COUPON_EXISTS:
                raise
            existing = self._voucher_done(request)
            if existing is None:
                raise PermanentError(
                    f"{exc}; the code belongs to a coupon ordercare did not create",
                    platform_message=exc.platform_message,
                    status=exc.status,
                ) from exc
            return existing
        return {"coupon_id": coupon.get("id"), "code": coupon.get("code", body["code"])}

    def _voucher_done(self, request: ActionRequest) -> dict[str, Any] | None:
        coupon = self._find_coupon(self._payload_text(request, "code"))
        if coupon is None or not self._ours(coupon, request):
            return None
        return {"coupon_id": coupon.get("id"), "code": coupon.get("code"), "already_existed": True}

    # --- hold and release ------------------------------------------------------------------------

    def _hold(self, request: ActionRequest) -> dict[str, Any]:
        """Status ``on-hold`` + meta ``_ordercare_hold=1``, only for an order that is ``processing``.

        One write, so a crash cannot leave half a hold. The reason stays in our meta; the staff note about
        it is the policy's own ADD_NOTE action. (WooCommerce e-mails the customer on pending->on-hold, not
        on processing->on-hold.) An order staff put on-hold themselves stays theirs: we do not take it over.
        """
        order_id = self._order_id(request)
        order = self.get_order(order_id)
        status = order.get("status")
        meta = meta_map(order.get("meta_data"))
        if _ours(order):
            return {"held": True, "status": status}
        if status != "processing":
            return {"held": False, "status": status}
        update: list[dict[str, Any]] = [{"key": HOLD_META, "value": "1"}]
        if request.payload.get("reason"):
            update.append({"key": "_ordercare_hold_reason", "value": str(request.payload["reason"])})
        if HOLD_RELEASED_META in meta:  # from an earlier hold of ours; this one is not released
            update.append({"key": HOLD_RELEASED_META, "value": None})
        self._json("PUT", f"orders/{order_id}", {"status": "on-hold", "meta_data": update})
        return {"held": True, "status": "on-hold"}

    def _hold_done(self, request: ActionRequest) -> dict[str, Any] | None:
        order = self.get_order(self._order_id(request))
        if _ours(order):
            return {"held": True, "status": "on-hold"}
        if order.get("status") != "processing" and str(meta_map(order.get("meta_data")).get(HOLD_META)) != "1":
            return {"held": False, "status": order.get("status")}
        return None

    def _release(self, request: ActionRequest) -> dict[str, Any]:
        """Back to ``processing`` only while the on-hold is still ours; otherwise nothing changes, and the
        result says why (``"released": false`` and ``"why"``), which is an outcome, not an error.

        Ours means our marker is set and the order never left on-hold since: ``get_order`` drops the marker
        of a hold staff released, so an on-hold they set afterwards is theirs and stays.
        (Leaving on-hold for processing sends WooCommerce's "processing order" e-mail, as in the admin.)
        """
        order_id = self._order_id(request)
        order = self.get_order(order_id)
        if not _ours(order):
            return _not_released(order)
        update = [{"key": HOLD_META, "value": "0"}, {"key": HOLD_RELEASED_META, "value": "ordercare"}]
        self._json("PUT", f"orders/{order_id}", {"status": "processing", "meta_data": update})
        return {"released": True, "status": "processing"}

    def _release_done(self, request: ActionRequest) -> dict[str, Any] | None:
        order = self.get_order(self._order_id(request))
        if _ours(order):
            return None
        released_by = meta_map(order.get("meta_data")).get(HOLD_RELEASED_META)
        if released_by == "ordercare" and order.get("status") != "on-hold":
            return {"released": True, "status": order.get("status")}
        return _not_released(order)

    # --- address ---------------------------------------------------------------------------------

    @staticmethod
    def _target_address(request: ActionRequest) -> tuple[dict[str, str], dict[str, str]]:
        """(shipping fields, split meta) for the payload's address."""
        address = request.payload.get("address")
        if not isinstance(address, dict):
            raise PermanentError("update_address: payload.address must be an object")
        street, number = address.get("street"), address.get("house_number")
        addition = address.get("house_number_addition")
        line1 = address.get("address1")
        if not line1 and street and number:
            line1 = f"{street} {number}{(' ' + addition) if addition else ''}"
        fields = {
            "first_name": address.get("first_name"),
            "last_name": address.get("last_name"),
            "company": address.get("company"),
            "address_1": line1,
            "address_2": address.get("address2"),
            "postcode": address.get("postcode"),
            "city": address.get("city"),
            "state": address.get("province_code"),
            "country": address.get("country_code"),
            "phone": address.get("phone"),
        }
        shipping = {k: str(v) for k, v in fields.items() if v is not None}
        if not shipping.get("address_1"):
            raise PermanentError("update_address: payload.address needs address1 or street + house_number")
        split = {SPLIT_META[0]: street, SPLIT_META[1]: number, SPLIT_META[2]: addition or ""}
        return shipping, {k: str(v) for k, v in split.items() if v is not None}

    def _update_address(self, request: ActionRequest) -> dict[str, Any]:
        """The shipping address; the split-field meta too when the shop's checkout uses it."""
        order_id = self._order_id(request)
        shipping, split = self._target_address(request)
        body: dict[str, Any] = {"shipping": shipping}
        meta = meta_map(self.get_order(order_id).get("meta_data"))
        if any(key in meta for key in SPLIT_META) and split:
            body["meta_data"] = [{"key": k, "value": v} for k, v in split.items()]
        self._json("PUT", f"orders/{order_id}", body)
        return {"shipping": shipping, "split_meta": "meta_data" in body}

    def _address_done(self, request: ActionRequest) -> dict[str, Any] | None:
        shipping, _ = self._target_address(request)
        order = self.get_order(self._order_id(request))
        current = order.get("shipping") or {}
        if all(str(current.get(k, "")).strip() == v.strip() for k, v in shipping.items()):
            return {"shipping": shipping}
        return None


# statuses in which a backordered line still matters: paid and waiting to ship
STOCK_STATUSES = frozenset({OrderStatus.PROCESSING, OrderStatus.ON_HOLD, OrderStatus.PAID})
STOCK_RAW_STATUSES = frozenset({"processing", "on-hold"})


def _units(item: Any, name: str, low: int) -> int | None:
    """The entry's quantity when it names ``name`` and the quantity is a whole number of at least ``low``."""
    quantity = item.get("quantity") if isinstance(item, Mapping) else None
    if not isinstance(item, Mapping) or not item.get(name) or isinstance(quantity, bool):
        return None
    return quantity if isinstance(quantity, int) and quantity >= low else None


def woo_line_changes(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An EDIT_ORDER_LINES payload as REST ``line_items`` entries, or PermanentError naming the bad entry."""
    changes: list[dict[str, Any]] = []
    for index, item in enumerate(payload.get("set") or []):
        quantity = _units(item, "line_id", 0)
        if quantity is None:
            raise PermanentError(f"payload.set[{index}]: needs line_id and a quantity of at least 0")
        line = int(str(item["line_id"]))
        changes.append({"id": line, "product_id": None} if quantity == 0 else {"id": line, "quantity": quantity})
    for index, item in enumerate(payload.get("add") or []):
        quantity = _units(item, "product_id", 1)
        if quantity is None:
            raise PermanentError(f"payload.add[{index}]: needs product_id and a quantity of at least 1")
        entry: dict[str, Any] = {"product_id": int(str(item["product_id"])), "quantity": quantity}
        if item.get("variant_id"):
            entry["variation_id"] = int(str(item["variant_id"]))
        changes.append(entry)
    if not changes:
        raise PermanentError("payload: nothing to change (no set, no add)")
    return changes


def make_client(shop: Shop, settings: Settings, *, clock: Clock) -> WooCommerceClient:
    return WooCommerceClient(shop, clock=clock)


__all__ = ["SessionAPI", "WooCommerceClient", "WooCommerceError", "make_client"]
