"""The replacement for a wrong, damaged or missing item: what ordercare prepares and staff confirm (pure mappers).

``payload`` is the CREATE_REPLACEMENT action's payload: the original order, the items again, the address and
the customer's e-mail. ``shopify_draft_input`` maps it to Shopify's ``DraftOrderInput`` (each line at a 100 %
discount and free shipping, so the draft costs the customer nothing; tagged with the action so a replay finds
it), and ``woocommerce_order`` to a WooCommerce order at zero total, linked to the original by meta.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from connector.model import Order

TAG = "ordercare:replacement"
LINK_META = "_ordercare_replacement_of"  # WooCommerce: the original order's id
ACTION_META = "_ordercare_replacement_action"  # WooCommerce: the action that made it (a replay finds it)
SHIPPING_TITLE = "Replacement"


def action_tag(action_id: int) -> str:
    """The tag that marks the Shopify draft order one action created (tags hold at most 40 characters)."""
    return f"ordercare:replacement-{action_id}"


def payload(order: Order, cause: str, lines: Iterable[Mapping[str, Any]], note: str) -> dict[str, Any]:
    """What a replacement needs, as plain JSON: the original, the items, where they go, the staff note."""
    address = asdict(order.shipping_address) if order.shipping_address is not None else None
    return {
        "original_id": order.external_id,
        "original_number": order.number,
        "cause": cause,
        "lines": [
            {
                "title": str(line.get("title") or ""),
                "quantity": int(line.get("quantity") or 1),
                "sku": line.get("sku"),
                "product_id": line.get("product_id"),
                "variant_id": line.get("variant_id"),
            }
            for line in lines
        ],
        "address": address,
        "email": order.customer.email,
        "first_name": order.customer.first_name,
        "last_name": order.customer.last_name,
        "currency": order.total.currency if order.total is not None else None,
        "note": note,
    }


def _gid(kind: str, value: Any) -> str:
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def shopify_draft_input(data: Mapping[str, Any], action_id: int, address: Mapping[str, Any] | None) -> dict[str, Any]:
    """``DraftOrderInput`` for the replacement; ``address`` is the ``MailingAddressInput`` (the client maps it)."""
    free = {"valueType": "PERCENTAGE", "value": 100.0, "title": SHIPPING_TITLE}
    items = []
    for line in data.get("lines") or []:
        if line.get("variant_id"):
            items.append({"variantId": _gid("ProductVariant", line["variant_id"]), "quantity": int(line["quantity"]),
                          "appliedDiscount": free})  # fmt: skip
        else:  # a custom item: the same title, at no price
            custom = {"title": line["title"], "quantity": int(line["quantity"]), "originalUnitPrice": "0.00",
                      "requiresShipping": True}  # fmt: skip
            if line.get("sku"):
                custom["sku"] = str(line["sku"])
            items.append(custom)
    result: dict[str, Any] = {
        "lineItems": items,
        "shippingLine": {"title": SHIPPING_TITLE, "price": "0.00"},
        "note": str(data.get("note") or "")[:5000],
        "tags": [TAG, action_tag(action_id)],
        "customAttributes": [{"key": "ordercare_replacement_of", "value": str(data.get("original_number") or "")}],
    }
    if data.get("email"):
        result["email"] = str(data["email"])
    if address:
        result["shippingAddress"] = dict(address)
    return result


def woocommerce_order(data: Mapping[str, Any], action_id: int, shipping: Mapping[str, str] | None) -> dict[str, Any]:
    """The body of ``POST /orders`` for the replacement: every line at zero, free shipping, linked by meta."""
    items = []
    for line in data.get("lines") or []:
        item: dict[str, Any] = {"quantity": int(line["quantity"]), "subtotal": "0.00", "total": "0.00"}
        if line.get("product_id"):
            item["product_id"] = int(str(line["product_id"]))
            if line.get("variant_id"):
                item["variation_id"] = int(str(line["variant_id"]))
        else:
            item["name"] = line["title"]
        items.append(item)
    body: dict[str, Any] = {
        "status": "processing",
        "set_paid": True,  # nothing to pay: the order goes to the warehouse as a paid one
        "created_via": "ordercare",
        "line_items": items,
        "shipping_lines": [{"method_id": "free_shipping", "method_title": SHIPPING_TITLE, "total": "0.00"}],
        "customer_note": "",
        "meta_data": [
            {"key": LINK_META, "value": str(data.get("original_id") or "")},
            {"key": ACTION_META, "value": str(action_id)},
        ],
    }
    billing: dict[str, str] = {}
    if data.get("email"):
        billing["email"] = str(data["email"])
    for key in ("first_name", "last_name"):
        if data.get(key):
            billing[key] = str(data[key])
    if billing:
        body["billing"] = billing
    if shipping:
        body["shipping"] = dict(shipping)
    return body
