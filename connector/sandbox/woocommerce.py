"""A local stand-in for a WooCommerce site: REST v3, signed webhooks and the key exchange, on loopback.

``WooSandbox`` is a plain WSGI app (werkzeug) with the REST v3 endpoints ordercare uses under
``/wp-json/wc/v3/`` (orders, order notes, coupons, webhooks) with WooCommerce's error shapes, auth and
pagination headers; ``/wc-auth/v1/authorize`` that grants keys at once; helpers that create and change
Dutch orders and deliver signed webhooks (queued and coalesced like Action Scheduler, payloads built at
delivery time); seedable fault injection; and counters for what was applied. Serve it with
``BackgroundServer`` (``sandbox.serve()``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote, urlencode
from zoneinfo import ZoneInfo

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.clock import system_clock, wall_seconds
from connector.sandbox import woocommerce_orders
from connector.sandbox.server import BackgroundServer
from connector.sandbox.woocommerce_stock import Catalog

API_PREFIX = "/wp-json/wc/v3"
CORE_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
PLUGIN_STATUSES = ("shipped", "delivered", "partial-shipped", "ready-to-ship", "awaiting-shipment", "checkout-draft")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
# Order fields kept in the ``wp_posts`` row with the legacy post storage (the customer note is the post excerpt);
# changing one rewrites the row and so moves ``date_modified`` (see ``WooSandbox._saved``).
POST_ROW_FIELDS = frozenset({"date_created", "date_created_gmt", "parent_id", "customer_note"})
COUPON_TYPES = ("percent", "fixed_cart", "fixed_product")
VALID_TOPICS = frozenset(
    f"{r}.{e}"
    for r in ("order", "coupon", "customer", "product")
    for e in ("created", "updated", "deleted", "restored")
)
USER_AGENT = "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"
MAX_FAILURES = 5  # woocommerce_max_webhook_delivery_failures: disabled on the 7th failure in a row
OAUTH_WINDOW_SECONDS = 15 * 60
# the sandbox's own keys (a loopback stand-in, not a credential of any real shop)
SANDBOX_KEY = "ck_sandbox_0123456789abcdef0123456789abcdef01234567"
SANDBOX_SECRET = "cs_sandbox_0123456789abcdef0123456789abcdef01234567"  # noqa: S105
SANDBOX_WEBHOOK_SECRET = "sandboxwebhooksecret0123456789"  # noqa: S105


def _rest_webhook(hook: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook as the REST API shows it: WooCommerce never returns the ``secret`` (it is write-only)."""
    return {k: v for k, v in hook.items() if k != "secret"}


def _stamp(moment: datetime, tz: ZoneInfo | None = None) -> str:
    return moment.astimezone(tz or UTC).strftime("%Y-%m-%dT%H:%M:%S")


def php_json(data: Any) -> bytes:
    """JSON as ``wp_json_encode`` writes it: compact, ``/`` escaped, non-ASCII as ``\\uXXXX``."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True, default=str).replace("/", "\\/").encode()


def wc_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# WooCommerce's offline payment gateways and the titles a Dutch shop shows for them (and iDEAL via Mollie).
OFFLINE_GATEWAYS = frozenset({"bacs", "cheque", "cod"})
GATEWAY_TITLES = {
    "mollie_wc_gateway_ideal": "iDEAL",
    "bacs": "Bankoverschrijving",
    "cheque": "Cheque",
    "cod": "Onder rembours",
}


class ApiError(Exception):
    """Answered as WooCommerce does: ``{"code", "message", "data": {"status"}}``."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def response(self) -> Response:
        body = {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}
        return Response(json.dumps(body), status=self.status, mimetype="application/json")


def _one_of(value: Any, name: str, allowed: tuple[str, ...]) -> Any:
    """``value`` if it is one of ``allowed``; else WooCommerce's answer to an invalid parameter ``name``."""
    if value not in allowed:
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
    return value


@dataclass
class Faults:
    """What goes wrong, per API call: 5xx (nothing applied), slow answers (applied; the client may time out),
    garbage bodies (applied, answer unreadable), and bursts of 429. Seeded, so runs repeat."""

    error_rate: float = 0.0
    timeout_rate: float = 0.0
    slow_seconds: float = 0.0
    garbage_rate: float = 0.0
    burst_429: int = 0
    retry_after: int = 1
    seed: int = 0
    # The next N ``POST /webhooks`` create the webhook and then answer 504: the answer is lost after the webhook
    # exists. WooCommerce's create pings the new webhook before it answers (``create_item`` calls
    # ``deliver_ping()``, up to 5 s; ../shared/platforms/woocommerce.md §1.3), so a slow receiver plus a proxy's
    # timeout in front of WordPress, or a fatal error in a later hook, loses the answer to a create that happened.
    lost_webhook_answers: int = 0
    outage_after_lost_answer: int = 0  # and then the next N requests fail with a 500 (the site went down with it)


@dataclass
class Delivery:
    """One webhook delivery attempt the sandbox made (or the ping)."""

    topic: str
    url: str
    order_id: int | None
    status: int | None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class _Page:
    items: list[dict[str, Any]]
    total: int
    pages: int


class WooSandbox:
    """An in-memory WooCommerce site. Thread-safe; every state change happens under one lock.

    Orders are kept as the legacy post storage keeps them, unless ``hpos=True`` (when ``date_modified`` moves:
    ``_saved``)."""

    def __init__(
        self,
        *,
        consumer_key: str = SANDBOX_KEY,
        consumer_secret: str = SANDBOX_SECRET,
        webhook_secret: str = SANDBOX_WEBHOOK_SECRET,
        clock: Callable[[], datetime] = system_clock,
        wall_clock: Callable[[], float] = wall_seconds,
        timezone: str = "Europe/Amsterdam",
        faults: Faults | None = None,
        site_url: str = "http://127.0.0.1",
        basic_auth_over_http: bool = True,
        ping_on_create: bool = True,
        allow_http_callbacks: bool = True,
        delivery_timeout: float = 10.0,
        auto_deliver: bool = False,
        hpos: bool = False,
    ) -> None:
        self.keys: dict[str, str] = {consumer_key: consumer_secret}
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.webhook_secret = webhook_secret
        self.clock, self.wall_clock = clock, wall_clock
        self.tz = ZoneInfo(timezone)
        self.site_url = site_url.rstrip("/")
        self.basic_auth_over_http = basic_auth_over_http
        self.ping_on_create = ping_on_create
        self.allow_http_callbacks = allow_http_callbacks
        self.delivery_timeout = delivery_timeout
        self.auto_deliver = auto_deliver
        self.hpos = hpos  # see ``_saved``: False is the legacy post storage (WooCommerce 7.9's default)
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self.lock = threading.RLock()
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.coupons: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.catalog = Catalog()  # products, stock, backorders (woocommerce_stock)
        self.counters: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every REST request, for "nothing written"
        self.deliveries: list[Delivery] = []
        self._pending: dict[tuple[int, int], None] = {}  # (webhook id, order id), coalesced like Action Scheduler
        self._pre_trash: dict[int, str] = {}
        self._nonces: set[str] = set()
        self._ids = 5000
        self._last_modified: dict[int, datetime] = {}
        self._outage = 0  # requests still to fail with a 500 (``Faults.outage_after_lost_answer``)
        self._urls = Map(
            [
                Rule(f"{API_PREFIX}/orders", endpoint="orders", methods=["GET", "POST"]),
                Rule(f"{API_PREFIX}/orders/<int:order_id>", endpoint="order", methods=["GET", "PUT"]),
                Rule(f"{API_PREFIX}/orders/<int:order_id>/notes", endpoint="notes", methods=["GET", "POST"]),
                Rule(f"{API_PREFIX}/coupons", endpoint="coupons", methods=["GET", "POST"]),
                Rule(f"{API_PREFIX}/products", endpoint="products", methods=["GET"]),
                Rule(f"{API_PREFIX}/products/<int:product_id>/variations", endpoint="variations", methods=["GET"]),
                Rule(f"{API_PREFIX}/coupons/<int:coupon_id>", endpoint="coupon", methods=["GET"]),
                Rule(f"{API_PREFIX}/webhooks", endpoint="webhooks", methods=["GET", "POST"]),
                Rule(f"{API_PREFIX}/webhooks/<int:webhook_id>", endpoint="webhook", methods=["GET", "PUT", "DELETE"]),
                Rule("/wc-auth/v1/authorize", endpoint="authorize", methods=["GET"]),
            ]
        )

    # --- serving ---------------------------------------------------------------------------------

    def serve(self, port: int = 0) -> BackgroundServer:
        """A (not yet started) loopback server for this site; the site URL becomes its address."""
        server = BackgroundServer(self, port=port)
        self.site_url = server.url
        return server

    @property
    def source(self) -> str:
        """``X-WC-Webhook-Source``: ``home_url('/')``, with the trailing slash."""
        return self.site_url + "/"

    def shop_config(self, shop_id: str = "woo-sandbox", **extra: Any) -> dict[str, Any]:
        """This site as a ``shops:`` entry of ordercare's config."""
        return {
            "id": shop_id,
            "platform": "woocommerce",
            "url": self.site_url,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "webhook_secret": self.webhook_secret,
            **extra,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    # --- time and ids ----------------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _touch(self, order: dict[str, Any]) -> None:
        """Bump ``date_modified``; WooCommerce keeps seconds, so a change within the same second moves it on."""
        moment = self.clock().astimezone(UTC).replace(microsecond=0)
        last = self._last_modified.get(order["id"])
        if last is not None and moment <= last:
            moment = last + timedelta(seconds=1)
        self._last_modified[order["id"]] = moment
        order["date_modified"], order["date_modified_gmt"] = _stamp(moment, self.tz), _stamp(moment)

    def _saved(self, order: dict[str, Any], *, post_row: bool) -> None:
        """``$order->save()``: when ``date_modified`` moves depends on the order storage.

        With the legacy post storage (HPOS off, the WooCommerce 7.9 default and every shop that never migrated)
        the order is a ``wp_posts`` row plus post meta, and ``date_modified`` is the row's ``post_modified``: it
        changes only when the row is rewritten (``post_row``: a change of status, of the post dates, the parent
        or the customer note, which is the post excerpt). An address (``shipping``/``billing``, post meta) or a
        meta-only save, such as a tracking plugin writing a carrier status with ``update_meta_data`` + ``save``,
        leaves it as it was, and ``order.updated`` still fires. With HPOS every save bumps it. Measured on
        WooCommerce 7.9.0: ../shared/platforms/woocommerce-real-2026-12.md (the staff address fix via REST, the
        meta-only "delivered" and the HPOS rows; finding 1).
        """
        if self.hpos or post_row:
            self._touch(order)

    # --- orders: helpers for tests and the demo --------------------------------------------------

    def create_order(
        self,
        *,
        status: str = "processing",
        first_name: str = "Sanne",
        last_name: str = "de Vries",
        email: str = "sanne.devries@example.nl",
        phone: str = "0612345678",
        street: str = "Laan van Meerdervoort",
        house_number: str = "1001",
        house_number_suffix: str = "",
        postcode: str = "2564 AZ",
        city: str = "Den Haag",
        country: str = "NL",
        split_fields: bool = True,
        address_1: str | None = None,
        address_2: str = "",
        items: Iterable[tuple[str, int, str]] = (("Rooibos Vanille 250 g", 2, "6.88"),),
        shipping_method: tuple[str, str] = ("Morgen in huis", "flat_rate"),
        shipping_total: str = "4.95",
        created_via: str = "checkout",
        customer_note: str = "",
        locale: str | None = "nl",
        meta: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
        payment_method: str = "mollie_wc_gateway_ideal",
    ) -> dict[str, Any]:
        """A REST v3 order as a Dutch checkout makes it (split address fields unless told otherwise).

        An online payment (iDEAL, the default) is paid at once. WooCommerce's offline gateways are not:
        a bank transfer (``bacs``) or cheque order is put in ``on-hold`` and cash on delivery (``cod``) in
        ``processing``, each with ``date_paid`` null until staff mark it paid (measured on WooCommerce
        7.9.0, ../shared/platforms/woocommerce-real-2026-12.md; gateways in includes/gateways/).
        """
        with self.lock:
            order_id = self._next_id()
            moment = (created_at or self.clock()).astimezone(UTC).replace(microsecond=0)
            house = f"{house_number}{(' ' + house_number_suffix) if house_number_suffix else ''}"
            line1 = address_1 if address_1 is not None else " ".join(p for p in (street, house) if p)
            address = {
                "first_name": first_name,
                "last_name": last_name,
                "company": "",
                "address_1": line1,
                "address_2": address_2,
                "city": city,
                "state": "",
                "postcode": postcode,
                "country": country,
            }
            lines, subtotal = [], Decimal("0")
            for index, (name, quantity, price) in enumerate(items):
                amount = Decimal(price) * quantity
                subtotal += amount
                lines.append(
                    {
                        "id": order_id * 10 + index + 1,
                        "name": name,
                        "product_id": 300 + index,
                        "variation_id": 0,
                        "quantity": quantity,
                        "tax_class": "",
                        "subtotal": f"{amount:.2f}",
                        "subtotal_tax": "0.00",
                        "total": f"{amount:.2f}",
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [],
                        "sku": f"SKU-{300 + index}",
                        "price": float(price),
                    }
                )
            meta_items: dict[str, Any] = {}
            if split_fields:
                for kind in ("shipping", "billing"):
                    meta_items[f"_{kind}_street_name"] = street
                    meta_items[f"_{kind}_house_number"] = house_number
                    meta_items[f"_{kind}_house_number_suffix"] = house_number_suffix
            if locale:
                meta_items["wpml_language"] = locale
            meta_items.update(meta or {})
            paid = status not in ("pending", "failed", "checkout-draft") and payment_method not in OFFLINE_GATEWAYS
            order: dict[str, Any] = {
                "id": order_id,
                "parent_id": 0,
                "number": str(order_id),
                "order_key": f"wc_order_{secrets.token_hex(6)}",
                "created_via": created_via,
                "version": "9.4.2",
                "status": status,
                "currency": "EUR",
                "date_created": _stamp(moment, self.tz),
                "date_created_gmt": _stamp(moment),
                "discount_total": "0.00",
                "discount_tax": "0.00",
                "shipping_total": shipping_total,
                "shipping_tax": "0.00",
                "cart_tax": "0.00",
                "total": f"{subtotal + Decimal(shipping_total):.2f}",
                "total_tax": "0.00",
                "prices_include_tax": True,
                "customer_id": 0,
                "customer_ip_address": "192.0.2.10",
                "customer_user_agent": "Mozilla/5.0",
                "customer_note": customer_note,
                "billing": {**address, "email": email, "phone": phone},
                "shipping": {**address, "phone": ""},
                "payment_method": payment_method,
                "payment_method_title": GATEWAY_TITLES.get(payment_method, payment_method),
                "transaction_id": f"tr_{secrets.token_hex(5)}" if paid else "",
                "date_paid": _stamp(moment, self.tz) if paid else None,
                "date_paid_gmt": _stamp(moment) if paid else None,
                "date_completed": None,
                "date_completed_gmt": None,
                "cart_hash": secrets.token_hex(16),
                "meta_data": [],
                "line_items": lines,
                "tax_lines": [],
                "shipping_lines": [
                    {
                        "id": order_id * 10,
                        "method_title": shipping_method[0],
                        "method_id": shipping_method[1],
                        "instance_id": "1",
                        "total": shipping_total,
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [],
                    }
                ],
                "fee_lines": [],
                "coupon_lines": [],
                "refunds": [],
            }
            for key, value in meta_items.items():
                self._set_meta(order, key, value)
            self._last_modified[order_id] = moment - timedelta(seconds=1)
            self._touch(order)
            self.orders[order_id] = order
            self.notes[order_id] = []
            self.counters["orders_created"] += 1
            self._enqueue("order.created", order_id)
        self._maybe_deliver()
        return self.order(order_id)

    def order(self, order_id: int) -> dict[str, Any]:
        """A copy of the order as the REST API would return it."""
        with self.lock:
            return self._rest_order(self._get_order(order_id))

    def update_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        """Change top-level fields (``status``, ``customer_note``...), ``shipping``/``billing`` parts and
        ``meta`` ({key: value}) as shop staff or a plugin would; queues ``order.updated``."""
        with self.lock:
            order = self._get_order(order_id)
            meta = changes.pop("meta", None) or {}
            for section in ("shipping", "billing"):
                if section in changes:
                    order[section].update(changes.pop(section))
            new_status = changes.pop("status", None)
            post_row = new_status not in (None, order["status"]) or any(
                name in POST_ROW_FIELDS and order.get(name) != value for name, value in changes.items()
            )
            order.update(changes)
            for key, value in meta.items():
                self._set_meta(order, key, value)
            if new_status is not None:
                self._set_status(order, new_status)
            self._saved(order, post_row=post_row)
            self._enqueue("order.updated", order_id)
        self._maybe_deliver()
        return self.order(order_id)

    def add_tracking(
        self,
        order_id: int,
        *,
        number: str,
        provider: str = "postnl",
        url: str = "",
        shipped_at: datetime | None = None,
        status: str | None = None,
        status_at: datetime | None = None,
        estimated_delivery: str | None = None,
        complete: bool = True,
    ) -> dict[str, Any]:
        """A parcel as the Shipment Tracking / AST plugin records it (plus a TrackShip status if given)."""
        with self.lock:
            order = self._get_order(order_id)
            meta = {m["key"]: m["value"] for m in order["meta_data"]}
            items = list(meta.get("_wc_shipment_tracking_items") or [])
            shipped = (shipped_at or self.clock()).astimezone(UTC)
            items.append(
                {
                    "tracking_provider": provider if not url else "",
                    "custom_tracking_provider": provider if url else "",
                    "custom_tracking_link": url,
                    "tracking_number": number,
                    "date_shipped": str(int(shipped.timestamp())),
                    "tracking_id": hashlib.md5(f"{order_id}:{number}".encode()).hexdigest(),  # noqa: S324
                }
            )
            self._set_meta(order, "_wc_shipment_tracking_items", items)
            statuses = list(meta.get("shipment_status") or [])
            while len(statuses) < len(items) - 1:
                statuses.append({})
            if status is not None:
                when = (status_at or self.clock()).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
                entry = {"status": status, "status_date": when}
                if estimated_delivery:
                    entry["est_delivery_date"] = estimated_delivery
                statuses.append(entry)
                self._set_meta(order, "shipment_status", statuses)
            completes = complete and order["status"] not in ("completed", "shipped", "delivered")
            if completes:
                self._set_status(order, "completed")
            self._saved(order, post_row=completes)  # tracking items alone are post meta
            self._enqueue("order.updated", order_id)
        self._maybe_deliver()
        return self.order(order_id)

    def set_shipment_status(self, order_id: int, index: int, status: str, at: datetime | None = None) -> dict[str, Any]:
        """TrackShip's carrier status for the ``index``-th parcel."""
        with self.lock:
            order = self._get_order(order_id)
            meta = {m["key"]: m["value"] for m in order["meta_data"]}
            statuses = list(meta.get("shipment_status") or [])
            while len(statuses) <= index:
                statuses.append({})
            when = (at or self.clock()).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            statuses[index] = {**statuses[index], "status": status, "status_date": when}
            self._set_meta(order, "shipment_status", statuses)
            self._saved(order, post_row=False)  # meta only, as TrackShip writes it
            self._enqueue("order.updated", order_id)
        self._maybe_deliver()
        return self.order(order_id)

    def trash_order(self, order_id: int) -> None:
        with self.lock:
            order = self._get_order(order_id)
            self._pre_trash[order_id] = order["status"]
            order["status"] = "trash"
            self._touch(order)
            self._enqueue("order.deleted", order_id)
        self._maybe_deliver()

    def restore_order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            order = self._get_order(order_id)
            order["status"] = self._pre_trash.pop(order_id, "pending")
            self._touch(order)
            self._enqueue("order.restored", order_id)
        self._maybe_deliver()
        return self.order(order_id)

    def meta(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            return {m["key"]: m["value"] for m in self._get_order(order_id)["meta_data"]}

    def order_notes(self, order_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(n) for n in self.notes.get(order_id, [])]

    def add_webhook(self, topic: str, delivery_url: str, *, secret: str | None = None, status: str = "active") -> int:
        with self.lock:
            hook = self._new_webhook(
                {
                    "topic": topic,
                    "delivery_url": delivery_url,
                    "secret": secret or self.webhook_secret,
                    "status": status,
                }
            )
        return int(hook["id"])

    # --- internal state changes ------------------------------------------------------------------

    def _get_order(self, order_id: int) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return order

    def _rest_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(json.dumps(order))
        data["_links"] = {
            "self": [{"href": f"{self.site_url}{API_PREFIX}/orders/{order['id']}"}],
            "collection": [{"href": f"{self.site_url}{API_PREFIX}/orders"}],
        }
        return data

    def _set_meta(self, order: dict[str, Any], key: str, value: Any, meta_id: int | None = None) -> None:
        """``update_meta_data`` + save: a null value deletes the key (``WC_Data::save_meta_data``). Only this
        changes meta: a status change leaves it alone, ordercare's hold marker included."""
        if value is None:
            order["meta_data"] = [
                item
                for item in order["meta_data"]
                if not ((meta_id is not None and item["id"] == meta_id) or (meta_id is None and item["key"] == key))
            ]
            return
        for item in order["meta_data"]:
            if (meta_id is not None and item["id"] == meta_id) or (meta_id is None and item["key"] == key):
                item["key"], item["value"] = key, value
                return
        order["meta_data"].append({"id": self._next_id() * 10, "key": key, "value": value})

    def _set_status(self, order: dict[str, Any], status: str) -> None:
        old = order["status"]
        if status == old:
            return
        order["status"] = status
        moment = self.clock()
        if status == "completed":
            order["date_completed"], order["date_completed_gmt"] = _stamp(moment, self.tz), _stamp(moment)
        if status == "processing" and not order.get("date_paid_gmt"):
            order["date_paid"], order["date_paid_gmt"] = _stamp(moment, self.tz), _stamp(moment)
        self.counters["status_changes"] += 1
        self.counters[f"status:{old}->{status}"] += 1
        self._add_note(order["id"], f"Order status changed from {old} to {status}.", customer=False, author="system")

    def _add_note(self, order_id: int, text: str, *, customer: bool, author: str) -> dict[str, Any]:
        moment = self.clock()
        note = {
            "id": self._next_id(),
            "author": author,
            "date_created": _stamp(moment, self.tz),
            "date_created_gmt": _stamp(moment),
            "note": text,
            "customer_note": customer,
        }
        self.notes.setdefault(order_id, []).insert(0, note)  # newest first, as WooCommerce lists them
        return note

    # --- webhooks out ----------------------------------------------------------------------------

    def _new_webhook(self, body: Mapping[str, Any]) -> dict[str, Any]:
        topic, url = body.get("topic"), body.get("delivery_url")
        if topic not in VALID_TOPICS:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): topic", params={"topic": "invalid"})
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): delivery_url")
        status = _one_of(body.get("status", "active"), "status", WEBHOOK_STATUSES)
        moment = self.clock()
        hook = {
            "id": self._next_id(),
            "name": body.get("name") or f"Webhook {topic}",
            "status": status,
            "topic": topic,
            "resource": topic.split(".")[0],
            "event": topic.split(".")[1],
            "hooks": [],
            "delivery_url": url,
            "secret": body.get("secret") or hashlib.md5(b"1|admin").hexdigest(),  # noqa: S324 (WooCommerce's default)
            "date_created": _stamp(moment, self.tz),
            "date_created_gmt": _stamp(moment),
            "date_modified": _stamp(moment, self.tz),
            "date_modified_gmt": _stamp(moment),
            "failure_count": 0,
            "pending_delivery": True,
        }
        self.webhooks[hook["id"]] = hook
        self.counters["webhooks_created"] += 1
        return hook

    def _enqueue(self, topic: str, order_id: int) -> None:
        for hook in self.webhooks.values():
            if hook["status"] == "active" and hook["topic"] == topic:
                self._pending[(hook["id"], order_id)] = None

    def _maybe_deliver(self) -> None:
        if self.auto_deliver:
            self.deliver_pending()

    def pending_deliveries(self) -> list[tuple[str, int]]:
        with self.lock:
            return [(self.webhooks[h]["topic"], o) for h, o in self._pending]

    def deliver_pending(self) -> list[Delivery]:
        """Run the delivery queue: one delivery per (webhook, order), built from the order as it is now."""
        with self.lock:
            queue, self._pending = list(self._pending), {}
        done = []
        for hook_id, order_id in queue:
            with self.lock:
                hook = dict(self.webhooks[hook_id])
            if hook["status"] == "active":
                done.append(self._deliver(hook, order_id))
        return done

    def send_webhook(
        self, topic: str, order_id: int, url: str | None = None, *, secret: str | None = None
    ) -> list[Delivery]:
        """Deliver ``topic`` for the order now: to ``url`` (signed with ``secret`` or the sandbox's), or else
        to every active webhook of that topic."""
        if url is not None:
            hook = {"id": 0, "topic": topic, "delivery_url": url, "secret": secret or self.webhook_secret}
            return [self._deliver(hook, order_id)]
        with self.lock:
            hooks = [dict(h) for h in self.webhooks.values() if h["status"] == "active" and h["topic"] == topic]
        return [self._deliver(hook, order_id) for hook in hooks]

    def payload(self, topic: str, order_id: int) -> bytes:
        """The body WooCommerce would send for ``topic`` now: ``order.deleted`` carries only ``{"id": N}``, the
        same body for every trash of the order (a second trash after a restore too)."""
        with self.lock:
            if topic.endswith(".deleted"):
                return php_json({"id": order_id})
            return php_json(self._rest_order(self._get_order(order_id)))

    def _deliver(self, hook: Mapping[str, Any], order_id: int) -> Delivery:
        topic = str(hook["topic"])
        body = self.payload(topic, order_id)
        resource, _, event = topic.partition(".")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": self.source,
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": wc_signature(body, str(hook["secret"])),
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": hashlib.md5(f"{hook['id']}{self.wall_clock()}".encode()).hexdigest(),  # noqa: S324
        }
        record = Delivery(topic=topic, url=str(hook["delivery_url"]), order_id=order_id, status=None)
        record.headers, record.body = headers, body
        try:
            answer = requests.post(
                record.url, data=body, headers=headers, timeout=self.delivery_timeout, allow_redirects=False
            )
            record.status = answer.status_code
        except requests.RequestException as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        self._delivered(hook, record, ok=record.status is not None and 200 <= record.status < 303)
        return record

    def _delivered(self, hook: Mapping[str, Any], record: Delivery, *, ok: bool) -> None:
        with self.lock:
            self.deliveries.append(record)
            self.counters["deliveries_ok" if ok else "deliveries_failed"] += 1
            stored = self.webhooks.get(int(hook["id"]))
            if stored is None:
                return
            if ok:
                stored["failure_count"] = 0
            elif stored["failure_count"] > MAX_FAILURES:
                stored["status"] = "disabled"
                self.counters["webhooks_disabled"] += 1
            else:
                stored["failure_count"] += 1

    def send_ping(self, url: str, webhook_id: int = 1) -> Delivery:
        """The unsigned ``webhook_id=N`` form post WooCommerce sends when a webhook is created."""
        record = Delivery(topic="ping", url=url, order_id=None, status=None, body=f"webhook_id={webhook_id}".encode())
        record.headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        try:
            record.status = requests.post(url, data=record.body, headers=record.headers, timeout=5).status_code
        except requests.RequestException as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        with self.lock:
            self.deliveries.append(record)
            hook = self.webhooks.get(webhook_id)
            if hook is not None and record.status == 200:
                hook["pending_delivery"] = False
        return record

    # --- HTTP ------------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException:
            if request.path.startswith("/wp-json/"):
                return ApiError(
                    404, "rest_no_route", "No route was found matching the URL and request method"
                ).response()
            return Response("Not Found", status=404)
        if endpoint == "authorize":
            return self._authorize(request)
        with self.lock:
            self.counters["requests"] += 1
            self.requests.append((request.method, request.path))
            fault = self._pick_fault()
        if fault == "429":
            return self._fault_429()
        if fault == "5xx":
            return ApiError(500, "internal_server_error", "There has been a critical error on this website.").response()
        try:
            self._authenticate(request)
            with self.lock:
                result = getattr(self, f"_api_{endpoint}")(request, **args)
                lost = endpoint == "webhooks" and request.method == "POST" and self.faults.lost_webhook_answers > 0
                if lost:
                    self.faults.lost_webhook_answers -= 1
                    self.counters["faults_lost_answer"] += 1
                    self._outage += self.faults.outage_after_lost_answer
            response = self._json_response(result)
            if lost:
                return Response("<html><body><h1>504 Gateway Time-out</h1></body></html>", status=504)
        except ApiError as error:
            response = error.response()
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
        if fault == "garbage":
            return Response("<html><body>Error establishing a database connection</body></html>", status=200)
        return response

    def _pick_fault(self) -> str | None:
        faults = self.faults
        if self._outage > 0:
            self._outage -= 1
            self.counters["faults_5xx"] += 1
            return "5xx"
        if faults.burst_429 > 0:
            faults.burst_429 -= 1
            self.counters["faults_429"] += 1
            return "429"
        roll = self._rng.random()
        for name, rate in (("5xx", faults.error_rate), ("slow", faults.timeout_rate), ("garbage", faults.garbage_rate)):
            if roll < rate:
                self.counters[f"faults_{name}"] += 1
                return name
            roll -= rate
        return None

    def _fault_429(self) -> Response:
        response = ApiError(429, "woocommerce_rest_too_many_requests", "Too many requests.").response()
        response.headers["Retry-After"] = str(self.faults.retry_after)
        return response

    @staticmethod
    def _json_response(result: Any) -> Response:
        if isinstance(result, _Page):
            response = Response(json.dumps(result.items), mimetype="application/json")
            response.headers["X-WP-Total"] = str(result.total)
            response.headers["X-WP-TotalPages"] = str(result.pages)
            return response
        status, body = result if isinstance(result, tuple) else (200, result)
        return Response(json.dumps(body), status=status, mimetype="application/json")

    # --- auth ------------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        key = secret = None
        if request.authorization and request.authorization.type == "basic":
            key, secret = request.authorization.username, request.authorization.password
        elif "consumer_key" in request.args:
            key, secret = request.args.get("consumer_key"), request.args.get("consumer_secret")
        elif "oauth_signature" in request.args:
            self._check_oauth(request)
            return
        over_http = request.scheme == "http" and not self.basic_auth_over_http
        if (
            key is None
            or over_http
            or self.keys.get(key) is None
            or not hmac.compare_digest(self.keys[key], secret or "")
        ):
            raise self._cannot(request)

    @staticmethod
    def _cannot(request: Request) -> ApiError:
        if request.method == "GET":
            return ApiError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        if request.method == "POST":
            return ApiError(401, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
        return ApiError(401, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")

    def _check_oauth(self, request: Request) -> None:
        """OAuth 1.0a one-legged, as ``WC_REST_Authentication::check_oauth_signature`` checks it."""
        params = {k: v for k, v in request.args.items()}
        given = params.pop("oauth_signature", "").replace(" ", "+")
        secret = self.keys.get(params.get("oauth_consumer_key", ""))
        method = params.get("oauth_signature_method", "")
        if secret is None or method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")

        def encode(value: str) -> str:
            return quote(unquote(value), safe="~").replace("%", "%25")

        pairs = [f"{encode(k)}%3D{encode(v)}" for k, v in sorted(params.items())]
        base = f"{request.method}&{quote(request.base_url, safe='~')}&{'%26'.join(pairs)}"
        digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
        expected = base64.b64encode(hmac.new(f"{secret}&".encode(), base.encode(), digest).digest()).decode()
        if not hmac.compare_digest(expected, given):
            raise ApiError(
                401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match."
            )
        try:
            stamp = int(params.get("oauth_timestamp", ""))
        except ValueError:
            raise ApiError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.") from None
        if abs(self.wall_clock() - stamp) > OAUTH_WINDOW_SECONDS:
            raise ApiError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        nonce = f"{params.get('oauth_consumer_key')}:{params.get('oauth_nonce')}"
        if nonce in self._nonces:
            raise ApiError(401, "woocommerce_rest_authentication_error", "Invalid nonce - nonce has already been used.")
        self._nonces.add(nonce)

    # --- REST v3 endpoints -----------------------------------------------------------------------

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
        return data

    @staticmethod
    def _page(request: Request, items: list[dict[str, Any]]) -> _Page:
        try:
            per_page = int(request.args.get("per_page", "10"))
            page = int(request.args.get("page", "1"))
        except ValueError:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page, page") from None
        if not 1 <= per_page <= 100:
            raise ApiError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
            )
        if page < 1:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): page")
        pages = max(1, -(-len(items) // per_page)) if items else 0
        return _Page(items[(page - 1) * per_page : page * per_page], len(items), pages)

    def _api_orders(self, request: Request) -> Any:
        if request.method == "POST":  # an order made over REST (woocommerce_orders): a replacement at no cost
            try:
                return woocommerce_orders.create(self, self._body(request))
            except woocommerce_orders.InvalidOrder as invalid:
                raise ApiError(400, invalid.code, str(invalid)) from None
        orderby = request.args.get("orderby", "date")
        sort_keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "date": lambda o: (o["date_created_gmt"], o["id"]),
            "id": lambda o: o["id"],
            "modified": lambda o: (o["date_modified_gmt"], o["id"]),
            "include": lambda o: o["id"],
        }
        if orderby not in sort_keys:
            raise ApiError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): orderby",
                params={"orderby": "orderby is not one of date, id, include, modified."},
            )
        statuses = [s for s in request.args.get("status", "any").split(",") if s]
        orders = [
            o
            for o in self.orders.values()
            if (o["status"] != "trash" if "any" in statuses else o["status"] in statuses)
        ]
        if request.args.get("include"):  # ``include=5001,5002``: only these ids (WP REST reads a comma list)
            try:
                wanted = {int(i) for i in request.args["include"].split(",") if i.strip()}
            except ValueError:
                raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): include") from None
            orders = [o for o in orders if o["id"] in wanted]
        if request.args.get("search"):  # the order search (woocommerce_orders.matches)
            orders = [o for o in orders if woocommerce_orders.matches(o, request.args["search"])]
        gmt = request.args.get("dates_are_gmt") in ("true", "1")
        for name, field_name, after in (
            ("modified_after", "date_modified", True),
            ("modified_before", "date_modified", False),
            ("after", "date_created", True),
            ("before", "date_created", False),
        ):
            value = request.args.get(name)
            if value:
                column = f"{field_name}_gmt" if gmt else field_name
                bound = value[:19]
                orders = [o for o in orders if (o[column] > bound if after else o[column] < bound)]
        orders.sort(key=sort_keys[orderby], reverse=request.args.get("order", "desc") == "desc")
        return self._page(request, [self._rest_order(o) for o in orders])

    def _api_order(self, request: Request, order_id: int) -> Any:
        order = self._get_order(order_id)
        if request.method == "GET":
            return self._rest_order(order)
        body = self._body(request)
        changed = post_row = False
        for section in ("shipping", "billing"):
            if section in body:
                if not isinstance(body[section], dict):
                    raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {section}")
                order[section].update({k: str(v) for k, v in body[section].items()})
                self.counters["address_updates" if section == "shipping" else "billing_updates"] += 1
                changed = True
        for item in body.get("meta_data") or []:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): meta_data")
            self._set_meta(order, item["key"], item.get("value"), item.get("id"))
            self.counters["meta_updates"] += 1
            changed = True
        if "customer_note" in body:
            post_row |= order["customer_note"] != str(body["customer_note"])
            order["customer_note"] = str(body["customer_note"])
            changed = True
        if "line_items" in body:
            problem = self.catalog.apply_line_items(order, body["line_items"], self._next_id)
            if problem is not None:
                raise ApiError(400, "woocommerce_rest_invalid_order_item", problem)
            self.counters["line_item_edits"] += 1
            changed = post_row = True
        status = body.get("status")
        if status is not None:
            if status not in (*CORE_STATUSES, *PLUGIN_STATUSES):
                raise ApiError(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): status",
                    params={"status": "status is not one of the registered statuses."},
                )
            post_row |= status != order["status"]
            changed |= status != order["status"]
            self._set_status(order, status)  # applied after the other props, as WooCommerce does
        if changed:
            self._saved(order, post_row=post_row)  # an address or meta PUT alone keeps date_modified
            self._enqueue("order.updated", order_id)
        return self._rest_order(order)

    def _include(self, request: Request) -> set[int]:
        try:
            return {int(i) for i in request.args.get("include", "").split(",") if i.strip()}
        except ValueError:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): include") from None

    def _api_products(self, request: Request) -> Any:
        wanted = self._include(request) or set(self.catalog.products)
        return self._page(request, self.catalog.listed(wanted))

    def _api_variations(self, request: Request, product_id: int) -> Any:
        wanted = self._include(request) or set(self.catalog.products)
        return self._page(request, self.catalog.listed(wanted, parent=product_id))

    def _api_notes(self, request: Request, order_id: int) -> Any:
        self._get_order(order_id)
        if request.method == "GET":
            kind = request.args.get("type", "any")
            notes = [
                n for n in self.notes.get(order_id, []) if kind == "any" or n["customer_note"] == (kind == "customer")
            ]
            return [dict(n) for n in notes]
        body = self._body(request)
        text = body.get("note")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
        customer = bool(body.get("customer_note", False))
        note = self._add_note(
            order_id, text, customer=customer, author="ordercare" if body.get("added_by_user") else "system"
        )
        self.counters["customer_notes" if customer else "notes"] += 1
        if customer:
            self.counters["customer_note_emails"] += 1  # WooCommerce e-mails a customer note to the customer
        return 201, dict(note)

    def _api_coupons(self, request: Request) -> Any:
        if request.method == "GET":
            code = request.args.get("code")
            items = [c for c in self.coupons.values() if code is None or c["code"] == code.strip().lower()]
            return self._page(request, [dict(c) for c in sorted(items, key=lambda c: -c["id"])])
        body = self._body(request)
        code = body.get("code")
        if not isinstance(code, str) or not code.strip():
            raise ApiError(400, "rest_missing_callback_param", "Missing parameter(s): code", params=["code"])
        code = code.strip().lower()  # wc_format_coupon_code
        if any(c["code"] == code for c in self.coupons.values()):
            raise ApiError(400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
        discount_type = _one_of(body.get("discount_type", "fixed_cart"), "discount_type", COUPON_TYPES)
        moment = self.clock()
        coupon = {
            "id": self._next_id(),
            "code": code,
            "amount": str(body.get("amount", "0")),
            "discount_type": discount_type,
            "description": str(body.get("description", "")),
            "date_created": _stamp(moment, self.tz),
            "date_created_gmt": _stamp(moment),
            "date_expires": body.get("date_expires"),
            "usage_count": 0,
            "individual_use": bool(body.get("individual_use", False)),
            "usage_limit": body.get("usage_limit"),
            "usage_limit_per_user": body.get("usage_limit_per_user"),
            "email_restrictions": list(body.get("email_restrictions") or []),
            "used_by": [],
            "meta_data": [
                {"id": self._next_id(), "key": m["key"], "value": m.get("value")}
                for m in body.get("meta_data") or []
                if isinstance(m, dict) and "key" in m
            ],
        }
        self.coupons[coupon["id"]] = coupon
        self.counters["coupons"] += 1
        return 201, dict(coupon)

    def _api_coupon(self, request: Request, coupon_id: int) -> Any:
        coupon = self.coupons.get(coupon_id)
        if coupon is None:
            raise ApiError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
        return dict(coupon)

    def _api_webhooks(self, request: Request) -> Any:
        if request.method == "GET":
            status = request.args.get("status", "all")
            hooks = [_rest_webhook(h) for h in self.webhooks.values() if status == "all" or h["status"] == status]
            return self._page(request, hooks)
        hook = self._new_webhook(self._body(request))
        if self.ping_on_create:
            self._ping_later(hook)
        return 201, _rest_webhook(hook)

    def _api_webhook(self, request: Request, webhook_id: int) -> Any:
        hook = self.webhooks.get(webhook_id)
        if hook is None:
            raise ApiError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        if request.method == "GET":
            return _rest_webhook(hook)
        if request.method == "DELETE":
            if request.args.get("force") not in ("true", "1"):
                raise ApiError(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
            del self.webhooks[webhook_id]
            self._pending = {k: None for k in self._pending if k[0] != webhook_id}
            self.counters["webhooks_deleted"] += 1
            return _rest_webhook(hook)
        body = self._body(request)
        if "status" in body:
            _one_of(body["status"], "status", WEBHOOK_STATUSES)
            if body["status"] == "active" and hook["status"] != "active":
                # WooCommerce keeps ``failure_count`` (still above the limit after a disable by failures), so
                # the next failed delivery disables the webhook again
                self.counters["webhooks_reenabled"] += 1
                if hook.get("pending_delivery") and self.ping_on_create:
                    self._ping_later(hook)
            hook["status"] = body["status"]
        for name in ("secret", "delivery_url", "name"):
            if name in body:
                hook[name] = str(body[name])
        return _rest_webhook(hook)

    def _ping_later(self, hook: Mapping[str, Any]) -> None:
        """WooCommerce pings while creating; here it goes out on a thread so the lock is not held over HTTP."""
        url, hook_id = str(hook["delivery_url"]), int(hook["id"])
        threading.Thread(target=self.send_ping, args=(url, hook_id), daemon=True).start()

    # --- the key exchange ------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        """``/wc-auth/v1/authorize``: the merchant approves at once; keys are POSTed to ``callback_url``."""
        args = request.args
        for name in ("app_name", "scope", "user_id", "return_url", "callback_url"):
            if not args.get(name):
                return Response(f"Error: Missing parameter {name}", status=400)
        if args["scope"] not in ("read", "write", "read_write"):
            return Response("Error: Invalid scope", status=400)
        callback = args["callback_url"]
        if not callback.startswith("https://") and not self.allow_http_callbacks:
            return Response("Error: The callback_url needs to be over SSL", status=400)
        key, secret = f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}"
        with self.lock:
            key_id = self._next_id()
            self.keys[key] = secret
        payload = {
            "key_id": key_id,
            "user_id": args["user_id"],
            "consumer_key": key,
            "consumer_secret": secret,
            "key_permissions": args["scope"],
        }
        try:
            answer = requests.post(
                callback,
                data=json.dumps(payload),
                headers={"Content-Type": "application/json;charset=UTF-8"},
                timeout=60,
                allow_redirects=False,
            )
            ok = answer.status_code == 200
        except requests.RequestException:
            ok = False
        if not ok:
            with self.lock:
                self.keys.pop(key, None)
                self.counters["keys_rejected"] += 1
            return Response(
                "Error: An error occurred in the request and at the time were unable to send the consumer data",
                status=401,
            )
        with self.lock:
            self.counters["keys_issued"] += 1
        target = args["return_url"]
        joiner = "&" if "?" in target else "?"
        return Response(
            status=302, headers={"Location": f"{target}{joiner}{urlencode({'success': 1, 'user_id': args['user_id']})}"}
        )
