"""A local stand-in for one or more Shopify shops (demo, tests, benchmarks), served on loopback.

``ShopifySandbox`` is a WSGI app. Per shop (``/shops/<domain>/...``) it serves the GraphQL Admin API
(documents validated against the shipped 2026-10 schema and executed with graphql-core against an
in-memory shop), a cost-based leaky bucket with Shopify's THROTTLED shape, seedable fault injection, and
the OAuth authorize / access-token endpoints. Python helpers create and change orders and fulfilments
(REST-shaped JSON, Dutch defaults) and deliver them as signed webhooks, as Shopify does.
"""

from __future__ import annotations

import base64
import copy
import gzip
import itertools
import json
import math
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jwt
import requests
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    build_client_schema,
    execute_sync,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
    value_from_ast_untyped,
)
from graphql.language import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.clock import system_clock
from connector.platforms.shopify.adapter import sign
from connector.platforms.shopify.install import query_hmac
from connector.platforms.shopify.scopes import REQUIRED_SCOPES
from connector.sandbox.shopify_drafts import ROOT_SCOPES as DRAFT_SCOPES
from connector.sandbox.shopify_drafts import DraftOrders
from connector.sandbox.shopify_stock import Stock

SCHEMA_PATH = Path(__file__).with_name("data") / "admin_2026-10.introspection.json.gz"
OUR_TOPICS = frozenset(
    {
        "ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_FULFILLED", "ORDERS_PARTIALLY_FULFILLED",
        "ORDERS_CANCELLED", "ORDERS_EDITED", "ORDERS_DELETE", "FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE",
        "FULFILLMENT_EVENTS_CREATE", "FULFILLMENT_ORDERS_PLACED_ON_HOLD", "FULFILLMENT_ORDERS_HOLD_RELEASED",
        "APP_UNINSTALLED",
    }
)  # fmt: skip
# FulfillmentOrder.supportedActions decides what may be done to a fulfilment order (2026-10 schema,
# FulfillmentOrderAction: "HOLD | Applies a fulfillment hold"). Which statuses allow a hold is not documented
# (unverified): a hold is allowed while the shop has not started or handed over the work; a fulfilment order
# that a fulfilment service (3PL) has accepted (IN_PROGRESS at its location) cannot be held by the shop's apps.
_HOLD_STATUSES = frozenset({"OPEN", "ON_HOLD", "SCHEDULED"})
_OPEN_STATUSES = frozenset({"OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"})
# Shopify's REST shape of a pickup order: no shipping address at all, lines still ``requires_shipping``, a
# shipping line like any other (community.shopify.com "how to differentiate a local pickup vs local delivery");
# only FulfillmentOrder.deliveryMethod.methodType (PICK_UP) tells it apart.
PICKUP_LINE = {"title": "Afhalen in de winkel", "code": "Winkel Utrecht", "price": "0.00", "source": "shopify"}


@lru_cache(maxsize=512)
def _checked(query: str) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """A document parsed and validated against the schema; a client sends the same few documents again and
    again, so each is checked once (a parse error raises, as ``parse`` does)."""
    document = parse(query)
    return document, tuple(validate(admin_schema(), document))


@cache
def admin_schema() -> GraphQLSchema:
    """The Admin API schema (2026-10), built once per process."""
    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as handle:
        schema = build_client_schema(json.load(handle)["data"])
    schema._validation_errors = []  # graphql-core refuses the schema as a whole over deprecation rules
    return schema


@dataclass
class BucketConfig:
    maximum: float = 1000.0
    restore_rate: float = 100.0  # points per second
    mutation_cost: int = 10


@dataclass
class Faults:
    """Rates (0..1) of injected trouble per GraphQL call, drawn from one seeded generator."""

    server_error_rate: float = 0.0  # 502/503, nothing applied
    timeout_rate: float = 0.0  # applied, then the answer comes after ``timeout_seconds`` (clients give up)
    timeout_seconds: float = 2.0
    slow_rate: float = 0.0  # answered correctly after ``slow_seconds``
    slow_seconds: float = 0.2
    garbage_rate: float = 0.0  # 200 with a body that is not JSON, nothing applied
    throttle_rate: float = 0.0  # THROTTLED regardless of the bucket, nothing applied
    seed: int = 0


def _connection(items: list[Any], first: int | None = None, after: str | None = None) -> dict[str, Any]:
    start = int(base64.b64decode(after).decode()) if after else 0
    end = len(items) if first is None else start + first
    page = items[start:end]
    cursors = [base64.b64encode(str(start + i + 1).encode()).decode() for i in range(len(page))]
    return {
        "nodes": page,
        "edges": [{"node": n, "cursor": c} for n, c in zip(page, cursors, strict=True)],
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def _gid(kind: str, value: Any) -> str:
    return f"gid://shopify/{kind}/{value}"


def _tail(gid: Any) -> str:
    return str(gid).rsplit("/", 1)[-1]


def _user_error(message: str, field_path: list[str] | None = None, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field_path, "message": message}
    if code is not None:
        error["code"] = code
    return error


def _utc_iso(text: str | None) -> str | None:
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- access scopes and protected customer data -----------------------------------------------------------
#
# What Shopify refuses, and how it says so. Field-level refusals come as errors beside the data, the field
# null: "Access denied for customer field. Required access: `read_customers` access scope.", code
# ACCESS_DENIED (public apps quote this from live stores; the same shape for ``product`` and
# ``read_products``). Protected customer data (name, e-mail, phone, address) is approved field by field
# (https://shopify.dev/docs/apps/launch/protected-customer-data); unapproved fields read "This app is not
# approved to use the email field.", and without any approval "This app is not approved to access the
# Customer object." A write scope grants its read scope ("Any scope that writes a resource also grants read
# access to it": https://shopify.dev/docs/api/usage/access-scopes). Per-field denial of the address parts is
# unverified: here the whole ``shippingAddress`` is denied when addresses are not approved.
PROTECTED_DOC = "https://shopify.dev/docs/apps/launch/protected-customer-data"
PROTECTED_FIELDS = frozenset({"name", "email", "phone", "address"})
_FO_READ = (
    "read_merchant_managed_fulfillment_orders",
    "read_assigned_fulfillment_orders",
    "read_third_party_fulfillment_orders",
    "read_marketplace_fulfillment_orders",
)
_FO_WRITE = ("write_merchant_managed_fulfillment_orders", "write_third_party_fulfillment_orders")
# Root fields and the scopes (any one) Shopify asks for them (shared/platforms/shopify.md: orderUpdate and, in
# practice, tagsAdd on orders need write_orders; discounts write_discounts; fulfilment-order holds the
# fulfilment-order write scopes; Order reads read_orders).
ROOT_SCOPES: dict[str, tuple[str, ...]] = {
    "order": ("read_orders",),
    "orders": ("read_orders",),
    "fulfillmentOrder": _FO_READ,
    "codeDiscountNodeByCode": ("read_discounts",),
    "tagsAdd": ("write_orders",),
    "orderUpdate": ("write_orders",),
    "discountCodeBasicCreate": ("write_discounts",),
    "fulfillmentOrderHold": _FO_WRITE,
    "fulfillmentOrderReleaseHold": _FO_WRITE,
    # shopify.dev .../queries/fulfillment and .../mutations/fulfillmentEventCreate ("Requires write_fulfillments")
    "fulfillment": ("read_fulfillments",),
    "fulfillmentEventCreate": ("write_fulfillments",),
    # shopify.dev .../mutations/orderEditBegin (and the other orderEdit* mutations): "Requires write_order_edits"
    "orderEditBegin": ("write_order_edits",),
    "orderEditSetQuantity": ("write_order_edits",),
    "orderEditAddVariant": ("write_order_edits",),
    "orderEditCommit": ("write_order_edits",),
    **DRAFT_SCOPES,  # draftOrderCreate / draftOrderComplete: "Requires write_draft_orders" (shopify_drafts)
}
# "This app is not approved to subscribe to webhook topics containing protected customer data." is quoted
# verbatim by public apps for ORDERS_* and FULFILLMENTS_UPDATE (as a userError of webhookSubscriptionCreate;
# whether it can come as a top-level error is unverified). Other topics' classification is unverified.
PROTECTED_TOPIC_PREFIXES = ("ORDERS_", "FULFILLMENTS_")
NOT_APPROVED_TOPICS = (
    "This app is not approved to subscribe to webhook topics containing protected customer data. "
    f"See {PROTECTED_DOC} for more details."
)
NOTE_LIMIT = 5000  # Order.note: "The maximum length is 5000 characters" (2026-10 schema)


def covers(granted: set[str] | frozenset[str], needs: tuple[str, ...]) -> bool:
    have = set(granted) | {"read_" + g.removeprefix("write_") for g in granted if g.startswith("write_")}
    return any(n in have for n in needs)


def scope_denied(field_name: str, scope: str) -> GraphQLError:
    return GraphQLError(
        f"Access denied for {field_name} field. Required access: `{scope}` access scope.",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": f"`{scope}` access scope.",
        },
    )


def protected_denied(field_name: str | None = None, object_name: str | None = None) -> GraphQLError:
    what = f"use the {field_name} field" if field_name else f"access the {object_name} object"
    return GraphQLError(
        f"This app is not approved to {what}. See {PROTECTED_DOC} for more details.",
        extensions={"code": "ACCESS_DENIED", "documentation": PROTECTED_DOC},
    )


def _raises(error: GraphQLError) -> Callable[..., Any]:
    def resolve(*_: Any, **__: Any) -> Any:
        raise error

    return resolve


@cache
def topic_scopes() -> dict[str, tuple[str, ...]]:
    """WebhookSubscriptionTopic -> the scopes (any one) its schema description requires ("Requires at least
    one of the following scopes: read_fulfillments, read_marketplace_orders." / "Requires the `x` scope.")."""
    enum = admin_schema().get_type("WebhookSubscriptionTopic")
    found: dict[str, tuple[str, ...]] = {}
    for name, value in getattr(enum, "values", {}).items():
        text = " ".join(str(value.description or "").split())
        match = re.search(r"Requires at least one of the following scopes: ([a-z_, ]+)", text) or re.search(
            r"Requires the `([a-z_]+)` scope", text
        )
        if match:
            found[name] = tuple(p.strip() for p in match.group(1).split(",") if p.strip())
    return found


class SandboxShop:
    """One shop's in-memory state: orders (REST-shaped), fulfilment orders, discounts, subscriptions."""

    def __init__(self, sandbox: ShopifySandbox, domain: str, secret: str, access_token: str, timezone: str) -> None:
        self.sandbox = sandbox
        self.domain = domain
        self.secret = secret
        self.timezone = ZoneInfo(timezone)
        self.tokens: dict[str, datetime | None] = {access_token: None}
        self.refresh_tokens: set[str] = set()  # live refresh tokens; ``refresh_log`` says how each came about
        self.refresh_log: dict[str, _Refresh] = {}
        self.access_token = access_token
        self.orders: dict[str, dict[str, Any]] = {}
        # FO id -> {id, order_id, status, holds, delivery_method, third_party, supported}
        self.fulfillment_orders: dict[str, dict[str, Any]] = {}
        # "An API client will only receive a subset of the fulfillment orders ... if they don't have the necessary
        # access scopes" (2026-10 schema, FulfillmentOrder): fulfilment orders at a fulfilment service's (3PL)
        # location are left out, without an error, unless the app has the third-party fulfilment-order scopes
        self.third_party_access = False
        # Shopify sends the hold topics after the mutation's answer; they wait here until ``deliver_webhooks``
        self.queued_webhooks: list[tuple[str, dict[str, Any]]] = []
        self.discounts: dict[str, dict[str, Any]] = {}  # code -> discount
        # fulfilment id -> its events (GraphQL-shaped, plus ``app``: who wrote it; GraphQL does not show that)
        self.fulfillment_events: dict[str, list[dict[str, Any]]] = {}
        self.subscriptions: list[dict[str, Any]] = []
        self.counters: Counter[str] = Counter()
        # (operation type, root fields) of every Admin API document, for "nothing written"
        self.operations: list[tuple[str, tuple[str, ...]]] = []
        self.available = sandbox.bucket.maximum
        self.bucket_at: float | None = None
        self.deliveries: list[tuple[str, int]] = []  # (topic, HTTP status) of webhooks sent
        # what the merchant granted: by default every scope ordercare requests
        self.granted: set[str] = set(REQUIRED_SCOPES)
        # approved protected customer data: None = none at all (level 1 not approved), else the level-2 fields
        self.protected: frozenset[str] | None = PROTECTED_FIELDS
        # 402 (frozen: unpaid bill), 423 (locked) or 404 (closed) on every API call (shopify.dev response codes)
        self.unavailable: int | None = None
        # GraphQL field name -> X-Shopify-API-Deprecated-Reason sent when a document selects it
        self.deprecated: dict[str, str] = {}
        # variants, inventory per location, order edit sessions (shopify_stock)
        self.stock = Stock(self, connection=_connection, denied=lambda name, scope: _raises(scope_denied(name, scope)))
        self.drafts = DraftOrders(self)  # draft orders: replacements at no cost (shopify_drafts)

    # --- time and ids ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The shop's API base URL (``api_base_url`` in the config) once the sandbox is served."""
        if self.sandbox.url is None:
            raise RuntimeError("serve the sandbox first (BackgroundServer) and set sandbox.url")
        return f"{self.sandbox.url}/shops/{self.domain}"

    def now_text(self) -> str:
        return self.sandbox.clock().astimezone(self.timezone).isoformat(timespec="seconds")

    def _touch(self, order: dict[str, Any]) -> None:
        order["updated_at"] = self.now_text()

    # --- helpers for tests and the demo -------------------------------------------------------------

    def create_order(self, *, delivery_method: str = "SHIPPING", **overrides: Any) -> dict[str, Any]:
        """A new order (Dutch defaults, ids above 2^53) with one fulfilment order; keyword arguments replace
        top-level fields. ``delivery_method="PICK_UP"`` makes a local-pickup order as Shopify has it: no shipping
        address, a pickup shipping line, the lines still ``requires_shipping``."""
        if delivery_method == "PICK_UP":
            overrides.setdefault("shipping_address", None)
            overrides.setdefault("shipping_lines", [dict(PICKUP_LINE, id=self.sandbox.next_id(), is_removed=False)])
        oid = self.sandbox.next_id()
        now = self.now_text()
        number = 1000 + len(self.orders) + 1
        order: dict[str, Any] = {
            "admin_graphql_api_id": _gid("Order", oid),
            "id": oid,
            "name": f"#{number}",
            "order_number": number,
            "email": "sanne.devries@example.nl",
            "contact_email": "sanne.devries@example.nl",
            "phone": "+31612345678",
            "created_at": now,
            "updated_at": now,
            "processed_at": now,
            "cancelled_at": None,
            "closed_at": None,
            "financial_status": "paid",
            "fulfillment_status": None,
            "tags": "",
            "note": None,
            "note_attributes": [],
            "test": False,
            "source_name": "web",
            "currency": "EUR",
            "total_price": "64.95",
            "customer_locale": "nl",
            "buyer_accepts_marketing": False,
            "customer": {
                "admin_graphql_api_id": _gid("Customer", 7300000000000000123),
                "id": 7300000000000000123,
                "email": "sanne.devries@example.nl",
                "first_name": "Sanne",
                "last_name": "de Vries",
                "phone": "+31612345678",
            },
            "shipping_address": {
                "first_name": "Sanne",
                "last_name": "de Vries",
                "name": "Sanne de Vries",
                "company": None,
                "address1": "Hoofdstraat 12a",
                "address2": None,
                "city": "Utrecht",
                "province": "Utrecht",
                "province_code": "UT",
                "zip": "3511 AB",
                "country": "Netherlands",
                "country_code": "NL",
                "phone": "+31612345678",
            },
            "shipping_lines": [
                {"id": self.sandbox.next_id(), "title": "Morgen in huis (PostNL)", "code": "postnl-next-day",
                 "price": "4.95", "source": "shopify", "is_removed": False}
            ],
            "line_items": [
                {"admin_graphql_api_id": _gid("LineItem", lid), "id": lid, "name": "Fietsbel messing",
                 "title": "Fietsbel messing", "quantity": 2, "current_quantity": 2, "price": "12.50",
                 "sku": "BEL-MS", "product_id": 8800000000000000001, "requires_shipping": True}
                for lid in (self.sandbox.next_id(),)
            ],
            "fulfillments": [],
        }  # fmt: skip
        for key, value in overrides.items():
            order[key] = value
        if order["id"] != oid:  # an explicit id keeps the GID in step
            order["admin_graphql_api_id"] = _gid("Order", order["id"])
        with self.sandbox.lock:
            self.orders[str(order["id"])] = order
            self._new_fulfillment_order(str(order["id"]), delivery_method=delivery_method)
        return copy.deepcopy(order)

    def _new_fulfillment_order(
        self, order_id: str, *, delivery_method: str = "SHIPPING", third_party: bool = False, status: str = "OPEN"
    ) -> str:
        fo_id = str(self.sandbox.next_id())
        self.fulfillment_orders[fo_id] = {
            "id": fo_id, "order_id": order_id, "status": status, "holds": [], "delivery_method": delivery_method,
            "third_party": third_party, "supported": None,
        }  # fmt: skip
        return fo_id

    def add_fulfillment_order(
        self, order_id: Any, *, third_party: bool = False, status: str = "OPEN", delivery_method: str = "SHIPPING"
    ) -> str:
        """Another fulfilment order of the order ("There can be more than one fulfillment order for an order at a
        given location": schema), e.g. at a fulfilment service's location (``third_party``); returns its id."""
        with self.sandbox.lock:
            return self._new_fulfillment_order(
                str(order_id), delivery_method=delivery_method, third_party=third_party, status=status
            )

    def fulfillment_orders_of(self, order_id: Any) -> list[dict[str, Any]]:
        """Every fulfilment order of the order, visible to the app or not (for tests)."""
        with self.sandbox.lock:
            return [copy.deepcopy(fo) for fo in self.fulfillment_orders.values() if fo["order_id"] == str(order_id)]

    def set_fulfillment_order(self, fo_id: Any, **changes: Any) -> None:
        """Change a fulfilment order (``status``, ``supported``: the supportedActions list to report)."""
        with self.sandbox.lock:
            self.fulfillment_orders[str(fo_id)].update(changes)

    def _visible(self, fo: Mapping[str, Any]) -> bool:
        return not fo.get("third_party") or self.third_party_access

    def _supported(self, fo: Mapping[str, Any]) -> list[str]:
        if fo.get("supported") is not None:
            return list(fo["supported"])
        actions: list[str] = []
        if fo["status"] in _HOLD_STATUSES or (fo["status"] == "IN_PROGRESS" and not fo.get("third_party")):
            actions.append("HOLD")
        if fo["holds"]:
            actions.append("RELEASE_HOLD")
        if fo["status"] in _OPEN_STATUSES and not fo["holds"]:
            actions.append("CREATE_FULFILLMENT")
        return actions

    def merchant_hold(self, order_id: Any, *, handle: str | None = None, reason: str = "OTHER") -> str:
        """A hold placed in the admin or by another app (``heldByRequestingApp: false``) on the order's first
        open fulfilment order; returns the hold's id."""
        with self.sandbox.lock:
            fo = next(
                f for f in self.fulfillment_orders.values()
                if f["order_id"] == str(order_id) and f["status"] in _OPEN_STATUSES
            )  # fmt: skip
            hold = self._add_hold(fo, handle or "", reason, None, by_us=False)
            return str(hold["id"])

    def release_all_holds(self, order_id: Any) -> None:
        """The merchant releases every hold on the order (in the admin)."""
        with self.sandbox.lock:
            for fo in self.fulfillment_orders.values():
                if fo["order_id"] == str(order_id) and fo["holds"]:
                    self._remove_holds(fo, {h["id"] for h in fo["holds"]})

    def _add_hold(
        self, fo: dict[str, Any], handle: str, reason: str, notes: str | None, *, by_us: bool
    ) -> dict[str, Any]:
        hold = {
            "id": _gid("FulfillmentHold", self.sandbox.next_id()),
            "handle": handle,
            "reason": reason,
            "reasonNotes": notes,
            "heldByRequestingApp": by_us,
            "displayReason": str(reason).replace("_", " ").capitalize(),
        }
        first = not fo["holds"]
        fo["holds"].append(hold)
        fo["status"] = "ON_HOLD"
        self._touch(self.orders[fo["order_id"]])
        # "placed_on_hold ... fires only once when the first hold is applied" (2026-10 schema,
        # WebhookSubscriptionTopic.FULFILLMENT_ORDERS_PLACED_ON_HOLD); the body names the fulfilment order and
        # its holds, never the order (Shopify's sample body, shared/fixtures/.../fulfillment_orders_placed_on_hold)
        if first and self._visible(fo):
            self.queued_webhooks.append(("fulfillment_orders/placed_on_hold", self._placed_on_hold_body(fo, hold)))
        return hold

    def _remove_holds(self, fo: dict[str, Any], ids: set[str]) -> None:
        fo["holds"] = [h for h in fo["holds"] if h["id"] not in ids]
        if not fo["holds"] and fo["status"] == "ON_HOLD":
            fo["status"] = "OPEN"
            # "hold_released ... once when the last hold is released" (schema); the body is only
            # ``{fulfillment_order: {id, status}}`` (Shopify's sample body)
            if self._visible(fo):
                body = {"fulfillment_order": {"id": _gid("FulfillmentOrder", fo["id"]), "status": "open"}}
                self.queued_webhooks.append(("fulfillment_orders/hold_released", body))
        self._touch(self.orders[fo["order_id"]])

    @staticmethod
    def _rest_hold(hold: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "handle": hold["handle"] or None, "held_by_app": {"id": "gid://shopify/App/1"},
            "held_by_requesting_app": hold["heldByRequestingApp"], "id": hold["id"],
            "reason": str(hold["reason"]).lower(), "reason_notes": hold.get("reasonNotes"),
        }  # fmt: skip

    def _placed_on_hold_body(self, fo: Mapping[str, Any], hold: Mapping[str, Any]) -> dict[str, Any]:
        order = self.orders[fo["order_id"]]
        return {
            "created_fulfillment_hold": self._rest_hold(hold),
            "fulfillment_order": {
                "fulfillment_holds": [self._rest_hold(h) for h in fo["holds"]],
                "id": _gid("FulfillmentOrder", fo["id"]),
                "status": "on_hold",
            },
            "held_fulfillment_order_line_items": [
                {"id": _gid("FulfillmentOrderLineItem", li["id"]), "quantity": li.get("quantity", 1)}
                for li in order.get("line_items") or []
            ],
            "remaining_fulfillment_order": None,
        }

    def deliver_webhooks(self) -> list[requests.Response]:
        """Send the queued hold webhooks to the subscriptions for their topics, oldest first."""
        with self.sandbox.lock:
            queued, self.queued_webhooks = self.queued_webhooks, []
        return [response for topic, body in queued for response in self.emit(topic, body)]

    def order(self, order_id: Any) -> dict[str, Any]:
        with self.sandbox.lock:
            return copy.deepcopy(self.orders[str(order_id)])

    def update_order(self, order_id: Any, **changes: Any) -> dict[str, Any]:
        with self.sandbox.lock:
            order = self.orders[str(order_id)]
            order.update(changes)
            self._touch(order)
            return copy.deepcopy(order)

    def holds(self, order_id: Any) -> list[dict[str, Any]]:
        with self.sandbox.lock:
            return [
                copy.deepcopy(h)
                for fo in self.fulfillment_orders.values()
                if fo["order_id"] == str(order_id)
                for h in fo["holds"]
            ]

    def fulfil(
        self,
        order_id: Any,
        *,
        tracking_company: str = "PostNL",
        tracking_number: str | None = None,
        shipment_status: str | None = None,
    ) -> dict[str, Any]:
        """Ship the whole order: a fulfilment with tracking, the order ``fulfilled``, its FO closed."""
        with self.sandbox.lock:
            order = self.orders[str(order_id)]
            fid = self.sandbox.next_id()
            number = tracking_number or f"3S{secrets.token_hex(6).upper()}"
            now = self.now_text()
            fulfilment = {
                "admin_graphql_api_id": _gid("Fulfillment", fid),
                "id": fid,
                "order_id": order["id"],
                "name": f"{order['name']}.{len(order['fulfillments']) + 1}",
                "status": "success",
                "shipment_status": shipment_status,
                "created_at": now,
                "updated_at": now,
                "tracking_company": tracking_company,
                "tracking_number": number,
                "tracking_numbers": [number],
                "tracking_url": f"https://jouw.postnl.nl/track-and-trace/{number}",
                "tracking_urls": [f"https://jouw.postnl.nl/track-and-trace/{number}"],
                "line_items": copy.deepcopy(order["line_items"]),
                "destination": copy.deepcopy(order.get("shipping_address")),
            }
            order["fulfillments"].append(fulfilment)
            order["fulfillment_status"] = "fulfilled"
            self._touch(order)
            for fo in self.fulfillment_orders.values():
                if fo["order_id"] == str(order_id):
                    fo["status"] = "CLOSED"
            return copy.deepcopy(fulfilment)

    def _fulfilment(self, fulfillment_id: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        for order in self.orders.values():
            for item in order["fulfillments"]:
                if str(item["id"]) == str(fulfillment_id):
                    return order, item
        raise KeyError(f"fulfilment {fulfillment_id} not in {self.domain}")

    def update_fulfillment(self, fulfillment_id: Any, **changes: Any) -> dict[str, Any]:
        with self.sandbox.lock:
            order, item = self._fulfilment(fulfillment_id)
            item.update(changes)
            item["updated_at"] = self.now_text()
            self._touch(order)
            return copy.deepcopy(item)

    def add_fulfillment_event(
        self,
        fulfillment_id: Any,
        status: str,
        *,
        message: str | None = None,
        estimated_delivery_at: datetime | None = None,
        city: str | None = None,
        app: str = "carrier app",
    ) -> dict[str, Any]:
        """A carrier scan (``in_transit``, ``delayed``, ``delivered``...): the body of ``fulfillment_events/create``.
        The event stays on the fulfilment as written by ``app`` (another app than ordercare)."""
        with self.sandbox.lock:
            order, item = self._fulfilment(fulfillment_id)
            eid = self.sandbox.next_id()
            now = self.now_text()
            item["shipment_status"] = status
            item["updated_at"] = now
            self._record_event(item, eid, status.upper(), now, message, estimated_delivery_at, city, app=app)
            return {
                "admin_graphql_api_id": _gid("FulfillmentEvent", eid),
                "id": eid,
                "fulfillment_id": item["id"],
                "order_id": order["id"],
                "status": status,
                "message": message,
                "happened_at": now,
                "created_at": now,
                "updated_at": now,
                "estimated_delivery_at": estimated_delivery_at.astimezone(self.timezone).isoformat(timespec="seconds")
                if estimated_delivery_at
                else None,
                "city": city,
                "province": None,
                "country": "NL",
                "zip": None,
                "address1": None,
                "latitude": None,
                "longitude": None,
            }

    def _record_event(
        self,
        item: dict[str, Any],
        eid: int,
        status: str,
        happened: str,
        message: str | None,
        eta: datetime | str | None,
        city: str | None,
        *,
        app: str,
        country: str | None = "NL",
    ) -> dict[str, Any]:
        """Keep one event on its fulfilment (the caller holds the lock)."""
        if isinstance(eta, datetime):
            eta = eta.astimezone(self.timezone).isoformat(timespec="seconds")
        event = {
            "__typename": "FulfillmentEvent",
            "id": _gid("FulfillmentEvent", eid),
            "status": status,
            "happenedAt": _utc_iso(happened),
            "createdAt": _utc_iso(self.now_text()),
            "message": message,
            "estimatedDeliveryAt": _utc_iso(eta) if eta else None,
            "city": city,
            "country": country,
            "app": app,
        }
        self.fulfillment_events.setdefault(str(item["id"]), []).append(event)
        return event

    def events_of(self, fulfillment_id: Any) -> list[dict[str, Any]]:
        """The events on one fulfilment, oldest first, each with the ``app`` that wrote it."""
        with self.sandbox.lock:
            found = [copy.deepcopy(e) for e in self.fulfillment_events.get(str(fulfillment_id), [])]
        return sorted(found, key=lambda e: (e["happenedAt"], e["id"]))

    # --- webhooks ---------------------------------------------------------------------------------------

    def signed(
        self, topic: str, body: Mapping[str, Any] | bytes, *, webhook_id: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and raw body of a delivery, signed with the shop's secret as Shopify signs them."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(raw, self.secret),
            "X-Shopify-Shop-Domain": self.domain,
            "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Webhook-Id": webhook_id
            or f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}",
            "X-Shopify-Event-Id": secrets.token_hex(8),
            "X-Shopify-Triggered-At": self.sandbox.clock().astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        return headers, raw

    def send(
        self, topic: str, body: Mapping[str, Any] | bytes, url: str, *, webhook_id: str | None = None
    ) -> requests.Response:
        """POST one signed delivery to ``url`` (our ``/webhooks/shopify``)."""
        headers, raw = self.signed(topic, body, webhook_id=webhook_id)
        response = requests.post(url, data=raw, headers=headers, timeout=(1.0, 5.0))
        self.deliveries.append((topic, response.status_code))
        return response

    def emit(self, topic: str, body: Mapping[str, Any]) -> list[requests.Response]:
        """Deliver to every subscription for ``topic`` (as registered through ``webhookSubscriptionCreate``)."""
        enum_name = topic.upper().replace("/", "_")
        with self.sandbox.lock:
            urls = [s["uri"] for s in self.subscriptions if s["topic"] == enum_name]
        return [self.send(topic, body, url) for url in urls]

    # --- GraphQL views --------------------------------------------------------------------------------

    def _order_by_gid(self, gid: Any) -> dict[str, Any] | None:
        return self.orders.get(_tail(gid))

    def _fo_view(self, fo: dict[str, Any]) -> dict[str, Any]:
        return {
            "__typename": "FulfillmentOrder",
            "id": _gid("FulfillmentOrder", fo["id"]),
            "orderId": _gid("Order", fo["order_id"]),
            "status": fo["status"],
            "deliveryMethod": {
                "id": _gid("DeliveryMethod", fo["id"]),
                "methodType": fo.get("delivery_method") or "SHIPPING",
            },
            "supportedActions": [{"action": a, "externalUrl": None} for a in self._supported(fo)],
            "fulfillmentHolds": [dict(h, __typename="FulfillmentHold") for h in fo["holds"]],
            "order": lambda info, **_: self._order_view(self.orders[fo["order_id"]]),
            **self.stock.fo_lines(fo),
        }

    def _money(self, amount: Any, currency: str) -> dict[str, Any]:
        money = {"amount": str(amount), "currencyCode": currency}
        return {"shopMoney": money, "presentmentMoney": money}

    def _address_view(self, address: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not address:
            return None
        return {
            "firstName": address.get("first_name"),
            "lastName": address.get("last_name"),
            "company": address.get("company"),
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "zip": address.get("zip"),
            "city": address.get("city"),
            "provinceCode": address.get("province_code"),
            "countryCodeV2": address.get("country_code"),
            "countryCode": address.get("country_code"),
            "phone": address.get("phone"),
        }

    def _order_view(self, order: dict[str, Any]) -> dict[str, Any]:
        currency = order.get("currency") or "EUR"
        fos = [fo for fo in self.fulfillment_orders.values() if fo["order_id"] == str(order["id"])]
        on_hold = any(fo["status"] == "ON_HOLD" for fo in fos)
        fos = [fo for fo in fos if self._visible(fo)]
        fulfilment = {None: "UNFULFILLED", "fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
            order.get("fulfillment_status"), "UNFULFILLED"
        )
        if on_hold and fulfilment == "UNFULFILLED":
            fulfilment = "ON_HOLD"
        customer = order.get("customer") or None
        shipping = next((s for s in order.get("shipping_lines") or [] if not s.get("is_removed")), None)
        lines = [
            {
                "id": li.get("admin_graphql_api_id") or _gid("LineItem", li["id"]),
                "name": li.get("name"),
                "title": li.get("title"),
                "quantity": li.get("quantity", 1),
                "currentQuantity": li.get("current_quantity", li.get("quantity", 1)),
                "sku": li.get("sku"),
                "requiresShipping": li.get("requires_shipping", True),
                "originalUnitPriceSet": self._money(li.get("price", "0.00"), currency),
                "product": self._product_view(li),
                "variant": self.stock.guarded_variant(li.get("variant_id")),
            }
            for li in order.get("line_items") or []
        ]
        fulfilments = [
            {
                "id": f.get("admin_graphql_api_id") or _gid("Fulfillment", f["id"]),
                "status": str(f.get("status") or "success").upper(),
                "displayStatus": str(f["shipment_status"]).upper() if f.get("shipment_status") else "FULFILLED",
                "createdAt": _utc_iso(f.get("created_at")),
                "updatedAt": _utc_iso(f.get("updated_at")),
                "estimatedDeliveryAt": None,
                "deliveredAt": _utc_iso(f.get("updated_at")) if f.get("shipment_status") == "delivered" else None,
                "trackingInfo": [
                    {
                        "company": f.get("tracking_company"),
                        "number": f.get("tracking_number"),
                        "url": f.get("tracking_url"),
                    }
                ],
            }
            for f in order.get("fulfillments") or []
        ]
        return self._guard_order(
            {
                "__typename": "Order",
                "id": _gid("Order", order["id"]),
                "legacyResourceId": str(order["id"]),
                "name": order.get("name"),
                "createdAt": _utc_iso(order.get("created_at")),
                "updatedAt": _utc_iso(order.get("updated_at")),
                "processedAt": _utc_iso(order.get("processed_at") or order.get("created_at")),
                "cancelledAt": _utc_iso(order.get("cancelled_at")),
                "displayFinancialStatus": str(order.get("financial_status") or "pending").upper(),
                "displayFulfillmentStatus": fulfilment,
                "tags": [t.strip() for t in str(order.get("tags") or "").split(",") if t.strip()],
                "note": order.get("note"),
                "email": order.get("email"),
                "phone": order.get("phone"),
                "sourceName": order.get("source_name"),
                "test": bool(order.get("test")),
                "customerLocale": order.get("customer_locale"),
                "currencyCode": currency,
                "totalPriceSet": self._money(order.get("total_price", "0.00"), currency),
                "customAttributes": [
                    {"key": a["name"], "value": a.get("value")} for a in order.get("note_attributes") or []
                ],
                "customer": None
                if customer is None
                else {
                    "id": customer.get("admin_graphql_api_id") or _gid("Customer", customer["id"]),
                    "firstName": customer.get("first_name"),
                    "lastName": customer.get("last_name"),
                    "email": customer.get("email"),
                    "phone": customer.get("phone"),
                    "emailMarketingConsent": self._consent_view(customer.get("email_marketing_consent")),
                },
                "customerAcceptsMarketing": bool(order.get("buyer_accepts_marketing")),
                "shippingAddress": self._address_view(order.get("shipping_address")),
                "shippingLine": None
                if shipping is None
                else {"title": shipping.get("title"), "code": shipping.get("code")},
                "lineItems": lambda info, first=None, after=None, **_: _connection(lines, first, after),
                "fulfillments": lambda info, first=None, **_: fulfilments[:first] if first else fulfilments,
                "fulfillmentOrders": lambda info, first=None, after=None, **_: _connection(
                    [self._fo_view(fo) for fo in fos], first, after
                ),
            }
        )

    def _product_view(self, line: Mapping[str, Any]) -> Any:
        if not covers(self.granted, ("read_products",)):
            return _raises(scope_denied("product", "read_products"))
        product = line.get("product_id")
        return None if product in (None, "") else {"__typename": "Product", "id": _gid("Product", product)}

    @staticmethod
    def _consent_view(consent: Any) -> dict[str, Any] | None:
        """REST ``email_marketing_consent`` {state, opt_in_level, consent_updated_at} as GraphQL has it."""
        if not isinstance(consent, Mapping) or not consent.get("state"):
            return None
        return {
            "marketingState": str(consent["state"]).upper(),
            "marketingOptInLevel": str(consent["opt_in_level"]).upper() if consent.get("opt_in_level") else None,
            "consentUpdatedAt": _utc_iso(consent.get("consent_updated_at")),
        }

    def _guard_order(self, view: dict[str, Any]) -> dict[str, Any]:
        """The order as this app may see it: fields its scopes or protected-data approval do not cover are
        replaced by resolvers that raise Shopify's ACCESS_DENIED errors (the field null, the rest answered)."""
        allowed = self.protected or frozenset()
        customer = view.get("customer")
        if not covers(self.granted, ("read_customers",)):
            view["customer"] = _raises(scope_denied("customer", "read_customers"))
        elif self.protected is None and customer is not None:
            view["customer"] = _raises(protected_denied(object_name="Customer"))
        elif isinstance(customer, dict):
            for key, needs in (("firstName", "name"), ("lastName", "name"), ("email", "email"), ("phone", "phone")):
                if needs not in allowed:
                    customer[key] = _raises(protected_denied(key))
        for key, needs in (("email", "email"), ("phone", "phone")):
            if needs not in allowed:
                view[key] = _raises(protected_denied(key))
        address = view.get("shippingAddress")
        if "address" not in allowed:
            view["shippingAddress"] = _raises(protected_denied("shippingAddress"))
        elif isinstance(address, dict):
            for key, needs in (("firstName", "name"), ("lastName", "name"), ("phone", "phone")):
                if needs not in allowed:
                    address[key] = _raises(protected_denied(key))
        if not covers(self.granted, _FO_READ):
            view["fulfillmentOrders"] = _raises(scope_denied("fulfillmentOrders", _FO_READ[0]))
        return view

    def _with_access(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Root fields the granted scopes do not cover raise Shopify's ACCESS_DENIED (the root field null)."""
        for name, needs in ROOT_SCOPES.items():
            if name in fields and not covers(self.granted, needs):
                fields[name] = _raises(scope_denied(name, needs[0]))
        fields["currentAppInstallation"] = {
            "__typename": "AppInstallation",
            "id": _gid("AppInstallation", abs(hash(self.domain)) % 10**12),
            "accessScopes": [{"handle": h, "description": h.replace("_", " ")} for h in sorted(self.granted)],
        }
        return fields

    # --- GraphQL root fields ----------------------------------------------------------------------------

    def root(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "order": lambda info, id: None if (o := self._order_by_gid(id)) is None else self._order_view(o),
            "orders": self._orders,
            "fulfillmentOrder": lambda info, id: (
                None
                if (fo := self.fulfillment_orders.get(_tail(id))) is None or not self._visible(fo)
                else self._fo_view(fo)
            ),
            "nodes": lambda info, ids: [
                None if (o := self._order_by_gid(i)) is None or "/Order/" not in str(i) else self._order_view(o)
                for i in ids
            ],
            "codeDiscountNodeByCode": lambda info, code: self._discount_node(code),
            "webhookSubscriptions": self._subscriptions,
            "tagsAdd": self._tags_add,
            "orderUpdate": self._order_update,
            "discountCodeBasicCreate": self._discount_create,
            "fulfillmentOrderHold": self._hold,
            "fulfillmentOrderReleaseHold": self._release,
            "webhookSubscriptionCreate": self._subscribe,
            "fulfillment": self._fulfillment_view,
            "fulfillmentEventCreate": self._event_create,
            "orderEditBegin": self.stock.begin,
            "orderEditSetQuantity": self.stock.set_quantity,
            "orderEditAddVariant": self.stock.edit_add,
            "orderEditCommit": self.stock.commit,
            **self.drafts.fields(),
        }
        return self._with_access(fields)

    def _orders(
        self,
        info: Any,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
        sortKey: str | None = None,
        reverse: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        items = list(self.orders.values())
        match = re.search(r"updated_at:(>=|>)'?([^' ]+)'?", query or "")
        if match:
            bound = datetime.fromisoformat(match.group(2).replace("Z", "+00:00"))
            strict = match.group(1) == ">"
            items = [
                o for o in items
                if (t := datetime.fromisoformat(o["updated_at"])) > bound or (not strict and t == bound)
            ]  # fmt: skip
        key = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at"}.get(sortKey or "", "processed_at")
        items.sort(key=lambda o: (datetime.fromisoformat(o.get(key) or o["created_at"]), int(o["id"])), reverse=reverse)
        return _connection([self._order_view(o) for o in items], first, after)

    def _discount_node(self, code: str) -> dict[str, Any] | None:
        discount = self.discounts.get(code.upper())
        if discount is None:
            return None
        return {
            "__typename": "DiscountCodeNode",
            "id": discount["id"],
            "codeDiscount": {
                "__typename": "DiscountCodeBasic",
                "title": discount["title"],
                "status": "ACTIVE",
                "startsAt": discount["startsAt"],
                "endsAt": discount.get("endsAt"),
                "usageLimit": discount.get("usageLimit"),
                "appliesOncePerCustomer": discount.get("appliesOncePerCustomer", False),
            },
        }

    def _subscriptions(self, info: Any, first: int | None = None, after: str | None = None, **_: Any) -> dict[str, Any]:
        nodes = [
            {
                "id": s["id"],
                "topic": s["topic"],
                "uri": s["uri"],
                "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": s["uri"]},
            }
            for s in self.subscriptions
        ]
        return _connection(nodes, first, after)

    def _tags_add(self, info: Any, id: str, tags: list[str] | str) -> dict[str, Any]:
        order = self._order_by_gid(id)
        if order is None:
            return {"node": None, "userErrors": [_user_error("Order does not exist", ["id"])]}
        items = tags.split(",") if isinstance(tags, str) else tags
        current = [t.strip() for t in str(order.get("tags") or "").split(",") if t.strip()]
        added = [t.strip() for t in items if t.strip() and t.strip() not in current]
        if added:
            order["tags"] = ", ".join(current + added)
            self._touch(order)
        self.counters["tags_added"] += len(added)
        self.counters["tagsAdd"] += 1
        return {"node": {"__typename": "Order", "id": _gid("Order", order["id"])}, "userErrors": []}

    def _order_update(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        order = self._order_by_gid(input.get("id"))
        if order is None:
            return {"order": None, "userErrors": [_user_error("Order does not exist", ["id"])]}
        if len(str(input.get("note") or "")) > NOTE_LIMIT:
            # Rails' length message; Shopify's exact words for the note are unverified
            message = f"Note is too long (maximum is {NOTE_LIMIT} characters)"
            return {"order": None, "userErrors": [_user_error(message, ["note"])]}
        if "note" in input:
            order["note"] = input["note"]
            self.counters["notes_written"] += 1
        if "customAttributes" in input:
            order["note_attributes"] = [
                {"name": a["key"], "value": a["value"]} for a in input["customAttributes"] or []
            ]
            self.counters["attributes_set"] += 1
        if "tags" in input:
            tags = input["tags"] or []
            order["tags"] = ", ".join(tags if isinstance(tags, list) else [tags])
        if "shippingAddress" in input:
            address = input["shippingAddress"] or {}
            if not address.get("countryCode"):
                return {
                    "order": None,
                    "userErrors": [_user_error("Country can't be blank", ["shippingAddress", "countryCode"])],
                }
            order["shipping_address"] = {
                "first_name": address.get("firstName"),
                "last_name": address.get("lastName"),
                "company": address.get("company"),
                "address1": address.get("address1"),
                "address2": address.get("address2"),
                "zip": address.get("zip"),
                "city": address.get("city"),
                "province_code": address.get("provinceCode"),
                "country_code": address.get("countryCode"),
                "phone": address.get("phone"),
            }
            self.counters["addresses_updated"] += 1
        for key, rest in (("email", "email"), ("phone", "phone")):
            if key in input:
                order[rest] = input[key]
        self._touch(order)
        return {"order": self._order_view(order), "userErrors": []}

    def _discount_create(self, info: Any, basicCodeDiscount: dict[str, Any]) -> dict[str, Any]:
        data = basicCodeDiscount
        errors = []
        for key in ("code", "title", "startsAt", "customerGets"):
            if not data.get(key):
                errors.append(_user_error(f"{key} can't be blank", ["basicCodeDiscount", key], "BLANK"))
        if not data.get("context") and not data.get("customerSelection"):
            errors.append(_user_error("Context can't be blank", ["basicCodeDiscount", "context"], "BLANK"))
        code = str(data.get("code") or "")
        if code and code.upper() in self.discounts:
            errors.append(
                _user_error("Code must be unique. Please try a different code.", ["basicCodeDiscount", "code"], "TAKEN")
            )
        value = ((data.get("customerGets") or {}).get("value")) or {}
        if value.get("percentage") is not None and not 0 <= float(value["percentage"]) <= 1:
            where = ["basicCodeDiscount", "customerGets", "value"]
            errors.append(_user_error("Value must be between 0.0 and 1.0", where, "VALUE_OUTSIDE_RANGE"))
        if errors:
            return {"codeDiscountNode": None, "userErrors": errors}
        node_id = _gid("DiscountCodeNode", self.sandbox.next_id())
        self.discounts[code.upper()] = {"id": node_id, **copy.deepcopy(data)}
        self.counters["discounts_created"] += 1
        return {"codeDiscountNode": {"__typename": "DiscountCodeNode", "id": node_id}, "userErrors": []}

    def _hold(self, info: Any, id: str, fulfillmentHold: dict[str, Any]) -> dict[str, Any]:
        fo = self.fulfillment_orders.get(_tail(id))
        empty = {"fulfillmentHold": None, "fulfillmentOrder": None, "remainingFulfillmentOrder": None}
        if fo is None or not self._visible(fo):
            return {**empty, "userErrors": [_user_error("Fulfillment order does not exist.", ["id"])]}
        if "HOLD" not in self._supported(fo):
            return {**empty, "userErrors": [_user_error("The fulfillment order cannot be put on hold.", ["id"])]}
        handle = fulfillmentHold.get("handle") or ""
        mine = [h for h in fo["holds"] if h["heldByRequestingApp"]]
        # the handle is unique per app and fulfilment order; the limit of 10 holds is per app
        # (FULFILLMENT_ORDER_HOLD_LIMIT_REACHED, FulfillmentOrderHoldUserErrorCode in the schema)
        if any(h["handle"] == handle for h in mine):
            message = "The handle provided for the fulfillment hold is already in use by this app for another hold."
            error = _user_error(message, ["fulfillmentHold", "handle"], "DUPLICATE_FULFILLMENT_HOLD_HANDLE")
            return {**empty, "userErrors": [error]}
        if len(mine) >= 10:
            error = _user_error("Maximum number of holds reached.", ["id"], "FULFILLMENT_ORDER_HOLD_LIMIT_REACHED")
            return {**empty, "userErrors": [error]}
        hold = self._add_hold(fo, handle, fulfillmentHold["reason"], fulfillmentHold.get("reasonNotes"), by_us=True)
        self.counters["holds_placed"] += 1
        return {
            "fulfillmentHold": dict(hold, __typename="FulfillmentHold"),
            "fulfillmentOrder": self._fo_view(fo),
            "remainingFulfillmentOrder": None,
            "userErrors": [],
        }

    def _release(self, info: Any, id: str, holdIds: list[str] | None = None, **_: Any) -> dict[str, Any]:
        fo = self.fulfillment_orders.get(_tail(id))
        if fo is None or not self._visible(fo):
            return {"fulfillmentOrder": None, "userErrors": [_user_error("Fulfillment order does not exist.", ["id"])]}
        present = {h["id"] for h in fo["holds"]}
        wanted = set(holdIds) if holdIds is not None else present
        unknown = wanted - present
        if unknown:
            return {"fulfillmentOrder": None, "userErrors": [_user_error("Invalid hold ids.", ["holdIds"])]}
        self._remove_holds(fo, wanted)
        self.counters["holds_released"] += len(wanted)
        return {"fulfillmentOrder": self._fo_view(fo), "userErrors": []}

    def _subscribe(self, info: Any, topic: str, webhookSubscription: dict[str, Any]) -> dict[str, Any]:
        needs = topic_scopes().get(topic, ())
        if needs and not covers(self.granted, needs):
            # the shape public apps quote for a topic whose scope is missing (a top-level ACCESS_DENIED)
            raise GraphQLError(
                "Access denied for webhookSubscriptionCreate field.", extensions={"code": "ACCESS_DENIED"}
            )
        if self.protected is None and topic.startswith(PROTECTED_TOPIC_PREFIXES):
            return {"webhookSubscription": None, "userErrors": [_user_error(NOT_APPROVED_TOPICS, None)]}
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        if not uri:
            error = _user_error("Address can't be blank", ["webhookSubscription", "uri"])
            return {"webhookSubscription": None, "userErrors": [error]}
        if any(s["topic"] == topic and s["uri"] == uri for s in self.subscriptions):
            message = "Address for this topic has already been taken"
            return {"webhookSubscription": None, "userErrors": [_user_error(message, ["webhookSubscription", "uri"])]}
        sub = {"id": _gid("WebhookSubscription", self.sandbox.next_id()), "topic": topic, "uri": uri}
        self.subscriptions.append(sub)
        self.counters["webhooks_created"] += 1
        return {"webhookSubscription": dict(sub), "userErrors": []}


    def _fulfillment_view(self, info: Any, id: str) -> dict[str, Any] | None:
        try:
            _, item = self._fulfilment(_tail(id))
        except KeyError:
            return None

        def events(
            info: Any, first: int | None = None, after: str | None = None, reverse: bool = False, **_: Any
        ) -> Any:
            nodes = [
                {k: v for k, v in e.items() if k != "app"} for e in self.fulfillment_events.get(str(item["id"]), [])
            ]
            nodes.sort(key=lambda e: (e["happenedAt"], e["id"]), reverse=reverse)
            return _connection(nodes, first, after)

        return {
            "__typename": "Fulfillment",
            "id": _gid("Fulfillment", item["id"]),
            "status": str(item.get("status") or "success").upper(),
            "displayStatus": str(item["shipment_status"]).upper() if item.get("shipment_status") else "FULFILLED",
            "events": events,
        }

    def _event_create(self, info: Any, fulfillmentEvent: dict[str, Any]) -> dict[str, Any]:
        """An app posts a status to a fulfilment: kept as this app's event, and the fulfilment shows that status
        (``Fulfillment.displayStatus``; REST ``shipment_status``)."""
        data = fulfillmentEvent
        try:
            order, item = self._fulfilment(_tail(data.get("fulfillmentId")))
        except KeyError:
            error = _user_error("Fulfillment does not exist.", ["fulfillmentEvent", "fulfillmentId"])
            return {"fulfillmentEvent": None, "userErrors": [error]}
        now = self.now_text()
        happened = data.get("happenedAt") or now
        event = self._record_event(
            item,
            self.sandbox.next_id(),
            data["status"],
            happened,
            data.get("message"),
            data.get("estimatedDeliveryAt"),
            data.get("city"),
            app="ordercare",
            country=data.get("country"),
        )
        item["shipment_status"] = str(data["status"]).lower()
        item["updated_at"] = now
        self._touch(order)
        self.counters["fulfillment_events_created"] += 1
        return {"fulfillmentEvent": {k: v for k, v in event.items() if k != "app"}, "userErrors": []}


# --- cost ----------------------------------------------------------------------------------------------


def _field_nodes(selection_set: SelectionSetNode | None) -> list[FieldNode]:
    """Every field a selection names, at any depth (fragments inline only)."""
    found: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            found.append(selection)
        if isinstance(selection, (FieldNode, InlineFragmentNode)):
            found.extend(_field_nodes(selection.selection_set))
    return found


def _arg(node: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, dict(variables))
    return None


def _selection_cost(
    schema: GraphQLSchema,
    parent: Any,
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            total += _selection_cost(schema, target, selection.selection_set, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            target = schema.get_type(fragment.type_condition.name.value)
            total += _selection_cost(schema, target, fragment.selection_set, fragments, variables)
        elif isinstance(selection, FieldNode):
            fields = getattr(parent, "fields", {})
            definition = fields.get(selection.name.value)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            child = _selection_cost(schema, named, selection.selection_set, fragments, variables)
            size = _arg(selection, "first", variables) or _arg(selection, "last", variables)
            unwrapped = definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else definition.type
            if named.name.endswith("Connection"):
                total += 2 + int(size or 1) * child
            elif isinstance(unwrapped, GraphQLList):
                total += int(size or 1) * (1 + child)
            else:
                total += 1 + child
    return total


def query_cost(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any], mutation_cost: int,
) -> int:  # fmt: skip
    """Shopify's rule of thumb: objects 1, scalars 0, connections sized by ``first``, mutations 10."""
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    cost = _selection_cost(schema, root, operation.selection_set, fragments, variables)
    if operation.operation.value == "mutation":
        cost += mutation_cost * sum(1 for s in operation.selection_set.selections if isinstance(s, FieldNode))
    return max(cost, 1)


# --- the WSGI app --------------------------------------------------------------------------------------


def _root_fields(operation: OperationDefinitionNode) -> tuple[str, ...]:
    """The top-level fields an operation asks for: ``("tagsAdd",)``, ``("order",)``."""
    return tuple(s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode))


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


@dataclass
class _App:
    api_key: str
    api_secret: str
    codes: dict[str, str] = field(default_factory=dict)  # code -> shop domain
    own_shops: set[str] = field(default_factory=set)  # stores of the app's own organisation it is installed on
    scope: str = "read_orders,write_orders,write_discounts"


@dataclass
class _Refresh:
    """Where a refresh token came from (the one used to get it) and when it was issued and first used."""

    parent: str | None
    issued_at: datetime
    first_used_at: datetime | None = None


# Shopify's answer to a refresh token it no longer accepts (retired, expired or unknown), as apps report it from
# live stores (community.shopify.dev/t/520-during-refresh-token-rotation-permanently-orphans-the-offline-access-token)
_NO_REFRESH = {"error": "invalid_request", "error_description": "This request requires an active refresh_token"}
REFRESH_LIFETIME = timedelta(days=90)  # ``refresh_token_expires_in`` 7776000 (changelog: offline tokens expiry)
REFRESH_RECOVERY = timedelta(days=30)  # a used refresh token may be retried this long (changelog 2026-08-28)
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a grant name)
CLIENT_CREDENTIALS_EXPIRES_IN = 86399  # about 24 h (client credentials grant docs; nuxt-modules/shopify#217)


class ShopifySandbox:
    """Stand-in for Shopify. ``add_shop`` a shop, serve with ``BackgroundServer``, set ``url``, call away."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        bucket: BucketConfig | None = None,
        faults: Faults | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock: Callable[[], datetime] = clock or system_clock
        self.bucket = bucket or BucketConfig()
        self.faults = faults or Faults()
        self.monotonic = monotonic
        self.sleep = sleep
        self.rng = random.Random(self.faults.seed)
        self.lock = threading.RLock()
        self.shops: dict[str, SandboxShop] = {}
        self.apps: dict[str, _App] = {}
        self.url: str | None = None
        self._ids = itertools.count(5_900_000_000_000_000_001)  # above 2^53, as real Shopify ids are
        self._rules = Map(
            [
                Rule("/shops/<domain>/admin/api/<version>/graphql.json", endpoint="graphql", methods=["POST"]),
                Rule("/admin/api/<version>/graphql.json", endpoint="graphql", methods=["POST"]),
                Rule("/shops/<domain>/admin/oauth/authorize", endpoint="authorize", methods=["GET"]),
                Rule("/shops/<domain>/admin/oauth/access_token", endpoint="access_token", methods=["POST"]),
            ]
        )

    def next_id(self) -> int:
        return next(self._ids)

    def add_shop(
        self,
        domain: str,
        secret: str,
        *,
        access_token: str | None = None,
        timezone: str = "Europe/Amsterdam",
    ) -> SandboxShop:
        """A shop whose webhooks are signed with ``secret`` and whose API accepts ``access_token``."""
        shop = SandboxShop(self, domain.lower(), secret, access_token or f"shpat_{secrets.token_hex(16)}", timezone)
        with self.lock:
            self.shops[shop.domain] = shop
        return shop

    def register_app(self, api_key: str, api_secret: str) -> None:
        """The app the OAuth endpoints know (``settings.shopify_app``)."""
        self.apps[api_key] = _App(api_key, api_secret)

    def install_own_app(self, domain: str, client_id: str, client_secret: str) -> None:
        """A Dev Dashboard app installed on a store of its own organisation: the client credentials grant works
        for this shop (and only this one) with exactly this client id and secret."""
        app = self.apps.setdefault(client_id, _App(client_id, client_secret))
        app.own_shops.add(domain.lower())

    def session_token(self, domain: str, api_key: str, *, lifetime_seconds: int = 60, **claims: Any) -> str:
        """The session token App Bridge hands an embedded app's page: HS256 with the app secret, claims as
        https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens lists them."""
        now = int(self.clock().timestamp())
        payload = {
            "iss": f"https://{domain}/admin",
            "dest": f"https://{domain}",
            "aud": api_key,
            "sub": "42",
            "exp": now + lifetime_seconds,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(8),
            "sid": secrets.token_hex(8),
            **claims,
        }
        return jwt.encode(payload, self.apps[api_key].api_secret, algorithm="HS256")

    def install_request(self, domain: str, api_key: str) -> dict[str, str]:
        """The signed query Shopify's admin sends to the app's install URL."""
        params = {"shop": domain, "timestamp": str(int(self.clock().timestamp())), "host": "YWRtaW4uc2hvcGlmeS5jb20"}
        params["hmac"] = query_hmac(params, self.apps[api_key].api_secret)
        return params

    def embedded_url(
        self, app_url: str, domain: str, api_key: str, *, locale: str = "nl", user_id: str = "42", **claims: Any
    ) -> str:
        """The address the admin opens in its iframe for an embedded app (the app URL, ``/shopify/app``), with a
        fresh session token as ``id_token``: ``embedded=1``, ``host`` (base64 of the admin's store path),
        ``id_token``, ``locale``, ``session``, ``shop``, ``timestamp`` and their ``hmac``, as apps log them from
        Shopify managed installation (community.shopify.dev/t/session-access-token-exchange-with-managed-install-
        query-params/2372; the query HMAC is the install URL's). ``claims`` override the token's claims."""
        name = domain.removesuffix(".myshopify.com")
        host = base64.urlsafe_b64encode(f"admin.shopify.com/store/{name}".encode()).decode().rstrip("=")
        params = {
            "embedded": "1",
            "host": host,
            "id_token": self.session_token(domain, api_key, **{"sub": user_id, **claims}),
            "locale": locale,
            "session": secrets.token_hex(16),
            "shop": domain,
            "timestamp": str(int(self.clock().timestamp())),
        }
        params["hmac"] = query_hmac(params, self.apps[api_key].api_secret)
        return f"{app_url}?{urlencode(params)}"

    # --- WSGI -----------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self._rules.bind_to_environ(environ).match()
            response = getattr(self, f"_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = exc.get_response()
        return response(environ, start_response)

    def _shop_for(self, request: Request, domain: str | None) -> SandboxShop:
        if domain is not None:
            shop = self.shops.get(domain.lower())
        else:
            token = request.headers.get("X-Shopify-Access-Token", "")
            shop = next((s for s in self.shops.values() if token in s.tokens), None)
        if shop is None:
            raise NotFound()
        return shop

    def _authorized(self, shop: SandboxShop, request: Request) -> bool:
        token = request.headers.get("X-Shopify-Access-Token", "")
        if token not in shop.tokens:
            return False
        expires = shop.tokens[token]
        return expires is None or self.clock() < expires

    def _refill(self, shop: SandboxShop) -> dict[str, float]:
        now = self.monotonic()
        if shop.bucket_at is not None:
            shop.available = min(
                self.bucket.maximum, shop.available + (now - shop.bucket_at) * self.bucket.restore_rate
            )
        shop.bucket_at = now
        return {
            "maximumAvailable": self.bucket.maximum,
            "currentlyAvailable": math.floor(shop.available * 10) / 10,
            "restoreRate": self.bucket.restore_rate,
        }

    def _throttled(self, shop: SandboxShop, requested: int, status: dict[str, float]) -> Response:
        shop.counters["throttled"] += 1
        return _json(
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {
                    "cost": {"requestedQueryCost": requested, "actualQueryCost": None, "throttleStatus": status}
                },
            }
        )

    def _fault(self) -> str | None:
        f = self.faults
        with self.lock:
            roll = self.rng.random()
        for name, rate in (
            ("throttle", f.throttle_rate),
            ("server_error", f.server_error_rate),
            ("garbage", f.garbage_rate),
            ("timeout", f.timeout_rate),
            ("slow", f.slow_rate),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None

    def _graphql(self, request: Request, version: str, domain: str | None = None) -> Response:
        shop = self._shop_for(request, domain)
        if shop.unavailable is not None:  # a frozen, locked or closed shop answers every call so (body unverified)
            shop.counters["unavailable"] += 1
            return _json({"errors": "Unavailable Shop" if shop.unavailable != 404 else "Not Found"}, shop.unavailable)
        if not self._authorized(shop, request):
            # an unknown, revoked or expired token: Shopify's 401 body as clients quote it from live stores
            # (Shopify/shopify-api-js#1232, frappe/ecommerce_integrations#414)
            shop.counters["unauthorized"] += 1
            return _json(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401
            )
        try:
            body = json.loads(request.get_data())
            document, errors = _checked(str(body["query"]))
        except (ValueError, KeyError, TypeError):
            return _json({"errors": [{"message": "Parse error: the request body is not a GraphQL request"}]}, 400)
        except GraphQLError as exc:
            return _json({"errors": [exc.formatted]})
        schema = admin_schema()
        if errors:
            formatted = [dict(e.formatted, extensions={"code": "GRAPHQL_VALIDATION_FAILED"}) for e in errors]
            return _json({"errors": formatted})
        variables = body.get("variables") or {}
        operation_name = body.get("operationName")
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        operation = next((o for o in operations if o.name and o.name.value == operation_name), operations[0])
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        fault = self._fault()
        with self.lock:
            shop.counters["calls"] += 1
            shop.operations.append((operation.operation.value, _root_fields(operation)))
            requested = query_cost(schema, operation, fragments, variables, self.bucket.mutation_cost)
            status = self._refill(shop)
            if fault == "throttle":
                shop.counters["faults.throttle"] += 1
                return self._throttled(shop, requested, status)
            if requested > self.bucket.maximum:
                limit = int(self.bucket.maximum)
                message = f"Query cost is {requested}, which exceeds the single query max cost limit ({limit})."
                error = {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested}}
                return _json({"errors": [error]})
            if requested > shop.available:
                return self._throttled(shop, requested, status)
            if fault in ("server_error", "garbage"):
                shop.counters[f"faults.{fault}"] += 1
                if fault == "server_error":
                    return Response("<html><body>502 Bad Gateway</body></html>", status=502, mimetype="text/html")
                return Response("<!DOCTYPE html><html>Shopify is temporarily unavail", status=200, mimetype="text/html")
            shop.available -= requested
            result = execute_sync(
                schema, document, root_value=shop.root(), variable_values=variables, operation_name=operation_name
            )
            status = self._refill(shop)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payload["extensions"] = {
            "cost": {"requestedQueryCost": requested, "actualQueryCost": requested, "throttleStatus": status}
        }
        if fault == "timeout":
            shop.counters["faults.timeout"] += 1
            self.sleep(self.faults.timeout_seconds)
        elif fault == "slow":
            shop.counters["faults.slow"] += 1
            self.sleep(self.faults.slow_seconds)
        response = _json(payload)
        # Shopify names a deprecated field's replacement in this header (shopify.dev/docs/api/usage/versioning)
        used = {n.name.value for n in _field_nodes(operation.selection_set)}
        reason = next((r for f, r in sorted(shop.deprecated.items()) if f in used), None)
        if reason:
            response.headers["X-Shopify-API-Deprecated-Reason"] = reason
        return response

    # --- OAuth ------------------------------------------------------------------------------------------

    def _authorize(self, request: Request, domain: str) -> Response:
        """The merchant approves at once: redirect to ``redirect_uri`` with a code, signed as Shopify signs it."""
        shop = self._shop_for(request, domain)
        app = self.apps.get(request.args.get("client_id", ""))
        redirect_uri = request.args.get("redirect_uri")
        if app is None or not redirect_uri:
            return Response("Oauth error invalid_request: The client_id or redirect_uri is not valid", status=400)
        code = secrets.token_hex(16)
        app.codes[code] = shop.domain
        params = {
            "code": code,
            "host": "YWRtaW4uc2hvcGlmeS5jb20",
            "shop": shop.domain,
            "state": request.args.get("state", ""),
            "timestamp": str(int(self.clock().timestamp())),
        }
        params["hmac"] = query_hmac(params, app.api_secret)
        return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(params)}"})

    def _access_token(self, request: Request, domain: str) -> Response:
        """``POST /admin/oauth/access_token``: code, refresh, client credentials and token exchange grants."""
        shop = self._shop_for(request, domain)
        form = request.form
        app = self.apps.get(form.get("client_id", ""))
        if app is None or form.get("client_secret") != app.api_secret:
            # wrong client id or secret; the body follows RFC 6749 §5.2 (Shopify's exact words unverified)
            return _json({"error": "invalid_client"}, 401)
        grant = form.get("grant_type")
        now = self.clock()
        if grant == "client_credentials":
            # only for apps of the store's own organisation (client credentials grant docs); the refusal's
            # body is RFC 6749's unauthorized_client (Shopify's exact words unverified)
            if shop.domain not in app.own_shops:
                return _json({"error": "unauthorized_client"}, 400)
            access = self._issue(shop, expires_in=CLIENT_CREDENTIALS_EXPIRES_IN)
            return _json({"access_token": access, "scope": app.scope, "expires_in": CLIENT_CREDENTIALS_EXPIRES_IN})
        parent: str | None = None
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            live = token in shop.refresh_tokens
            log = shop.refresh_log.setdefault(token, _Refresh(None, now)) if live else None
            if log is None or now >= log.issued_at + REFRESH_LIFETIME:
                return _json(_NO_REFRESH, 401)
            if log.first_used_at is not None and now >= log.first_used_at + REFRESH_RECOVERY:
                return _json(_NO_REFRESH, 401)
            # Rotation (shopify.dev/changelog/more-resilient-refreshes-for-expiring-offline-access-tokens): the
            # used token may be retried (a lost answer) until its replacement is used; using the replacement
            # retires the one before it
            log.first_used_at = log.first_used_at or now
            previous = log.parent
            if previous is not None:
                shop.refresh_tokens.discard(previous)
            parent, expiring = token, True
        elif grant == TOKEN_EXCHANGE:
            problem = self._subject_problem(shop, app, form)
            if problem is not None:
                # kinngh/shopify-node-express-mongodb-app#135 quotes this answer from Shopify
                return _json({"error": "invalid_subject_token", "error_description": problem}, 400)
            shop.counters["token_exchanges"] += 1
            expiring = form.get("expiring") == "1"
        else:
            if app.codes.pop(form.get("code", ""), None) != shop.domain:
                return _json({"error": "invalid_grant", "error_description": "authorization code was not found"}, 400)
            expiring = form.get("expiring") == "1"
        body: dict[str, Any] = {"scope": app.scope}
        if expiring:
            body["access_token"] = self._issue(shop, expires_in=3600)
            refresh = f"shprt_{secrets.token_hex(16)}"
            shop.refresh_tokens.add(refresh)
            shop.refresh_log[refresh] = _Refresh(parent, now)
            body.update(expires_in=3600, refresh_token=refresh, refresh_token_expires_in=7776000)
        else:
            body["access_token"] = self._issue(shop, expires_in=None)
        return _json(body)

    def _issue(self, shop: SandboxShop, *, expires_in: int | None) -> str:
        """A new access token that works until ``expires_in`` seconds from now on the sandbox clock."""
        access = f"shpat_{secrets.token_hex(16)}"
        shop.tokens[access] = self.clock() + timedelta(seconds=expires_in) if expires_in is not None else None
        shop.access_token = access
        shop.counters["tokens_issued"] += 1
        return access

    def _subject_problem(self, shop: SandboxShop, app: _App, form: Mapping[str, str]) -> str | None:
        """Why Shopify would refuse this token exchange (None: it accepts). The session token is checked with
        PyJWT, an implementation independent of ordercare's own check."""
        if form.get("subject_token_type") != "urn:ietf:params:oauth:token-type:id_token":
            return "subject_token_type must be urn:ietf:params:oauth:token-type:id_token"
        if form.get("requested_token_type") != "urn:shopify:params:oauth:token-type:offline-access-token":
            return "only offline access tokens are issued here"
        try:
            claims = jwt.decode(
                form.get("subject_token", ""),
                app.api_secret,
                algorithms=["HS256"],
                audience=app.api_key,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return "Token exchange cannot be performed due to an invalid subject token."
        now = self.clock().timestamp()
        if not (float(claims.get("nbf", now)) - 10 <= now < float(claims.get("exp", 0)) + 10):
            return "Token exchange cannot be performed due to an invalid subject token."
        if claims.get("dest") != f"https://{shop.domain}":
            return "Token exchange cannot be performed due to an invalid subject token."
        return None
