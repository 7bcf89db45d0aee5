"""Draft orders of the Shopify sandbox shop (``connector.sandbox.shopify.SandboxShop``): replacements at no cost.

What is kept, from the 2026-10 schema's descriptions (https://shopify.dev/docs/api/admin-graphql/latest/mutations/
draftOrderCreate, .../draftOrderComplete, .../queries/draftOrders): ``draftOrderCreate`` makes an ``OPEN`` draft
from ``DraftOrderInput`` (line items by ``variantId`` or as custom items with ``title`` and
``originalUnitPrice``; a line's ``appliedDiscount`` of ``PERCENTAGE`` takes that share off); ``draftOrderComplete``
"converts it into a regular order", which then appears in the orders list and sends ``orders/create``; with
``paymentPending: false`` it is marked paid. ``draftOrders(query:)`` finds drafts by ``tag:``. Both mutations
need ``write_draft_orders`` ("Requires write_draft_orders access scope"). The wording of the userErrors for a
draft without line items or with an unknown variant is unverified.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from decimal import Decimal
from typing import Any, Protocol

from connector.sandbox.shopify_stock import Stock


class SandboxShop(Protocol):
    """What draft orders use of ``connector.sandbox.shopify.SandboxShop`` (which imports this module)."""

    stock: Stock
    orders: dict[str, dict[str, Any]]
    sandbox: Any  # the ShopifySandbox: ``next_id()``
    counters: Counter[str]
    queued_webhooks: list[tuple[str, dict[str, Any]]]

    def create_order(self, *, delivery_method: str = "SHIPPING", **overrides: Any) -> dict[str, Any]: ...


def _gid(kind: str, value: Any) -> str:
    return f"gid://shopify/{kind}/{value}"


def _tail(gid: Any) -> str:
    return str(gid).rsplit("/", 1)[-1]


def _error(message: str, field_path: list[str] | None = None) -> dict[str, Any]:
    return {"field": field_path, "message": message}


ROOT_SCOPES: dict[str, tuple[str, ...]] = {
    "draftOrders": ("read_draft_orders", "write_draft_orders"),
    "draftOrderCreate": ("write_draft_orders",),
    "draftOrderComplete": ("write_draft_orders",),
}


class DraftOrders:
    """One sandbox shop's draft orders (used under the sandbox's lock)."""

    def __init__(self, shop: SandboxShop) -> None:
        self.shop = shop
        self.drafts: dict[str, dict[str, Any]] = {}  # id -> draft (GraphQL-shaped input plus our bookkeeping)

    # --- helpers for tests and the demo ---------------------------------------------------------------

    def all(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.drafts.values()]

    # --- GraphQL ------------------------------------------------------------------------------------

    def fields(self) -> dict[str, Any]:
        return {"draftOrders": self.query, "draftOrderCreate": self.create, "draftOrderComplete": self.complete}

    def _line(self, raw: dict[str, Any], currency: str) -> tuple[dict[str, Any] | None, str | None]:
        quantity = int(raw.get("quantity") or 0)
        if quantity < 1:
            return None, "Quantity must be greater than 0"
        variant_id = raw.get("variantId")
        if variant_id:
            variant = self.shop.stock.variants.get(_tail(variant_id))
            if variant is None:
                return None, f"Variant {variant_id} does not exist"
            title, sku, price, product = variant.display_name, variant.sku, Decimal(variant.price), variant.product_id
        else:
            if not raw.get("title"):
                return None, "Title can't be blank"
            title, sku, product = str(raw["title"]), raw.get("sku"), None
            price = Decimal(str(raw.get("originalUnitPrice") or "0"))
        discount = raw.get("appliedDiscount") or {}
        total = price * quantity
        if discount.get("valueType") == "PERCENTAGE":
            total -= total * Decimal(str(discount.get("value") or 0)) / 100
        elif discount.get("valueType") == "FIXED_AMOUNT":
            total -= min(total, Decimal(str(discount.get("value") or 0)))
        line = {
            "title": title,
            "quantity": quantity,
            "sku": sku,
            "price": str(price),
            "total": f"{total:.2f}",
            "variant_id": _tail(variant_id) if variant_id else None,
            "product_id": product,
            "currency": currency,
        }
        return line, None  # fmt: skip

    def _view(self, draft: dict[str, Any]) -> dict[str, Any]:
        order = self.shop.orders.get(str(draft.get("order_id") or ""))
        total = sum((Decimal(line["total"]) for line in draft["lines"]), Decimal(draft["shipping"]))
        return {
            "__typename": "DraftOrder",
            "id": _gid("DraftOrder", draft["id"]),
            "name": draft["name"],
            "status": draft["status"],
            "tags": list(draft["tags"]),
            "totalPriceSet": {"shopMoney": {"amount": f"{total:.2f}", "currencyCode": draft["currency"]}},
            "order": None if order is None else {"__typename": "Order", "id": _gid("Order", order["id"]),
                                                 "name": order["name"]},
        }  # fmt: skip

    def create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        currency = str(input.get("presentmentCurrencyCode") or "EUR")
        raw_lines = input.get("lineItems") or []
        if not raw_lines:
            return {"draftOrder": None, "userErrors": [_error("Add at least 1 product", ["lineItems"])]}
        lines = []
        for index, raw in enumerate(raw_lines):
            line, problem = self._line(raw, currency)
            if problem is not None or line is None:
                return {"draftOrder": None, "userErrors": [_error(problem or "invalid", ["lineItems", str(index)])]}
            lines.append(line)
        shipping_line = input.get("shippingLine") or {}
        draft_id = str(self.shop.sandbox.next_id())
        draft = {
            "id": draft_id,
            "name": f"#D{len(self.drafts) + 1}",
            "status": "OPEN",
            "lines": lines,
            "shipping": str(shipping_line.get("price") or "0.00"),
            "shipping_title": shipping_line.get("title"),
            "tags": [str(t) for t in input.get("tags") or []],
            "note": input.get("note"),
            "email": input.get("email"),
            "shipping_address": copy.deepcopy(input.get("shippingAddress")),
            "custom_attributes": copy.deepcopy(input.get("customAttributes") or []),
            "currency": currency,
            "order_id": None,
        }
        self.drafts[draft_id] = draft
        self.shop.counters["draft_orders_created"] += 1
        return {"draftOrder": self._view(draft), "userErrors": []}

    def complete(self, info: Any, id: str, paymentPending: bool | None = None, **_: Any) -> dict[str, Any]:
        draft = self.drafts.get(_tail(id))
        if draft is None:
            return {"draftOrder": None, "userErrors": [_error("Draft order does not exist", ["id"])]}
        if draft["status"] == "COMPLETED":
            return {"draftOrder": None, "userErrors": [_error("This order has already been paid", ["id"])]}
        address = draft.get("shipping_address") or {}
        total = sum((Decimal(line["total"]) for line in draft["lines"]), Decimal(draft["shipping"]))
        items = [
            {"id": (lid := self.shop.sandbox.next_id()), "admin_graphql_api_id": _gid("LineItem", lid),
             "name": line["title"], "title": line["title"], "quantity": line["quantity"],
             "current_quantity": line["quantity"], "price": line["price"], "sku": line["sku"],
             "product_id": line["product_id"], "variant_id": line["variant_id"], "requires_shipping": True}
            for line in draft["lines"]
        ]  # fmt: skip
        shipping = {
            "first_name": address.get("firstName"),
            "last_name": address.get("lastName"),
            "company": address.get("company"),
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "city": address.get("city"),
            "province_code": address.get("provinceCode"),
            "zip": address.get("zip"),
            "country_code": address.get("countryCode"),
            "phone": address.get("phone"),
        }
        order = self.shop.create_order(
            email=draft.get("email"),
            contact_email=draft.get("email"),
            financial_status="pending" if paymentPending else "paid",
            source_name="shopify_draft_order",
            total_price=f"{total:.2f}",
            tags=", ".join(draft["tags"]),
            note=draft.get("note"),
            note_attributes=[{"name": a.get("key"), "value": a.get("value")} for a in draft["custom_attributes"]],
            shipping_address=shipping if address else None,
            shipping_lines=[{"id": self.shop.sandbox.next_id(), "title": draft.get("shipping_title") or "Shipping",
                             "code": "custom", "price": draft["shipping"], "source": "shopify", "is_removed": False}],
            line_items=items,
        )  # fmt: skip
        draft["status"], draft["order_id"] = "COMPLETED", str(order["id"])
        self.shop.queued_webhooks.append(("orders/create", copy.deepcopy(self.shop.orders[str(order["id"])])))
        self.shop.counters["draft_orders_completed"] += 1
        return {"draftOrder": self._view(draft), "userErrors": []}

    def query(self, info: Any, first: int | None = None, query: str | None = None, **_: Any) -> dict[str, Any]:
        drafts = list(self.drafts.values())
        for tag in re.findall(r"tag:'([^']*)'|tag:(\S+)", query or ""):
            wanted = tag[0] or tag[1]
            drafts = [d for d in drafts if wanted in d["tags"]]
        nodes = [self._view(d) for d in drafts[: first or 50]]
        return {"nodes": nodes, "edges": [{"node": n, "cursor": n["id"]} for n in nodes],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}}  # fmt: skip
