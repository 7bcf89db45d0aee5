"""Products, stock and order line edits of the WooCommerce sandbox (``connector.sandbox.woocommerce.WooSandbox``).

Stock as WooCommerce keeps it (includes/wc-stock-functions.php, WC_Product_Data_Store_CPT): a product or variation
that manages stock has a ``stock_quantity``; paying an order reduces it (``wc_reduce_stock_levels``), and a line
that takes it below zero on a product that allows backorders with notification gets the line item meta
``Backordered`` = units ordered minus what was in stock (``$qty - max( 0, $stock )``, the filter
``woocommerce_backordered_item_meta_name``). The status follows the quantity (``validate_props``): above zero
``instock``, else ``onbackorder`` when backorders are allowed, else ``outofstock``. REST: ``GET products`` and
``GET products/<id>/variations`` with ``include``; ``PUT orders/<id>`` with ``line_items``: ``{id, quantity}``
changes a line, ``{id, product_id: null}`` removes it ("Items can be deleted by setting the resource ID to
null", WC_REST_Orders_V2_Controller::item_is_null), an entry without ``id`` adds a product.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

BACKORDERED = "Backordered"


@dataclass
class Product:
    id: int
    name: str
    sku: str
    price: str
    stock_quantity: int | None = None  # None: stock not managed
    backorders: str = "no"  # no | notify | yes
    parent_id: int = 0  # a variation's product

    @property
    def stock_status(self) -> str:
        if self.stock_quantity is None or self.stock_quantity > 0:
            return "instock"
        return "onbackorder" if self.backorders != "no" else "outofstock"

    def rest(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "sku": self.sku,
            "price": self.price,
            "parent_id": self.parent_id,
            "manage_stock": self.stock_quantity is not None,
            "stock_quantity": self.stock_quantity,
            "backorders": self.backorders,
            "stock_status": self.stock_status,
        }


class Catalog:
    """The sandbox shop's products and variations (used under the sandbox's lock)."""

    def __init__(self) -> None:
        self.products: dict[int, Product] = {}

    def add(
        self,
        product_id: int,
        name: str,
        *,
        sku: str = "",
        price: str = "0.00",
        stock: int | None = None,
        backorders: str = "no",
        parent_id: int = 0,
    ) -> Product:
        product = Product(product_id, name, sku or f"SKU-{product_id}", price, stock, backorders, parent_id)
        self.products[product_id] = product
        return product

    def _item_product(self, line: dict[str, Any]) -> Product | None:
        return self.products.get(int(line.get("variation_id") or 0)) or self.products.get(
            int(line.get("product_id") or 0)
        )

    def reduce_stock(self, order: dict[str, Any]) -> None:
        """``wc_reduce_stock_levels`` for a paid order: stock down, ``Backordered`` meta where it goes below zero."""
        for line in order.get("line_items") or []:
            product = self._item_product(line)
            if product is None or product.stock_quantity is None:
                continue
            quantity = int(line.get("quantity") or 0)
            before = product.stock_quantity
            product.stock_quantity = before - quantity
            if product.backorders == "notify" and quantity > max(0, before):
                meta = line.setdefault("meta_data", [])
                meta.append(
                    {
                        "id": len(meta) + 9000,
                        "key": BACKORDERED,
                        "value": str(quantity - max(0, before)),
                        "display_key": BACKORDERED,
                        "display_value": str(quantity - max(0, before)),
                    }
                )

    def listed(self, ids: set[int], parent: int | None = None) -> list[dict[str, Any]]:
        found = [p for p in self.products.values() if p.id in ids and (parent is None or p.parent_id == parent)]
        if parent is None:
            found = [p for p in found if p.parent_id == 0]  # ``GET products`` lists no variations
        return [p.rest() for p in sorted(found, key=lambda p: p.id)]

    def apply_line_items(self, order: dict[str, Any], entries: Any, next_id: Any) -> str | None:
        """A ``line_items`` PUT on the order; the error message for a bad entry (nothing is changed then)."""
        if not isinstance(entries, list):
            return "Invalid parameter(s): line_items"
        lines = {int(line["id"]): line for line in order["line_items"]}
        plan: list[tuple[str, Any]] = []
        for entry in entries:
            if not isinstance(entry, dict):
                return "Invalid parameter(s): line_items"
            if entry.get("id") is not None:
                line = lines.get(int(entry["id"]))
                if line is None:
                    return "Order item ID provided is not associated with order."
                if "product_id" in entry and entry["product_id"] is None:
                    plan.append(("remove", line))
                elif isinstance(entry.get("quantity"), int) and entry["quantity"] >= 0:
                    plan.append(("quantity", (line, entry["quantity"])))
                else:
                    return "Invalid parameter(s): line_items"
            else:
                product = self.products.get(int(entry.get("variation_id") or 0) or int(entry.get("product_id") or 0))
                if product is None or not isinstance(entry.get("quantity"), int) or entry["quantity"] < 1:
                    return "Invalid or missing product."
                plan.append(("add", (product, entry)))
        for kind, value in plan:
            if kind == "remove":
                order["line_items"] = [line for line in order["line_items"] if line is not value]
            elif kind == "quantity":
                line, quantity = value
                unit = Decimal(str(line["subtotal"])) / max(1, int(line["quantity"]))
                line.update(quantity=quantity, subtotal=f"{unit * quantity:.2f}", total=f"{unit * quantity:.2f}")
            else:
                product, entry = value
                amount = Decimal(product.price) * entry["quantity"]
                order["line_items"].append(
                    {
                        "id": next_id(),
                        "name": product.name,
                        "product_id": product.parent_id or product.id,
                        "variation_id": product.id if product.parent_id else 0,
                        "quantity": entry["quantity"],
                        "tax_class": "",
                        "subtotal": f"{amount:.2f}",
                        "subtotal_tax": "0.00",
                        "total": f"{amount:.2f}",
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [],
                        "sku": product.sku,
                        "price": float(product.price),
                    }
                )
        # the REST controller recalculates the totals after changing items (``$order->calculate_totals()``)
        lines_total = sum((Decimal(str(line["total"])) for line in order["line_items"]), Decimal("0"))
        order["total"] = f"{lines_total + Decimal(str(order.get('shipping_total') or '0')):.2f}"
        return None
