"""WooCommerce REST v3 order JSON -> the channel-independent ``Order`` (pure: no I/O, no clock).

The body of an ``order.*`` webhook is exactly the REST v3 order, so webhooks and the reconcile poll share
this mapper. ``*_gmt`` timestamps are UTC without an offset; money is a string in the order currency;
unknown plugin statuses are kept raw and mapped to the nearest lifecycle status.

Names that play the same role in the Shopify mapper: ``order_from_rest`` (a webhook body -> ``Order``),
``order_status``, ``channel`` and ``shipment_status``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.address.split import normalise_postcode, split_address
from connector.carriers.names import display_name
from connector.model import (
    Address,
    Channel,
    Customer,
    DeliveryMethod,
    Hold,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Platform,
    Shipment,
    ShipmentStatus,
)
from connector.platforms.base import MalformedPayload, ShopContext

# Statuses of orders that are not real orders yet (block checkout drafts): ignored by the adapter.
DRAFT_STATUSES = frozenset({"checkout-draft", "draft", "auto-draft"})

# Our own order meta (WooCommerce has no order tags; see client.py). The tags are in a key without the
# underscore, so WordPress shows it in the order screen's Custom Fields box and automations (AutomateWoo)
# can match on it; orders tagged before kept them in the hidden ``_ordercare_tags``, still read and moved
# to the new key on the next tag write. The rest is our own state, hidden from staff by the underscore.
TAGS_META = "ordercare_tags"
LEGACY_TAGS_META = "_ordercare_tags"
# "1" while the order's on-hold is ours. WooCommerce leaves meta alone when staff change the status, so
# the client clears it ("0", and who released: HOLD_RELEASED_META) when it reads an order that left on-hold.
HOLD_META = "_ordercare_hold"
HOLD_RELEASED_META = "_ordercare_hold_released"  # "ordercare" or "shop": who ended our last hold
META_PREFIX = "_ordercare_"

STATUSES: dict[str, OrderStatus] = {
    "pending": OrderStatus.PLACED,
    "processing": OrderStatus.PROCESSING,  # paid, stock reduced, awaiting fulfilment
    "on-hold": OrderStatus.ON_HOLD,
    "completed": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
    "failed": OrderStatus.FAILED,
    # statuses registered by tracking and fulfilment plugins (AST, TrackShip, WC local pickup)
    "shipped": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "partial-shipped": OrderStatus.PARTIALLY_SHIPPED,
    "partially-shipped": OrderStatus.PARTIALLY_SHIPPED,
    "ready-to-ship": OrderStatus.PROCESSING,
    "awaiting-shipment": OrderStatus.PROCESSING,
    "packing": OrderStatus.PROCESSING,
    "ready-for-pickup": OrderStatus.SHIPPED,
    "in-transit": OrderStatus.SHIPPED,
}

# WooCommerce sets ``date_paid`` when the payment completes (or staff move the order to processing). Until
# then a bank transfer (``bacs``) or cheque order sits in on-hold and an unfinished online payment in pending,
# with ``date_paid_gmt`` null; cash on delivery goes to processing unpaid and ships first (WooCommerce's
# offline gateways: includes/gateways/{bacs,cheque,cod}; ../shared/platforms/woocommerce-real-2026-12.md).
AWAITING_PAYMENT_STATUSES = frozenset({"pending", "on-hold", "failed", "checkout-draft"})
PAID_ON_DELIVERY_METHODS = frozenset({"cod"})


def payment(raw_status: str, data: Mapping[str, Any]) -> Payment:
    """The payment state: paid once ``date_paid_gmt`` is set; cash on delivery ships first; else it waits."""
    if data.get("date_paid_gmt"):
        return Payment.PAID
    if _text(data.get("payment_method")) in PAID_ON_DELIVERY_METHODS:
        return Payment.ON_DELIVERY
    return Payment.AWAITING if raw_status in AWAITING_PAYMENT_STATUSES else Payment.PAID


CHANNELS: dict[str, Channel] = {
    "checkout": Channel.WEB,
    "store-api": Channel.WEB,  # block checkout
    "admin": Channel.ADMIN,
    "rest-api": Channel.API,
    "pos-rest-api": Channel.POS,
    "pos": Channel.POS,
    "woocommerce-pos": Channel.POS,
}

# TrackShip / AST carrier statuses kept in the ``shipment_status`` order meta
SHIPMENT_STATUSES: dict[str, ShipmentStatus] = {
    "label_created": ShipmentStatus.PENDING,
    "pre_transit": ShipmentStatus.PENDING,
    "pending_trackship": ShipmentStatus.PENDING,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
    "available_for_pickup": ShipmentStatus.READY_FOR_PICKUP,
    "ready_for_pickup": ShipmentStatus.READY_FOR_PICKUP,
    "attempted_delivery": ShipmentStatus.ATTEMPTED_DELIVERY,
    "delivery_attempted": ShipmentStatus.ATTEMPTED_DELIVERY,
    "delayed": ShipmentStatus.DELAYED,
    "exception": ShipmentStatus.FAILURE,
    "failure": ShipmentStatus.FAILURE,
    "return_to_sender": ShipmentStatus.FAILURE,
    "returned": ShipmentStatus.FAILURE,
    "delivered": ShipmentStatus.DELIVERED,
    "cancelled": ShipmentStatus.CANCELLED,
}

LOCALE_META = ("_ordercare_locale", "wpml_language", "_wpml_language", "trp_language", "pll_language", "_locale")
PICKUP_METHODS = ("local_pickup", "pickup_location")


# --- small parsers -------------------------------------------------------------------------------


def parse_gmt(value: Any, field: str) -> datetime | None:
    """A WooCommerce ``*_gmt`` timestamp (no offset, UTC) as an aware datetime; None if empty."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{field}: expected a date string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedPayload(f"{field}: not a date: {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _required_gmt(data: Mapping[str, Any], field: str) -> datetime:
    value = parse_gmt(data.get(field), field)
    if value is None:
        raise MalformedPayload(f"{field}: required")
    return value


def parse_money(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise MalformedPayload(f"{field}: expected an amount, got {value!r}")
    try:
        amount = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise MalformedPayload(f"{field}: not an amount: {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise MalformedPayload(f"{field}: not a finite amount")
    return amount


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def meta_map(meta: Any, field: str = "meta_data") -> dict[str, Any]:
    """``meta_data`` as {key: value}; the last entry of a repeated key wins, as ``get_meta`` does."""
    if meta is None:
        return {}
    if not isinstance(meta, list):
        raise MalformedPayload(f"{field}: expected a list")
    out: dict[str, Any] = {}
    for index, item in enumerate(meta):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise MalformedPayload(f"{field}[{index}].key: expected a string")
        out[item["key"]] = item.get("value")
    return out


def _section(data: Mapping[str, Any], field: str) -> dict[str, Any]:
    value = data.get(field)
    if value is None or value == []:  # PHP encodes an empty array as []
        return {}
    if not isinstance(value, dict):
        raise MalformedPayload(f"{field}: expected an object")
    return value


def order_status(raw: str, data: Mapping[str, Any]) -> OrderStatus:
    """The lifecycle status; an unknown plugin status falls back on what the dates say."""
    known = STATUSES.get(raw)
    if known is not None:
        return known
    if data.get("date_completed_gmt"):
        return OrderStatus.SHIPPED
    if data.get("date_paid_gmt"):
        return OrderStatus.PROCESSING
    return OrderStatus.PLACED


def channel(created_via: str | None) -> Channel:
    if not created_via:
        return Channel.OTHER
    return CHANNELS.get(created_via, Channel.POS if "pos" in created_via.split("-") else Channel.OTHER)


def shipment_status(value: Any) -> ShipmentStatus:
    """A TrackShip / AST carrier status (any case) -> ShipmentStatus; unknown values -> UNKNOWN."""
    if not value:
        return ShipmentStatus.UNKNOWN
    return SHIPMENT_STATUSES.get(str(value).lower(), ShipmentStatus.UNKNOWN)


# --- address -------------------------------------------------------------------------------------

_ADDRESS_KEYS = ("address_1", "address_2", "city", "postcode")


def _has_address(section: Mapping[str, Any]) -> bool:
    return any(_text(section.get(key)) for key in _ADDRESS_KEYS)


def _split_meta(meta: Mapping[str, Any], kind: str) -> tuple[str | None, str | None, str | None] | None:
    """Street, house number and suffix from a split-field checkout plugin, or None if it left none."""
    keys = (f"_{kind}_street_name", f"_{kind}_house_number", f"_{kind}_house_number_suffix")
    if not any(key in meta for key in keys):
        return None
    street, number, suffix = (_text(meta.get(key)) for key in keys)
    if street is None and number is None and suffix is None:
        return None
    return street, number, suffix


def map_address(data: Mapping[str, Any], meta: Mapping[str, Any]) -> tuple[Address | None, str | None]:
    """The shipping address (billing when no shipping address was given) and where its parts came from."""
    shipping, billing = _section(data, "shipping"), _section(data, "billing")
    kind, section = ("shipping", shipping) if _has_address(shipping) else ("billing", billing)
    if not _has_address(section):
        return None, None
    parts = _split_meta(meta, kind)
    if parts is None and kind == "shipping":
        # some plugins keep only the billing parts when the parcel goes to the billing address
        same = all(_text(shipping.get(k)) == _text(billing.get(k)) for k in ("address_1", "postcode"))
        parts = _split_meta(meta, "billing") if same else None
    country = (_text(section.get("country")) or "").upper() or None
    if parts is not None:
        street, number, addition = parts
        source = "split_meta"
    else:
        split = split_address(_text(section.get("address_1")), _text(section.get("address_2")))
        street, number, addition = split.street, split.house_number, split.house_number_addition
        source = "lines"
    address = Address(
        first_name=_text(section.get("first_name")),
        last_name=_text(section.get("last_name")),
        company=_text(section.get("company")),
        address1=_text(section.get("address_1")),
        address2=_text(section.get("address_2")),
        postcode=normalise_postcode(_text(section.get("postcode")), country),
        city=_text(section.get("city")),
        province_code=_text(section.get("state")),
        country_code=country,
        phone=_text(section.get("phone")) or _text(billing.get("phone")),
        street=street,
        house_number=number,
        house_number_addition=addition,
    )
    return address, source


# --- shipments -----------------------------------------------------------------------------------


def _unix(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(str(value).strip()), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return parse_gmt(value, field)


def _indexed(value: Any) -> list[Any]:
    """A PHP array JSON-encoded as a list or as an object with "0", "1"... keys."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 1 << 30)]
    return []


def map_shipments(meta: Mapping[str, Any], order_id: str, updated_at: datetime) -> tuple[Shipment, ...]:
    """Parcels from the Shipment Tracking / AST meta, with the TrackShip carrier status where present."""
    items = _indexed(meta.get("_wc_shipment_tracking_items"))
    statuses = _indexed(meta.get("shipment_status"))
    shipments = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedPayload(f"meta_data._wc_shipment_tracking_items[{index}]: expected an object")
        field = f"meta_data._wc_shipment_tracking_items[{index}]"
        number = _text(item.get("tracking_number"))
        external_id = _text(item.get("tracking_id")) or number or f"{order_id}:{index}"
        tracked = statuses[index] if index < len(statuses) and isinstance(statuses[index], dict) else {}
        status = shipment_status(tracked.get("status"))
        status_at = parse_gmt(tracked.get("status_date"), f"meta_data.shipment_status[{index}].status_date")
        estimate = parse_gmt(tracked.get("est_delivery_date"), f"meta_data.shipment_status[{index}].est_delivery_date")
        shipments.append(
            Shipment(
                external_id=external_id,
                status=status,
                carrier=display_name(
                    _text(item.get("tracking_provider")) or _text(item.get("custom_tracking_provider"))
                ),
                tracking_number=number,
                tracking_url=_text(item.get("custom_tracking_link")) or _text(item.get("tracking_link")),
                shipped_at=_unix(item.get("date_shipped"), f"{field}.date_shipped"),
                estimated_delivery_at=estimate,
                delivered_at=status_at if status is ShipmentStatus.DELIVERED else None,
                updated_at=updated_at,
            )
        )
    return tuple(shipments)


# --- the order -----------------------------------------------------------------------------------


def _lines(data: Mapping[str, Any], currency: str) -> tuple[OrderLine, ...]:
    items = data.get("line_items") or []
    if not isinstance(items, list):
        raise MalformedPayload("line_items: expected a list")
    lines = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item:
            raise MalformedPayload(f"line_items[{index}].id: required")
        quantity = item.get("quantity", 0)
        if isinstance(quantity, bool) or not isinstance(quantity, int | float | Decimal):
            raise MalformedPayload(f"line_items[{index}].quantity: expected a number")
        unit: Decimal | None = None
        if item.get("subtotal") not in (None, "") and quantity:
            unit = parse_money(item["subtotal"], f"line_items[{index}].subtotal") / Decimal(int(quantity))
        elif item.get("price") not in (None, ""):
            unit = parse_money(item["price"], f"line_items[{index}].price")
        product = item.get("variation_id") or item.get("product_id")
        variation = item.get("variation_id")
        backordered = backordered_units(item.get("meta_data"), f"line_items[{index}].meta_data")
        lines.append(
            OrderLine(
                external_id=str(item["id"]),
                title=html.unescape(str(item.get("name") or "")),
                quantity=int(quantity),
                unit_price=Money(unit.quantize(Decimal("0.01")), currency) if unit is not None else None,
                sku=_text(item.get("sku")),
                product_id=str(product) if product else None,
                variant_id=str(variation) if variation else None,
                backordered=min(backordered, int(quantity)) if backordered is not None else None,
                stock_signal="backorder_meta" if backordered else None,
            )
        )
    return tuple(lines)


# When stock goes below zero, WooCommerce adds line item meta named ``__( 'Backordered', 'woocommerce' )``
# (filter ``woocommerce_backordered_item_meta_name``) with the units short: ``$qty - max( 0, $stock )``
# (WC_Order::add_product / wc_reduce_stock_levels). The name is translated with the shop's language when it is
# written; the English name is what a shop in English and the REST API of most shops carry.
BACKORDERED_META = ("Backordered",)


def backordered_units(meta: Any, field: str) -> int | None:
    """The units WooCommerce marked backordered on one line item, or None when it left no such meta."""
    if not isinstance(meta, list):
        return None
    for entry in meta:
        if isinstance(entry, dict) and entry.get("key") in BACKORDERED_META:
            try:
                return max(0, int(Decimal(str(entry.get("value")).strip())))
            except (InvalidOperation, ValueError):
                raise MalformedPayload(f"{field}.Backordered: expected a number of units") from None
    return None


# WooCommerce's product stock status (``instock``, ``outofstock``, ``onbackorder``), read by the client for the
# products of an open order: ``onbackorder`` marks the whole line backordered unless the meta said how many.
ON_BACKORDER = "onbackorder"


def with_stock_statuses(order: Order, statuses: Mapping[str, str]) -> Order:
    """``order`` with lines whose product (or variation) the shop lists as ``onbackorder`` marked backordered;
    ``statuses``: product or variation id -> stock status. Lines the meta already marked keep their count."""
    changed = []
    for line in order.lines:
        status = statuses.get(line.variant_id or "") or statuses.get(line.product_id or "")
        if status is None or line.backordered:
            changed.append(line)
        elif status == ON_BACKORDER:
            changed.append(replace(line, backordered=line.quantity, stock_signal="onbackorder"))
        else:
            changed.append(replace(line, backordered=0, stock_signal=None))
    return order.with_changes(lines=tuple(changed))


def _shipping_method(data: Mapping[str, Any]) -> tuple[str | None, str | None, bool]:
    lines = data.get("shipping_lines") or []
    if not isinstance(lines, list):
        raise MalformedPayload("shipping_lines: expected a list")
    if not lines:
        return None, None, False
    first = lines[0]
    if not isinstance(first, dict):
        raise MalformedPayload("shipping_lines[0]: expected an object")
    code = _text(first.get("method_id"))
    pickup = code is not None and code.split(":")[0] in PICKUP_METHODS
    return _text(first.get("method_title")), code, not pickup


def delivery_method(code: str | None, ships: bool) -> DeliveryMethod:
    """From the first shipping line: a pickup method (``local_pickup``, the block checkout's
    ``pickup_location``) is collected, any other is shipped; no shipping line, nothing to deliver."""
    if ships:
        return DeliveryMethod.SHIPPING
    return DeliveryMethod.PICK_UP if code is not None else DeliveryMethod.NONE


def _locale(meta: Mapping[str, Any]) -> str | None:
    for key in LOCALE_META:
        value = _text(meta.get(key))
        if value:
            return value.replace("-", "_").split("_")[0].lower()
    return None


def _holds(order_id: str, raw_status: str, meta: Mapping[str, Any], updated_at: datetime) -> tuple[Hold, ...]:
    """WooCommerce's one hold: status ``on-hold``; ours when our marker says so. Released otherwise.

    A marker on an order that left on-hold means staff released our hold; the client clears it on its next
    read of the order, so an on-hold staff set afterwards is not taken for ours."""
    ours = str(meta.get(HOLD_META) or "") == "1"
    return (
        Hold(
            external_id=f"{order_id}:on-hold",
            reason=_text(meta.get("_ordercare_hold_reason")) if ours else None,
            handle="ordercare" if ours else None,
            released=raw_status != "on-hold",
            changed_at=updated_at,
        ),
    )


def tag_values(value: Any) -> list[str]:
    """One tags meta value ("a, b", or a list) as its tags."""
    parts = [str(p) for p in value] if isinstance(value, list) else str(value or "").split(",")
    return [p.strip() for p in parts if p.strip()]


def stored_tags(meta: Mapping[str, Any]) -> tuple[str, ...]:
    """Our tags on the order: the visible key's, then any left in the legacy hidden key."""
    return tuple(dict.fromkeys([*tag_values(meta.get(TAGS_META)), *tag_values(meta.get(LEGACY_TAGS_META))]))


def _tags(meta: Mapping[str, Any]) -> tuple[str, ...]:
    return stored_tags(meta)


def order_id_of(data: Any) -> str:
    if not isinstance(data, dict):
        raise MalformedPayload("body: expected a JSON object")
    value = data.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise MalformedPayload(f"id: expected an order id, got {value!r}")
    return str(int(value))


def order_from_rest(data: Mapping[str, Any], shop: ShopContext) -> Order:
    """One REST v3 order as an ``Order`` snapshot, versioned by ``date_modified_gmt``."""
    order_id = order_id_of(data)
    raw_status = data.get("status")
    if not isinstance(raw_status, str) or not raw_status:
        raise MalformedPayload("status: required")
    currency = data.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise MalformedPayload(f"currency: expected a 3-letter code, got {currency!r}")
    currency = currency.upper()
    created_at = _required_gmt(data, "date_created_gmt")
    updated_at = _required_gmt(data, "date_modified_gmt")
    meta = meta_map(data.get("meta_data"))
    billing = _section(data, "billing")
    address, address_source = map_address(data, meta)
    method, method_code, ships = _shipping_method(data)
    status = order_status(raw_status, data)
    customer_id = data.get("customer_id")
    created_via = _text(data.get("created_via"))
    return Order(
        shop_id=shop.shop_id,
        platform=Platform.WOOCOMMERCE,
        external_id=order_id,
        number=_text(data.get("number")) or order_id,
        status=status,
        platform_status=raw_status,
        created_at=created_at,
        updated_at=updated_at,
        channel=channel(created_via),
        source=created_via,
        customer=Customer(
            external_id=str(customer_id) if customer_id else None,
            first_name=_text(billing.get("first_name")),
            last_name=_text(billing.get("last_name")),
            email=_text(billing.get("email")),
            phone=_text(billing.get("phone")),
            locale=_locale(meta),
        ),
        shipping_address=address,
        lines=_lines(data, currency),
        total=Money(parse_money(data.get("total", "0"), "total"), currency),
        shipping_method=method,
        shipping_method_code=method_code,
        requires_shipping=ships,
        delivery_method=delivery_method(method_code, ships),
        shipments=map_shipments(meta, order_id, updated_at),
        holds=_holds(order_id, raw_status, meta, updated_at),
        tags=_tags(meta),
        note=_text(data.get("customer_note")),
        paid_at=parse_gmt(data.get("date_paid_gmt"), "date_paid_gmt"),
        payment=payment(raw_status, data),
        cancelled_at=updated_at if status is OrderStatus.CANCELLED else None,
        extra={
            "address_source": address_source,
            "payment_method": _text(data.get("payment_method")),
            "ordercare_meta": {k: v for k, v in sorted(meta.items()) if k.startswith(META_PREFIX)},
        },
    )
