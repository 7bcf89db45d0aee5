"""Pure: which lines of an order the shop cannot fulfil now, and what the customer may choose instead.

A line is short when the order snapshot says some of its units are backordered (Shopify's stock read, a
WooCommerce "Backordered" meta or an ``onbackorder`` product), or, when only one line ships, when a fulfilment
hold names ``INVENTORY_OUT_OF_STOCK``. The choices: wait until a concrete date (the merchant's date for the
SKU, else ``wait_working_days`` out, then one working day to deliver), an alternative (the merchant's list for
the SKU, then in-stock variants of the same product the platform named), or cancelling the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.calendar import BusinessCalendar
from connector.model import Order, OrderLine, Platform
from connector.policies.config import OutOfStockConfig

OUT_OF_STOCK_HOLD = "INVENTORY_OUT_OF_STOCK"  # Shopify's FulfillmentHoldReason (REST bodies: snake case)
STOCK_ALTERNATIVES = "stock_alternatives"  # Order.extra: line id -> in-stock variants the platform named
_NEEDED = {Platform.SHOPIFY: "variant_id", Platform.WOOCOMMERCE: "product_id"}
SIGNALS_THAT_CLEAR = frozenset({"hold", "inventory", "onbackorder"})  # a "Backordered" meta stays on the line


@dataclass(frozen=True)
class ShortLine:
    """One line the shop cannot fulfil (all or some of its units)."""

    line_id: str
    title: str
    quantity: int
    backordered: int
    signal: str
    sku: str | None = None
    product_id: str | None = None
    variant_id: str | None = None
    unit_price: str | None = None
    currency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "title": self.title,
            "quantity": self.quantity,
            "backordered": self.backordered,
            "signal": self.signal,
            "sku": self.sku,
            "product_id": self.product_id,
            "variant_id": self.variant_id,
            "unit_price": self.unit_price,
            "currency": self.currency,
        }


def held_out_of_stock(order: Order) -> bool:
    return any((h.reason or "").upper() == OUT_OF_STOCK_HOLD for h in order.active_holds)


def _short(line: OrderLine, units: int, signal: str) -> ShortLine:
    price = line.unit_price
    return ShortLine(
        line_id=line.external_id,
        title=line.title,
        quantity=line.quantity,
        backordered=units,
        signal=signal,
        sku=line.sku,
        product_id=line.product_id,
        variant_id=line.variant_id,
        unit_price=str(price.amount) if price is not None else None,
        currency=price.currency if price is not None else None,
    )


def short_lines(order: Order) -> list[ShortLine]:
    """The lines the shop cannot fulfil now, from what the snapshot says (see the module docstring)."""
    shipping = [line for line in order.lines if line.requires_shipping and line.quantity > 0]
    found = [_short(line, min(line.backordered or 0, line.quantity), line.stock_signal or "inventory")
             for line in shipping if (line.backordered or 0) > 0]  # fmt: skip
    if found:
        return found
    if held_out_of_stock(order) and len(shipping) == 1 and shipping[0].backordered is None:
        return [_short(shipping[0], shipping[0].quantity, "hold")]
    return []


def back_in_stock(order: Order, lines: list[dict[str, Any]]) -> bool:
    """Every line an incident named is in stock again by a signal that can say so (not a WooCommerce meta)."""
    if not lines or held_out_of_stock(order):
        return False
    current = {line.external_id: line for line in order.lines}
    for item in lines:
        line = current.get(str(item.get("line_id")))
        if line is None or item.get("signal") not in SIGNALS_THAT_CLEAR or line.backordered != 0:
            return False
    return True


def wait_until(config: OutOfStockConfig, calendar: BusinessCalendar, sku: str | None, today: date) -> date | None:
    """The concrete day the customer has the item if they wait: the merchant's back-in-stock day for the SKU
    (when it lies after today), else ``wait_working_days`` working days out; one working day to deliver.
    None: the merchant names no day and offers no waiting without one."""
    back = config.back_on(sku)
    if back is None or back <= today:
        if config.wait_working_days <= 0:
            return None
        back = calendar.add_working_days_to_date(today, config.wait_working_days)
    return calendar.add_working_days_to_date(back, 1)


def alternatives(order: Order, line: ShortLine, config: OutOfStockConfig) -> list[dict[str, Any]]:
    """What the customer may take instead: the merchant's list for the SKU first, then (``offer_other_variants``)
    in-stock variants of the same product; each {key, title, variant_id, product_id}, at most
    ``max_alternatives``, never the item itself."""
    found: list[dict[str, Any]] = []
    for listed in config.alternatives_for(line.sku):
        found.append({"title": listed.title, "variant_id": listed.variant_id, "product_id": listed.product_id})
    if config.offer_other_variants:
        named = order.extra.get(STOCK_ALTERNATIVES) or {}
        for other in named.get(line.line_id) or [] if isinstance(named, dict) else []:
            if isinstance(other, dict) and other.get("variant_id") and other.get("title"):
                found.append({"title": str(other["title"]), "variant_id": str(other["variant_id"]),
                              "product_id": line.product_id})  # fmt: skip
    unique: list[dict[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    for candidate in found:
        key = (candidate.get("variant_id"), None if candidate.get("variant_id") else candidate.get("product_id"))
        if key in seen or (candidate.get("variant_id") and candidate.get("variant_id") == line.variant_id):
            continue
        if not candidate.get(_NEEDED[order.platform]):
            continue  # the platform cannot add it: Shopify adds a variant, WooCommerce a product
        seen.add(key)
        unique.append({**candidate, "key": f"alt{len(unique) + 1}"})
    return unique[: config.max_alternatives]
