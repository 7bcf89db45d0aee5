"""Inventory and order editing of the Shopify sandbox shop (``connector.sandbox.shopify.SandboxShop``).

Per shop: variants (product, display name, SKU, tracked or not, for sale or not) and their ``available``
quantity per location; a fulfilment order is assigned to one location (``FulfillmentOrder.assignedLocation``)
and lists the order's line items with what remains to fulfil. Order editing follows Shopify's three steps
(https://shopify.dev/docs/apps/build/orders-fulfillment/order-management-apps/edit-orders): ``orderEditBegin``
opens a calculated order whose line items carry the ids of the order's line items
(``gid://shopify/CalculatedLineItem/<line item id>``), ``orderEditSetQuantity`` / ``orderEditAddVariant`` stage
changes on it, ``orderEditCommit`` applies them and the order's ``updatedAt`` moves. The rules kept here, from
the 2026-10 schema's argument descriptions and that guide: a quantity "cannot be negative" and an added quantity
"must be a positive value"; a cancelled order cannot be edited; a line cannot go below what was fulfilled
(unverified wording of the userErrors); a staged session that is never committed changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_LOCATION = "64000000001"


def _gid(kind: str, value: Any) -> str:
    return f"gid://shopify/{kind}/{value}"


def _tail(gid: Any) -> str:
    return str(gid).rsplit("/", 1)[-1]


def _error(message: str, field_path: list[str] | None = None) -> dict[str, Any]:
    return {"field": field_path, "message": message}


@dataclass
class Variant:
    id: str
    product_id: str
    display_name: str
    sku: str | None = None
    tracked: bool = True
    for_sale: bool = True
    price: str = "0.00"


@dataclass
class EditSession:
    order_id: str
    quantities: dict[str, int]  # line item id -> staged quantity
    added: list[tuple[str, int, str]] = field(default_factory=list)  # (variant id, quantity, new line id)
    committed: bool = False


class Stock:
    """One sandbox shop's variants, inventory levels and edit sessions (used under the sandbox's lock)."""

    def __init__(
        self,
        shop: Any,  # the SandboxShop: its orders, granted scopes, counters and clock
        *,
        connection: Callable[[list[Any], int | None], dict[str, Any]],
        denied: Callable[[str, str], Any],
    ) -> None:
        self.shop = shop
        self._page = connection  # the sandbox's connection shape (nodes, edges, pageInfo)
        self._denied = denied  # a resolver raising Shopify's ACCESS_DENIED for (field, scope)
        self.variants: dict[str, Variant] = {}
        self.levels: dict[tuple[str, str], int] = {}  # (variant id, location id) -> available
        self.sessions: dict[str, EditSession] = {}

    # --- helpers for tests and the demo ---------------------------------------------------------------

    def add_variant(
        self,
        variant_id: Any,
        *,
        product_id: Any,
        display_name: str,
        sku: str | None = None,
        available: int = 0,
        location: str = DEFAULT_LOCATION,
        tracked: bool = True,
        for_sale: bool = True,
        price: str = "0.00",
    ) -> None:
        self.variants[str(variant_id)] = Variant(
            str(variant_id), str(product_id), display_name, sku, tracked, for_sale, price
        )
        self.levels[(str(variant_id), location)] = available

    def set_available(self, variant_id: Any, available: int, location: str = DEFAULT_LOCATION) -> None:
        self.levels[(str(variant_id), location)] = available

    def sell(self, order: dict[str, Any], location: str = DEFAULT_LOCATION) -> None:
        """What an order does to inventory: each tracked variant's ``available`` at the location goes down by the
        quantity ordered, below zero when the variant sells while out of stock (inventory policy CONTINUE)."""
        for line in order.get("line_items") or []:
            variant = str(line.get("variant_id") or "")
            if variant in self.variants and self.variants[variant].tracked:
                key = (variant, location)
                self.levels[key] = self.levels.get(key, 0) - int(line.get("quantity") or 0)

    # --- GraphQL views ---------------------------------------------------------------------------------

    def total(self, variant_id: str) -> int:
        return sum(q for (v, _), q in self.levels.items() if v == variant_id)

    def variant_view(self, variant_id: Any) -> dict[str, Any] | None:
        variant = self.variants.get(str(variant_id or ""))
        if variant is None:
            return (
                None
                if not variant_id
                else {
                    "__typename": "ProductVariant",
                    "id": _gid("ProductVariant", variant_id),
                    "inventoryQuantity": 0,
                    "product": None,
                    "inventoryItem": None,
                }
            )
        siblings = [v for v in self.variants.values() if v.product_id == variant.product_id]
        levels = [
            {
                "location": {"id": _gid("Location", loc)},
                "quantities": lambda info, names=(), _q=q, **_: [
                    {"name": n, "quantity": _q} for n in names if n == "available"
                ],
            }
            for (vid, loc), q in sorted(self.levels.items())
            if vid == variant.id
        ]
        return {
            "__typename": "ProductVariant",
            "id": _gid("ProductVariant", variant.id),
            "displayName": variant.display_name,
            "sku": variant.sku,
            "availableForSale": variant.for_sale,
            "inventoryQuantity": self.total(variant.id),
            "product": {
                "id": _gid("Product", variant.product_id),
                "variants": lambda info, first=None, **_: self._connection([self._sibling(v) for v in siblings], first),
            },
            "inventoryItem": {
                "id": _gid("InventoryItem", variant.id),
                "tracked": variant.tracked,
                "inventoryLevels": lambda info, first=None, **_: self._connection(levels, first),
            },
        }

    def guarded_variant(self, variant_id: Any) -> Any:
        """``LineItem.variant`` as this app may see it: product data needs read_products, inventory read_inventory
        (https://shopify.dev/docs/api/usage/access-scopes); a field not covered raises Shopify's ACCESS_DENIED."""
        if not self._covers("read_products"):
            return self._denied("variant", "read_products")
        view = self.variant_view(variant_id)
        if view is not None and not self._covers("read_inventory"):
            view["inventoryItem"] = self._denied("inventoryItem", "read_inventory")
        return view

    def _sibling(self, variant: Variant) -> dict[str, Any]:
        return {
            "id": _gid("ProductVariant", variant.id),
            "displayName": variant.display_name,
            "sku": variant.sku,
            "availableForSale": variant.for_sale,
            "inventoryQuantity": self.total(variant.id),
        }

    def _connection(self, items: list[Any], first: int | None) -> dict[str, Any]:
        return self._page(items, first)

    def _covers(self, scope: str) -> bool:
        """Whether the app was granted ``scope``; a write scope grants its read scope."""
        return scope in self.shop.granted or scope.replace("read_", "write_", 1) in self.shop.granted

    def fo_lines(self, fo: dict[str, Any]) -> dict[str, Any]:
        """``FulfillmentOrder.assignedLocation`` and ``lineItems`` of one fulfilment order."""
        order = self.shop.orders[fo["order_id"]]
        fulfilled = self._fulfilled(order)
        items = [
            {
                "id": _gid("FulfillmentOrderLineItem", line["id"]),
                "lineItem": {"id": _gid("LineItem", line["id"])},
                "remainingQuantity": max(
                    0, int(line.get("current_quantity", line.get("quantity", 0))) - fulfilled.get(str(line["id"]), 0)
                ),
                "totalQuantity": int(line.get("current_quantity", line.get("quantity", 0))),
                "variant": self.guarded_variant(line.get("variant_id")),
            }
            for line in order.get("line_items") or []
        ]
        location = fo.get("location") or DEFAULT_LOCATION
        return {
            "assignedLocation": {
                "name": "Magazijn",
                "countryCode": "NL",
                "location": {"id": _gid("Location", location)},
            },
            "lineItems": lambda info, first=None, **_: self._connection(items, first),
        }

    @staticmethod
    def _fulfilled(order: dict[str, Any]) -> dict[str, int]:
        done: dict[str, int] = {}
        for fulfilment in order.get("fulfillments") or []:
            for line in fulfilment.get("line_items") or []:
                done[str(line["id"])] = done.get(str(line["id"]), 0) + int(line.get("quantity") or 0)
        return done

    # --- order editing ---------------------------------------------------------------------------------

    def _calculated(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        order = self.shop.orders[session.order_id]
        lines = [
            {
                "id": _gid("CalculatedLineItem", line["id"]),
                "quantity": session.quantities[str(line["id"])],
                "variant": self.variant_view(line.get("variant_id")),
            }
            for line in order.get("line_items") or []
        ] + [
            {"id": _gid("CalculatedLineItem", new_id), "quantity": quantity, "variant": self.variant_view(variant)}
            for variant, quantity, new_id in session.added
        ]
        return {
            "id": _gid("CalculatedOrder", session_id),
            "committed": session.committed,
            "lineItems": lambda info, first=None, **_: self._connection(lines, first),
        }

    def begin(self, info: Any, id: str) -> dict[str, Any]:
        order = self.shop.orders.get(_tail(id))
        if order is None:
            return {
                "calculatedOrder": None,
                "orderEditSession": None,
                "userErrors": [_error("Order does not exist", ["id"])],
            }
        if order.get("cancelled_at"):
            error = _error("The order cannot be edited because it is cancelled.", ["id"])
            return {"calculatedOrder": None, "orderEditSession": None, "userErrors": [error]}
        session_id = str(self.shop.sandbox.next_id())
        quantities = {
            str(li["id"]): int(li.get("current_quantity", li.get("quantity", 0))) for li in order["line_items"]
        }
        self.sessions[session_id] = EditSession(str(order["id"]), quantities)
        self.shop.counters["order_edits_begun"] += 1
        return {
            "calculatedOrder": self._calculated(session_id),
            "orderEditSession": {"id": _gid("OrderEditSession", session_id)},
            "userErrors": [],
        }

    def _session(self, id: str) -> EditSession | None:
        session = self.sessions.get(_tail(id))
        return session if session is not None and not session.committed else None

    def set_quantity(
        self, info: Any, id: str, lineItemId: str, quantity: int, restock: bool | None = None, **_: Any
    ) -> dict[str, Any]:
        session = self._session(id)
        empty = {"calculatedLineItem": None, "calculatedOrder": None, "orderEditSession": None}
        if session is None:
            return {**empty, "userErrors": [_error("The calculated order does not exist.", ["id"])]}
        line = _tail(lineItemId)
        if line not in session.quantities:
            return {**empty, "userErrors": [_error("The line item does not exist.", ["lineItemId"])]}
        if quantity < 0:
            return {**empty, "userErrors": [_error("Quantity cannot be negative.", ["quantity"])]}
        fulfilled = self._fulfilled(self.shop.orders[session.order_id]).get(line, 0)
        if quantity < fulfilled:
            error = _error("Quantity cannot be lower than the fulfilled quantity.", ["quantity"])
            return {**empty, "userErrors": [error]}
        session.quantities[line] = quantity
        return {
            "calculatedLineItem": {"id": _gid("CalculatedLineItem", line), "quantity": quantity},
            "calculatedOrder": self._calculated(_tail(id)),
            "orderEditSession": None,
            "userErrors": [],
        }

    def edit_add(self, info: Any, id: str, variantId: str, quantity: int, **_: Any) -> dict[str, Any]:
        session = self._session(id)
        empty = {"calculatedLineItem": None, "calculatedOrder": None, "orderEditSession": None}
        if session is None:
            return {**empty, "userErrors": [_error("The calculated order does not exist.", ["id"])]}
        if quantity < 1:
            return {**empty, "userErrors": [_error("Quantity must be a positive value.", ["quantity"])]}
        if _tail(variantId) not in self.variants:
            return {**empty, "userErrors": [_error("The variant does not exist.", ["variantId"])]}
        new_id = str(self.shop.sandbox.next_id())
        session.added.append((_tail(variantId), quantity, new_id))
        return {
            "calculatedLineItem": {"id": _gid("CalculatedLineItem", new_id), "quantity": quantity},
            "calculatedOrder": self._calculated(_tail(id)),
            "orderEditSession": None,
            "userErrors": [],
        }

    def commit(
        self, info: Any, id: str, notifyCustomer: bool | None = None, staffNote: str | None = None, **_: Any
    ) -> dict[str, Any]:
        session = self._session(id)
        if session is None:
            return {
                "order": None,
                "successMessages": None,
                "userErrors": [_error("The calculated order does not exist.", ["id"])],
            }
        order = self.shop.orders[session.order_id]
        for line in order["line_items"]:
            line["current_quantity"] = session.quantities[str(line["id"])]
        for variant_id, quantity, new_id in session.added:
            variant = self.variants[variant_id]
            order["line_items"].append(
                {
                    "admin_graphql_api_id": _gid("LineItem", new_id),
                    "id": int(new_id),
                    "name": variant.display_name,
                    "title": variant.display_name,
                    "quantity": quantity,
                    "current_quantity": quantity,
                    "price": variant.price,
                    "sku": variant.sku,
                    "product_id": int(variant.product_id),
                    "variant_id": int(variant.id),
                    "requires_shipping": True,
                }
            )
        session.committed = True
        if staffNote:
            self.shop.counters["edit_staff_notes"] += 1
        self.shop.counters["order_edits_committed"] += 1
        self.shop._touch(order)
        return {"order": self.shop._order_view(order), "successMessages": ["Order updated"], "userErrors": []}


def edits_of(shop: Any, order_id: Any) -> list[dict[str, Any]]:
    """The line items of an order as they are now (for tests)."""
    return copy.deepcopy(shop.orders[str(order_id)]["line_items"])
