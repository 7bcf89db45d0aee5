"""Orders made over REST in the WooCommerce sandbox shop: ``POST /wp-json/wc/v3/orders`` (replacements at no cost).

As WooCommerce's ``WC_REST_Orders_V2_Controller::prepare_object_for_database`` does: the body's ``billing``,
``shipping``, ``line_items`` (by ``product_id`` / ``variation_id``, or a ``name`` alone), ``shipping_lines``,
``meta_data``, ``status`` and ``created_via`` are set; a line's ``subtotal`` / ``total`` given in the body are kept
(so an order can be made at zero total), and ``set_paid: true`` marks it paid ("Define if the order is paid. It
will set the status to processing and reduce stock items", REST API docs, Create an order). An unknown product
is refused as WooCommerce does (``woocommerce_rest_invalid_product_id``). ``GET /orders?search=`` matches the
billing e-mail and name, as the order search does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from connector.sandbox.woocommerce_stock import Catalog


class WooSandbox(Protocol):
    """What REST-made orders use of ``connector.sandbox.woocommerce.WooSandbox`` (which imports this module)."""

    catalog: Catalog
    orders: dict[int, dict[str, Any]]
    counters: Counter[str]

    @property
    def create_order(self) -> Callable[..., dict[str, Any]]: ...

    def order(self, order_id: int) -> dict[str, Any]: ...


class InvalidOrder(ValueError):
    """What WooCommerce answers with 400 for this body: ``(code, message)``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def create(shop: WooSandbox, body: Mapping[str, Any]) -> dict[str, Any]:
    """Make the order the body describes; the REST order. Raises ``InvalidOrder``."""
    items: list[tuple[str, int, str]] = []
    products: list[tuple[int, int, str | None]] = []
    totals: list[tuple[str | None, str | None]] = []
    for raw in body.get("line_items") or []:
        if not isinstance(raw, Mapping):
            raise InvalidOrder("rest_invalid_param", "Invalid parameter(s): line_items")
        product_id = int(raw.get("product_id") or 0)
        variation_id = int(raw.get("variation_id") or 0)
        product = shop.catalog.products.get(variation_id or product_id) if product_id or variation_id else None
        if (product_id or variation_id) and product is None:
            raise InvalidOrder("woocommerce_rest_invalid_product_id", "Product ID provided is invalid.")
        name = product.name if product is not None else str(raw.get("name") or "")
        if not name:
            raise InvalidOrder("woocommerce_rest_required_product_reference", "Product ID or SKU is required.")
        price = product.price if product is not None else "0.00"
        items.append((name, int(raw.get("quantity") or 1), price))
        products.append((product_id, variation_id, product.sku if product is not None else None))
        totals.append((raw.get("subtotal"), raw.get("total")))
    shipping = dict(body.get("shipping") or {})
    billing = dict(body.get("billing") or {})
    ship = (body.get("shipping_lines") or [{}])[0]
    meta = {str(m["key"]): m.get("value") for m in body.get("meta_data") or [] if isinstance(m, Mapping)}
    status = "processing" if body.get("set_paid") else str(body.get("status") or "pending")
    order = shop.create_order(
        status=status,
        first_name=str(shipping.get("first_name") or billing.get("first_name") or ""),
        last_name=str(shipping.get("last_name") or billing.get("last_name") or ""),
        email=str(billing.get("email") or ""),
        phone=str(billing.get("phone") or ""),
        split_fields=False,
        address_1=str(shipping.get("address_1") or ""),
        address_2=str(shipping.get("address_2") or ""),
        postcode=str(shipping.get("postcode") or ""),
        city=str(shipping.get("city") or ""),
        country=str(shipping.get("country") or "NL"),
        items=items,
        shipping_method=(str(ship.get("method_title") or ""), str(ship.get("method_id") or "")),
        shipping_total=str(ship.get("total") or "0.00"),
        created_via=str(body.get("created_via") or "rest-api"),
        customer_note=str(body.get("customer_note") or ""),
        locale=None,
        meta=meta,
        payment_method="" if body.get("set_paid") else "bacs",
    )
    stored = shop.orders[int(order["id"])]
    total = Decimal(str(stored["shipping_total"]))
    for line, (product_id, variation_id, sku), (subtotal, line_total) in zip(
        stored["line_items"], products, totals, strict=True
    ):
        line["product_id"], line["variation_id"] = product_id, variation_id
        line["sku"] = sku or ""
        if subtotal is not None:
            line["subtotal"] = f"{Decimal(str(subtotal)):.2f}"
        if line_total is not None:
            line["total"] = f"{Decimal(str(line_total)):.2f}"
        total += Decimal(line["total"])
    stored["total"] = f"{total:.2f}"
    if body.get("set_paid") and not stored.get("date_paid"):
        stored["date_paid"], stored["date_paid_gmt"] = stored["date_created"], stored["date_created_gmt"]
    shop.counters["orders_created_over_rest"] += 1
    return shop.order(int(order["id"]))


def matches(order: Mapping[str, Any], search: str) -> bool:
    """The order search: the billing e-mail or name contains the text (any case)."""
    wanted = search.strip().casefold()
    billing = order.get("billing") or {}
    haystack = " ".join(str(billing.get(k) or "") for k in ("email", "first_name", "last_name")).casefold()
    return bool(wanted) and wanted in haystack
