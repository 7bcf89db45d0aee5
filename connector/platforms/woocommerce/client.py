"""Outbound WooCommerce REST v3: the outbox's write-backs, their replay checks, reconcile and webhooks.

Wraps the ``woocommerce`` package's ``API`` with one reused ``requests.Session`` and timeouts. Over HTTPS
the keys go as HTTP basic auth (or in the query string for servers that drop the header); over plain
HTTP the package's OAuth 1.0a signature is used, as WooCommerce requires. Errors carry WooCommerce's own
``code`` and ``message``: 429, 5xx and network trouble are retryable, other 4xx permanent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests
from requests.auth import HTTPBasicAuth
from woocommerce import API

from connector.actions import ActionKind, ActionRequest
from connector.clock import Clock
from connector.model import EventKind, OrderEvent
from connector.platforms.base import PermanentError, PlatformError, RetryableError
from connector.platforms.woocommerce.adapter import SUBSCRIBED_TOPICS as WEBHOOK_TOPICS
from connector.platforms.woocommerce.mapper import (
    DRAFT_STATUSES,
    HOLD_META,
    META_PREFIX,
    TAGS_META,
    meta_map,
    order_from_rest,
)
from connector.shops import Shop

if TYPE_CHECKING:
    from connector.config import Settings

COUPON_EXISTS = "woocommerce_rest_coupon_code_already_exists"
IDEMPOTENCY_META = "_ordercare_action"
SPLIT_META = ("_shipping_street_name", "_shipping_house_number", "_shipping_house_number_suffix")
PER_PAGE = 100
USER_AGENT = "ordercare (WooCommerce REST v3)"


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


def _error_parts(response: requests.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except ValueError:
        return "", (response.text or "").strip()[:200] or response.reason or ""
    if isinstance(data, dict):
        return str(data.get("code") or ""), str(data.get("message") or "")
    return "", str(data)[:200]


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
        }
        self._checks: dict[ActionKind, Callable[[ActionRequest], dict[str, Any] | None]] = {
            ActionKind.ADD_NOTE: self._note_done,
            ActionKind.ADD_TAGS: self._tags_done,
            ActionKind.SET_ATTRIBUTES: self._attributes_done,
            ActionKind.CREATE_VOUCHER: self._voucher_done,
            ActionKind.HOLD_FULFILLMENT: self._hold_done,
            ActionKind.RELEASE_HOLD: self._release_done,
            ActionKind.UPDATE_ADDRESS: self._address_done,
        }

    # --- transport -------------------------------------------------------------------------------

    def request(
        self, method: str, endpoint: str, data: Any = None, params: Mapping[str, Any] | None = None
    ) -> requests.Response:
        """One call; raises ``RetryableError``/``PermanentError`` with WooCommerce's code and message."""
        what = f"WooCommerce {method} /{endpoint}"
        call = getattr(self.api, method.lower())
        try:
            response: requests.Response = (
                call(endpoint, data, params=params) if method in ("POST", "PUT") else call(endpoint, params=params)
            )
        except requests.Timeout as exc:
            raise RetryableError(f"{what}: timed out ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise RetryableError(f"{what}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            return response
        code, message = _error_parts(response)
        detail = f"{status} {code}: {message}" if code else f"{status}: {message}"
        text = f"{what}: {detail}"
        if status == 429 or status >= 500:
            raise RetryableError(
                text, platform_message=detail, status=status, retry_after=_retry_after(response, self._clock)
            )
        raise WooCommerceError(text, code=code, platform_message=detail, status=status)

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
        data = self._json("GET", f"orders/{order_id}")
        if not isinstance(data, dict):
            raise RetryableError(f"WooCommerce GET /orders/{order_id}: expected an object")
        return data

    def changed_orders(self, since: datetime | None) -> Iterator[OrderEvent]:
        """Orders modified after ``since`` (oldest first): re-reads what webhooks may have missed or staled."""
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
        context = self.shop.context
        for data in items:
            if data.get("status") in DRAFT_STATUSES:
                continue
            order = order_from_rest(data, context)
            yield OrderEvent(
                kind=EventKind.ORDER,
                topic="reconcile",
                dedupe_key=f"{order.external_id}:{data['date_modified_gmt']}",
                occurred_at=order.updated_at,
                order_external_id=order.external_id,
                order=order,
            )

    def ensure_webhooks(self, callback_url: str) -> list[str]:
        """Create missing order webhooks to ``callback_url``, re-enable disabled ones, fix a stale secret."""
        if not self.shop.webhook_secrets:
            raise PermanentError(f"shop {self.shop.id!r} has no webhook secret")
        secret = self.shop.webhook_secrets[0]
        hooks = [h for h in self.paged("webhooks") if h.get("delivery_url") == callback_url]
        changed: list[str] = []
        for topic in WEBHOOK_TOPICS:
            mine = [h for h in hooks if h.get("topic") == topic]
            if not mine:
                body = {"name": f"ordercare {topic}", "topic": topic, "delivery_url": callback_url, "secret": secret}
                created = self._json("POST", "webhooks", {**body, "status": "active"})
                changed.append(f"created {topic} (webhook {created.get('id')})")
                continue
            hook = mine[0]
            update: dict[str, Any] = {}
            if hook.get("status") == "disabled":
                update["status"] = "active"
            if hook.get("secret") and hook["secret"] not in self.shop.webhook_secrets:
                update["secret"] = secret
            if update:
                self._json("PUT", f"webhooks/{hook['id']}", update)
                what = "re-enabled" if "status" in update else "updated the secret of"
                changed.append(f"{what} {topic} (webhook {hook['id']})")
        return changed

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

    @staticmethod
    def _tag_list(value: Any) -> list[str]:
        return [t.strip() for t in str(value or "").split(",") if t.strip()]

    def _add_tags(self, request: ActionRequest) -> dict[str, Any]:
        """WooCommerce orders have no tags: ours live in the order meta ``_ordercare_tags`` ("a, b").

        Existing tags are kept and the new ones appended, so shop automations can match on the meta.
        """
        tags = request.payload.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise PermanentError("add_tags: payload.tags must be a list of non-empty strings")
        order_id = self._order_id(request)
        current = self._tag_list(self._meta(order_id).get(TAGS_META))
        merged = list(dict.fromkeys([*current, *(t.strip() for t in tags)]))
        if merged != current:
            self._json("PUT", f"orders/{order_id}", {"meta_data": [{"key": TAGS_META, "value": ", ".join(merged)}]})
        return {"tags": merged}

    def _tags_done(self, request: ActionRequest) -> dict[str, Any] | None:
        current = self._tag_list(self._meta(self._order_id(request)).get(TAGS_META))
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
        on processing->on-hold.)
        """
        order_id = self._order_id(request)
        order = self.get_order(order_id)
        status = order.get("status")
        if status == "on-hold" and str(meta_map(order.get("meta_data")).get(HOLD_META)) == "1":
            return {"held": True, "status": status}
        if status != "processing":
            return {"held": False, "status": status}
        meta = [{"key": HOLD_META, "value": "1"}]
        if request.payload.get("reason"):
            meta.append({"key": "_ordercare_hold_reason", "value": str(request.payload["reason"])})
        self._json("PUT", f"orders/{order_id}", {"status": "on-hold", "meta_data": meta})
        return {"held": True, "status": "on-hold"}

    def _hold_done(self, request: ActionRequest) -> dict[str, Any] | None:
        order = self.get_order(self._order_id(request))
        ours = str(meta_map(order.get("meta_data")).get(HOLD_META)) == "1"
        if order.get("status") == "on-hold" and ours:
            return {"held": True, "status": "on-hold"}
        if order.get("status") != "processing" and not ours:
            return {"held": False, "status": order.get("status")}
        return None

    def _release(self, request: ActionRequest) -> dict[str, Any]:
        """Back to ``processing`` only if the hold is ours; our meta is cleared either way.

        (Leaving on-hold for processing sends WooCommerce's "processing order" e-mail, as in the admin.)
        """
        order_id = self._order_id(request)
        order = self.get_order(order_id)
        ours = str(meta_map(order.get("meta_data")).get(HOLD_META)) == "1"
        if not ours:
            return {"released": False, "status": order.get("status")}
        update: dict[str, Any] = {"meta_data": [{"key": HOLD_META, "value": "0"}]}
        if order.get("status") == "on-hold":
            update["status"] = "processing"
        self._json("PUT", f"orders/{order_id}", update)
        return {"released": "status" in update, "status": update.get("status", order.get("status"))}

    def _release_done(self, request: ActionRequest) -> dict[str, Any] | None:
        order = self.get_order(self._order_id(request))
        if str(meta_map(order.get("meta_data")).get(HOLD_META)) == "1":
            return None
        return {"released": order.get("status") != "on-hold", "status": order.get("status")}

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


def make_client(shop: Shop, settings: Settings, *, clock: Clock) -> WooCommerceClient:
    return WooCommerceClient(shop, clock=clock)


__all__ = ["SessionAPI", "WooCommerceClient", "WooCommerceError", "make_client"]
