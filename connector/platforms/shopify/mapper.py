"""Shopify JSON to the order model (pure: JSON in, frozen objects out; no I/O, no clock).

Two shapes reach us: the REST resource JSON of webhook bodies (snake_case, timestamps with the shop's
offset, numeric ids) and the GraphQL ``orders`` query used by the reconcile job (camelCase, UTC, GIDs).
Both end in the same ``Order``. Ids are kept as strings and never pass through a float: the numeric
tail of ``admin_graphql_api_id`` wins over ``id``.

Names that play the same role in the WooCommerce mapper: ``order_from_rest`` (a webhook body -> ``Order``),
``order_status``, ``channel`` and ``shipment_status``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
    CustomerRef,
    DeliveryMethod,
    Hold,
    HoldCheck,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Platform,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
)
from connector.platforms.base import MalformedPayload, ShopContext

OUR_HOLD_HANDLE = "ordercare"

Json = Mapping[str, Any]


# --- small parsers ---------------------------------------------------------------------------------


def gid_tail(value: str) -> str:
    """``gid://shopify/Order/123`` -> ``123`` (query strings such as ``?foo`` are dropped)."""
    return value.rsplit("/", 1)[-1].split("?", 1)[0]


def to_gid(kind: str, external_id: str) -> str:
    return external_id if external_id.startswith("gid://") else f"gid://shopify/{kind}/{external_id}"


def _id_text(value: Any, field: str) -> str:
    if isinstance(value, bool) or value is None:
        raise MalformedPayload(f"{field}: expected an id, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return gid_tail(text) if text.startswith("gid://") else text
    raise MalformedPayload(f"{field}: expected an integer or string id, got {type(value).__name__}")


def external_id(data: Json, field: str) -> str:
    """The resource id as a string, from ``admin_graphql_api_id`` when present (exact), else ``id``."""
    gid = data.get("admin_graphql_api_id")
    if isinstance(gid, str) and gid.startswith("gid://"):
        return gid_tail(gid)
    if "id" not in data:
        raise MalformedPayload(f"{field}.id: required field is missing")
    return _id_text(data["id"], f"{field}.id")


def parse_time(value: Any, field: str) -> datetime:
    """ISO 8601 with an offset (REST) or ``Z`` (GraphQL) -> aware UTC."""
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{field}: expected an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise MalformedPayload(f"{field}: not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise MalformedPayload(f"{field}: timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def optional_time(value: Any, field: str) -> datetime | None:
    return None if value in (None, "") else parse_time(value, field)


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise MalformedPayload(f"{field}: money must be a decimal string, got {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MalformedPayload(f"{field}: not a decimal amount: {value!r}") from None


def _money(amount: Any, currency: Any, field: str) -> Money | None:
    if amount in (None, "") or not isinstance(currency, str) or len(currency) != 3:
        return None
    return Money(_decimal(amount, field), currency.upper())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _require(data: Json, key: str, field: str) -> Any:
    if key not in data or data[key] is None:
        raise MalformedPayload(f"{field}.{key}: required field is missing")
    return data[key]


def _mapping(value: Any, field: str) -> Json:
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{field}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{field}: expected a list, got {type(value).__name__}")
    return value


def split_tags(value: Any) -> tuple[str, ...]:
    """Shopify sends tags as one ``"a, b"`` string (REST) or a list (GraphQL)."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    seen: dict[str, None] = {}
    for item in items:
        tag = str(item).strip()
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


# --- status --------------------------------------------------------------------------------------

_SHIPMENT_STATUS: dict[str, ShipmentStatus] = {
    "label_printed": ShipmentStatus.PENDING,
    "label_purchased": ShipmentStatus.PENDING,
    "confirmed": ShipmentStatus.PENDING,
    "carrier_picked_up": ShipmentStatus.IN_TRANSIT,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
    "ready_for_pickup": ShipmentStatus.READY_FOR_PICKUP,
    "attempted_delivery": ShipmentStatus.ATTEMPTED_DELIVERY,
    "delayed": ShipmentStatus.DELAYED,
    "delivered": ShipmentStatus.DELIVERED,
    "failure": ShipmentStatus.FAILURE,
}


def shipment_status(value: Any) -> ShipmentStatus:
    """``in_transit`` (REST) or ``IN_TRANSIT`` (GraphQL) -> ShipmentStatus; unknown values -> UNKNOWN."""
    if not value:
        return ShipmentStatus.UNKNOWN
    return _SHIPMENT_STATUS.get(str(value).lower(), ShipmentStatus.UNKNOWN)


_FINANCIAL_FINAL: dict[str, OrderStatus] = {
    "refunded": OrderStatus.REFUNDED,
    "voided": OrderStatus.CANCELLED,
    "expired": OrderStatus.FAILED,
}
_PAID = frozenset({"paid", "partially_refunded"})
# Shopify's financial statuses (REST ``financial_status``, GraphQL ``displayFinancialStatus``): "authorized"
# is a card payment captured at fulfilment, so the order ships as paid; "pending" (manual payment, bank
# transfer) and "partially_paid" wait for money. Source: the 2026-10 schema's OrderDisplayFinancialStatus.
_PAYMENT: dict[str, Payment] = {
    "paid": Payment.PAID,
    "partially_refunded": Payment.PAID,
    "refunded": Payment.PAID,
    "authorized": Payment.ON_DELIVERY,
}


def payment(financial: str | None) -> Payment:
    """The payment state of a financial status; anything not listed (pending, partially_paid, voided) awaits it."""
    return _PAYMENT.get((financial or "pending").lower(), Payment.AWAITING)


_FULFILMENT: dict[str, OrderStatus] = {
    "fulfilled": OrderStatus.SHIPPED,
    "partial": OrderStatus.PARTIALLY_SHIPPED,
    "partially_fulfilled": OrderStatus.PARTIALLY_SHIPPED,
    "restocked": OrderStatus.CANCELLED,
    "on_hold": OrderStatus.ON_HOLD,
    "in_progress": OrderStatus.PROCESSING,
}


def order_status(financial: str | None, fulfilment: str | None, cancelled: bool) -> tuple[OrderStatus, str]:
    """One lifecycle status and the raw ``financial/fulfilment[/cancelled]`` text kept beside it.

    ``fulfilment`` None means unfulfilled (that is how REST says it).
    """
    fin = (financial or "pending").lower()
    ful = (fulfilment or "unfulfilled").lower()
    raw = f"{fin}/{ful}" + ("/cancelled" if cancelled else "")
    if cancelled:
        return OrderStatus.CANCELLED, raw
    if fin in _FINANCIAL_FINAL:
        return _FINANCIAL_FINAL[fin], raw
    if ful in _FULFILMENT:
        return _FULFILMENT[ful], raw
    # an authorised card is captured at fulfilment: the order is ready to ship as a paid one
    return (OrderStatus.PAID if fin in _PAID or fin == "authorized" else OrderStatus.PLACED), raw


_CHANNELS: dict[str, Channel] = {
    "web": Channel.WEB,
    "checkout_next": Channel.WEB,
    "shop": Channel.WEB,
    "pos": Channel.POS,
    "shopify_draft_order": Channel.ADMIN,
    "iphone": Channel.ADMIN,
    "android": Channel.ADMIN,
    "api": Channel.API,
    "amazon": Channel.MARKETPLACE,
    "ebay": Channel.MARKETPLACE,
    "bol": Channel.MARKETPLACE,
    "bol.com": Channel.MARKETPLACE,
}


def channel(source_name: Any) -> Channel:
    """``source_name``: known names map directly; an app's numeric id means an API order."""
    if not source_name:
        return Channel.WEB
    name = str(source_name).strip().lower()
    if name.isdigit():
        return Channel.API
    return _CHANNELS.get(name, Channel.OTHER)


# --- REST parts ----------------------------------------------------------------------------------


def rest_address(data: Any, field: str) -> Address | None:
    if data is None:
        return None
    data = _mapping(data, field)
    address1, address2 = _text(data.get("address1")), _text(data.get("address2"))
    country = _text(data.get("country_code"))
    country = country.upper() if country else None
    parts = split_address(address1, address2)
    return Address(
        first_name=_text(data.get("first_name")),
        last_name=_text(data.get("last_name")),
        company=_text(data.get("company")),
        address1=address1,
        address2=address2,
        postcode=normalise_postcode(_text(data.get("zip")), country),
        city=_text(data.get("city")),
        province_code=_text(data.get("province_code")),
        country_code=country,
        phone=_text(data.get("phone")),
        street=parts.street,
        house_number=parts.house_number,
        house_number_addition=parts.house_number_addition,
    )


def _marketing(data: Json) -> bool | None:
    customer = data.get("customer") or {}
    consent = customer.get("email_marketing_consent") if isinstance(customer, Mapping) else None
    if isinstance(consent, Mapping) and consent.get("state"):
        return str(consent["state"]).lower() == "subscribed"
    for source in (customer, data):
        value = source.get("accepts_marketing") if isinstance(source, Mapping) else None
        if isinstance(value, bool):
            return value
    value = data.get("buyer_accepts_marketing")
    return value if isinstance(value, bool) else None


def rest_customer(data: Json) -> Customer:
    raw = data.get("customer")
    customer = _mapping(raw, "customer") if raw is not None else {}
    shipping_raw, billing_raw = data.get("shipping_address"), data.get("billing_address")
    shipping: Mapping[str, Any] = shipping_raw if isinstance(shipping_raw, Mapping) else {}
    billing: Mapping[str, Any] = billing_raw if isinstance(billing_raw, Mapping) else {}
    return Customer(
        external_id=external_id(customer, "customer")
        if customer.get("id") or customer.get("admin_graphql_api_id")
        else None,
        first_name=_text(customer.get("first_name"))
        or _text(shipping.get("first_name"))
        or _text(billing.get("first_name")),
        last_name=_text(customer.get("last_name"))
        or _text(shipping.get("last_name"))
        or _text(billing.get("last_name")),
        email=_text(data.get("email")) or _text(data.get("contact_email")) or _text(customer.get("email")),
        phone=_text(data.get("phone")) or _text(customer.get("phone")) or _text(shipping.get("phone")),
        locale=_text(data.get("customer_locale")),
        accepts_marketing=_marketing(data),
    )


def rest_line(data: Any, currency: str | None, index: int) -> OrderLine:
    field = f"line_items[{index}]"
    line = _mapping(data, field)
    product = line.get("product_id")
    return OrderLine(
        external_id=external_id(line, field),
        title=_text(line.get("name")) or _text(line.get("title")) or "",
        quantity=int(line.get("current_quantity", line.get("quantity")) or 0),
        unit_price=_money(line.get("price"), currency, f"{field}.price"),
        sku=_text(line.get("sku")),
        product_id=_id_text(product, f"{field}.product_id") if product not in (None, "") else None,
        requires_shipping=bool(line.get("requires_shipping", True)),
        variant_id=_id_text(variant, f"{field}.variant_id") if (variant := line.get("variant_id")) else None,
    )


def rest_shipment(data: Any, field: str = "fulfillment") -> Shipment:
    """A REST fulfillment (in ``order.fulfillments[]`` or a ``fulfillments/*`` body) -> Shipment."""
    item = _mapping(data, field)
    status = str(item.get("status") or "").lower()
    carrier_status = shipment_status(item.get("shipment_status"))
    if carrier_status is ShipmentStatus.UNKNOWN:
        carrier_status = ShipmentStatus.FAILURE if status in ("error", "failure") else ShipmentStatus.PENDING
    numbers = [n for n in _list(item.get("tracking_numbers"), f"{field}.tracking_numbers") if n]
    urls = [u for u in _list(item.get("tracking_urls"), f"{field}.tracking_urls") if u]
    updated = optional_time(item.get("updated_at"), f"{field}.updated_at")
    return Shipment(
        external_id=external_id(item, field),
        status=carrier_status,
        carrier=display_name(_text(item.get("tracking_company"))),
        tracking_number=_text(item.get("tracking_number")) or (str(numbers[0]) if numbers else None),
        tracking_url=_text(item.get("tracking_url")) or (str(urls[0]) if urls else None),
        shipped_at=optional_time(item.get("created_at"), f"{field}.created_at"),
        delivered_at=updated if carrier_status is ShipmentStatus.DELIVERED else None,
        updated_at=updated,
        cancelled=status == "cancelled",
    )


def _shipping_line(data: Json) -> tuple[str | None, str | None]:
    for index, line in enumerate(_list(data.get("shipping_lines"), "shipping_lines")):
        line = _mapping(line, f"shipping_lines[{index}]")
        if not line.get("is_removed"):
            return _text(line.get("title")), _text(line.get("code"))
    return None, None


def _attributes(items: Any, name_key: str, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for index, item in enumerate(_list(items, field)):
        item = _mapping(item, f"{field}[{index}]")
        if item.get(name_key) is not None:
            out[str(item[name_key])] = "" if item.get("value") is None else str(item["value"])
    return out


def _rest_delivery_method(lines: tuple[OrderLine, ...]) -> DeliveryMethod:
    """A REST body cannot tell pickup from delivery: a pickup order's lines still say ``requires_shipping`` and
    its shipping line looks like any other (only ``FulfillmentOrder.deliveryMethod`` tells them apart). It
    can tell an order with nothing to ship."""
    if lines and not any(line.requires_shipping for line in lines):
        return DeliveryMethod.NONE
    return DeliveryMethod.UNKNOWN


def order_from_rest(data: Any, shop: ShopContext) -> Order:
    """A REST order (the body of every ``orders/*`` webhook) -> Order."""
    data = _mapping(data, "order")
    oid = external_id(data, "order")
    currency = _text(data.get("currency"))
    cancelled_at = optional_time(data.get("cancelled_at"), "order.cancelled_at")
    status, raw_status = order_status(
        data.get("financial_status"), data.get("fulfillment_status"), cancelled_at is not None
    )
    created = parse_time(_require(data, "created_at", "order"), "order.created_at")
    updated = parse_time(data.get("updated_at") or data["created_at"], "order.updated_at")
    lines = tuple(rest_line(item, currency, i) for i, item in enumerate(_list(data.get("line_items"), "line_items")))
    method, code = _shipping_line(data)
    paid = str(data.get("financial_status") or "").lower() in _PAID
    return Order(
        shop_id=shop.shop_id,
        platform=Platform.SHOPIFY,
        external_id=oid,
        number=_text(data.get("name")) or f"#{data.get('order_number') or oid}",
        status=status,
        platform_status=raw_status,
        created_at=created,
        updated_at=updated,
        channel=channel(data.get("source_name")),
        source=_text(data.get("source_name")),
        customer=rest_customer(data),
        shipping_address=rest_address(data.get("shipping_address"), "shipping_address"),
        lines=lines,
        total=_money(data.get("total_price"), currency, "order.total_price"),
        shipping_method=method,
        shipping_method_code=code,
        requires_shipping=any(line.requires_shipping for line in lines) if lines else True,
        delivery_method=_rest_delivery_method(lines),
        shipments=tuple(
            rest_shipment(item, f"fulfillments[{i}]")
            for i, item in enumerate(_list(data.get("fulfillments"), "fulfillments"))
        ),
        tags=split_tags(data.get("tags")),
        note=_text(data.get("note")),
        # REST orders carry no payment time; processing is when a checkout's payment is taken
        paid_at=optional_time(data.get("processed_at"), "order.processed_at") if paid else None,
        payment=payment(data.get("financial_status")),
        cancelled_at=cancelled_at,
        test=bool(data.get("test")),
        extra={"attributes": _attributes(data.get("note_attributes"), "name", "note_attributes")},
    )


def shipment_event_from_rest(data: Any) -> tuple[str, str, ShipmentEvent]:
    """A ``fulfillment_events/create`` body -> (order id, fulfilment id, ShipmentEvent)."""
    data = _mapping(data, "fulfillment_event")
    order_id = _id_text(_require(data, "order_id", "fulfillment_event"), "fulfillment_event.order_id")
    shipment_id = _id_text(_require(data, "fulfillment_id", "fulfillment_event"), "fulfillment_event.fulfillment_id")
    happened = data.get("happened_at") or data.get("created_at")
    country = _text(data.get("country"))
    event = ShipmentEvent(
        external_id=external_id(data, "fulfillment_event"),
        status=shipment_status(_require(data, "status", "fulfillment_event")),
        happened_at=parse_time(happened, "fulfillment_event.happened_at"),
        message=_text(data.get("message")),
        estimated_delivery_at=optional_time(
            data.get("estimated_delivery_at"), "fulfillment_event.estimated_delivery_at"
        ),
        city=_text(data.get("city")),
        country_code=country.upper() if country and len(country) == 2 else None,
    )
    return order_id, shipment_id, event


def shipment_from_rest(data: Any) -> tuple[str, Shipment]:
    """A ``fulfillments/create|update`` body -> (order id, Shipment)."""
    data = _mapping(data, "fulfillment")
    order_id = _id_text(_require(data, "order_id", "fulfillment"), "fulfillment.order_id")
    return order_id, rest_shipment(data)


def _hold(data: Any, fo_id: str | None, changed_at: datetime, released: bool, field: str) -> Hold:
    hold = _mapping(data, field)
    handle = _text(hold.get("handle"))
    # a handle is unique only per app and fulfilment order ("the same handle can be re-used ... by different
    # apps": FulfillmentOrderHoldInput.handle): our handle on another app's hold is not ours
    if handle == OUR_HOLD_HANDLE and (hold.get("heldByRequestingApp", hold.get("held_by_requesting_app")) is False):
        handle = None
    return Hold(
        external_id=_id_text(_require(hold, "id", field), f"{field}.id"),
        reason=_text(hold.get("reason")),
        handle=handle,
        fulfillment_order_id=fo_id,
        released=released,
        changed_at=changed_at,
    )


def _fo_order_id(fo: Json) -> str | None:
    value = fo.get("order_id")
    return _id_text(value, "fulfillment_order.order_id") if value not in (None, "") else None


def hold_placed_from_rest(data: Any, changed_at: datetime) -> tuple[str | None, Hold]:
    """A ``fulfillment_orders/placed_on_hold`` body -> (order id if the body names it, the new Hold)."""
    data = _mapping(data, "body")
    fo = _mapping(_require(data, "fulfillment_order", "body"), "fulfillment_order")
    fo_id = _id_text(_require(fo, "id", "fulfillment_order"), "fulfillment_order.id")
    created = data.get("created_fulfillment_hold")
    if created is None:
        holds = _list(fo.get("fulfillment_holds"), "fulfillment_order.fulfillment_holds")
        if not holds:
            raise MalformedPayload("created_fulfillment_hold: required field is missing")
        created = holds[-1]
    return _fo_order_id(fo), _hold(created, fo_id, changed_at, False, "created_fulfillment_hold")


def holds_released_from_rest(data: Any, changed_at: datetime) -> tuple[str | None, str, tuple[Hold, ...]]:
    """A ``fulfillment_orders/hold_released`` body -> (order id if named, fulfilment order id, released holds).

    Shopify names only the fulfilment order; the holds it lists (``released_fulfillment_holds`` or, on
    older versions, ``fulfillment_holds``) are the ones released.
    """
    data = _mapping(data, "body")
    fo = _mapping(_require(data, "fulfillment_order", "body"), "fulfillment_order")
    fo_id = _id_text(_require(fo, "id", "fulfillment_order"), "fulfillment_order.id")
    items = data.get("released_fulfillment_holds") or fo.get("fulfillment_holds") or []
    holds = tuple(
        _hold(item, fo_id, changed_at, True, f"released_fulfillment_holds[{i}]")
        for i, item in enumerate(_list(items, "released_fulfillment_holds"))
    )
    return _fo_order_id(fo), fo_id, holds


def customer_ref(data: Any, orders_key: str) -> CustomerRef:
    """The compliance bodies (``customers/redact``, ``customers/data_request``) -> CustomerRef."""
    data = _mapping(data, "body")
    customer = _mapping(_require(data, "customer", "body"), "customer")
    cid = customer.get("id")
    request = data.get("data_request")
    return CustomerRef(
        external_id=_id_text(cid, "customer.id") if cid not in (None, "") else None,
        email=_text(customer.get("email")),
        phone=_text(customer.get("phone")),
        order_ids=tuple(_id_text(o, f"{orders_key}[]") for o in _list(data.get(orders_key), orders_key)),
        request_id=_id_text(request["id"], "data_request.id")
        if isinstance(request, Mapping) and request.get("id") not in (None, "")
        else None,
    )


# --- GraphQL (reconcile) -------------------------------------------------------------------------


def _nodes(value: Any, field: str) -> list[Any]:
    """A connection's ``nodes`` (or ``edges[].node``), or a plain list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    value = _mapping(value, field)
    if "nodes" in value:
        return _list(value["nodes"], f"{field}.nodes")
    return [_mapping(e, f"{field}.edges[]")["node"] for e in _list(value.get("edges"), f"{field}.edges")]


def _gql_money(value: Any, field: str) -> Money | None:
    if not isinstance(value, Mapping):
        return None
    money = value.get("shopMoney") or value
    return _money(money.get("amount"), money.get("currencyCode"), field)


def gql_address(data: Any) -> Address | None:
    if data is None:
        return None
    data = _mapping(data, "shippingAddress")
    country = _text(data.get("countryCodeV2") or data.get("countryCode"))
    country = country.upper() if country else None
    return rest_address(
        {
            "first_name": data.get("firstName"),
            "last_name": data.get("lastName"),
            "company": data.get("company"),
            "address1": data.get("address1"),
            "address2": data.get("address2"),
            "zip": data.get("zip"),
            "city": data.get("city"),
            "province_code": data.get("provinceCode"),
            "country_code": country,
            "phone": data.get("phone"),
        },
        "shippingAddress",
    )


def _gql_shipment(data: Any, index: int) -> Shipment:
    field = f"fulfillments[{index}]"
    item = _mapping(data, field)
    status = str(item.get("status") or "").lower()
    display = str(item.get("displayStatus") or "").lower()
    carrier_status = shipment_status(display) if display else ShipmentStatus.UNKNOWN
    if carrier_status is ShipmentStatus.UNKNOWN:
        carrier_status = ShipmentStatus.FAILURE if status in ("error", "failure") else ShipmentStatus.PENDING
    tracking = _list(item.get("trackingInfo"), f"{field}.trackingInfo")
    first = _mapping(tracking[0], f"{field}.trackingInfo[0]") if tracking else {}
    events = tuple(
        ShipmentEvent(
            external_id=_id_text(ev.get("id"), f"{field}.events.id"),
            status=shipment_status(ev.get("status")),
            happened_at=parse_time(ev.get("happenedAt"), f"{field}.events.happenedAt"),
            message=_text(ev.get("message")),
            estimated_delivery_at=optional_time(ev.get("estimatedDeliveryAt"), f"{field}.events.estimatedDeliveryAt"),
            city=_text(ev.get("city")),
            country_code=_text(ev.get("country")),
        )
        for ev in (_mapping(e, f"{field}.events[]") for e in _nodes(item.get("events"), f"{field}.events"))
    )
    return Shipment(
        external_id=_id_text(_require(item, "id", field), f"{field}.id"),
        status=carrier_status,
        carrier=display_name(_text(first.get("company"))),
        tracking_number=_text(first.get("number")),
        tracking_url=_text(first.get("url")),
        shipped_at=optional_time(item.get("createdAt"), f"{field}.createdAt"),
        estimated_delivery_at=optional_time(item.get("estimatedDeliveryAt"), f"{field}.estimatedDeliveryAt"),
        delivered_at=optional_time(item.get("deliveredAt"), f"{field}.deliveredAt"),
        updated_at=optional_time(item.get("updatedAt"), f"{field}.updatedAt"),
        cancelled=status == "cancelled",
        events=tuple(sorted(events, key=lambda e: (e.happened_at, e.external_id))),
    )


def _gql_hold_check(data: Json, changed_at: datetime, holds: tuple[Hold, ...]) -> HoldCheck | None:
    """Every current hold, when the read listed all fulfilment orders (a released hold then drops out)."""
    connection = data.get("fulfillmentOrders")
    page = connection.get("pageInfo") if isinstance(connection, Mapping) else None
    if not isinstance(page, Mapping) or page.get("hasNextPage") is not False:
        return None
    return HoldCheck(at=changed_at, ids=tuple(h.external_id for h in holds))


def _gql_holds(data: Json, changed_at: datetime) -> tuple[Hold, ...]:
    holds: list[Hold] = []
    for fo in _nodes(data.get("fulfillmentOrders"), "fulfillmentOrders"):
        fo = _mapping(fo, "fulfillmentOrders[]")
        fo_id = _id_text(_require(fo, "id", "fulfillmentOrders[]"), "fulfillmentOrders[].id")
        for hold in _list(fo.get("fulfillmentHolds"), "fulfillmentOrders[].fulfillmentHolds"):
            holds.append(_hold(hold, fo_id, changed_at, False, "fulfillmentHolds[]"))
    return tuple(sorted(holds, key=lambda h: h.external_id))


# the 2026-10 schema's DeliveryMethodType; an order with several fulfilment orders takes the first of this
# list that any of them has (one parcel among pickups is still a delivery)
_DELIVERY_METHODS: dict[str, DeliveryMethod] = {
    "SHIPPING": DeliveryMethod.SHIPPING,
    "PICKUP_POINT": DeliveryMethod.PICKUP_POINT,
    "LOCAL": DeliveryMethod.LOCAL,
    "PICK_UP": DeliveryMethod.PICK_UP,
    "RETAIL": DeliveryMethod.RETAIL,
    "NONE": DeliveryMethod.NONE,
}
_METHOD_RANK = tuple(_DELIVERY_METHODS.values())


def delivery_method(fulfillment_orders: list[Any]) -> DeliveryMethod:
    """The order's delivery method from its fulfilment orders' ``deliveryMethod.methodType``."""
    found: set[DeliveryMethod] = set()
    for fo in fulfillment_orders:
        method = _mapping(fo, "fulfillmentOrders[]").get("deliveryMethod")
        if isinstance(method, Mapping):
            found.add(_DELIVERY_METHODS.get(str(method.get("methodType") or "").upper(), DeliveryMethod.UNKNOWN))
    return next((m for m in _METHOD_RANK if m in found), DeliveryMethod.UNKNOWN)


_GQL_FULFILMENT = {
    "unfulfilled": None,
    "fulfilled": "fulfilled",
    "partially_fulfilled": "partial",
    "restocked": "restocked",
    "on_hold": "on_hold",
    "in_progress": "in_progress",
}


# Fields Shopify may deny on an order read (paths below the order node, list levels left out), and the
# Order fields they leave unknown when nothing else gave them.
_DENIED_FIELDS: dict[str, str] = {
    "customer": "customer",
    "email": "customer.email",
    "customer.email": "customer.email",
    "phone": "customer.phone",
    "customer.phone": "customer.phone",
    "customer.firstName": "customer.first_name",
    "customer.lastName": "customer.last_name",
    "customer.emailMarketingConsent": "customer.accepts_marketing",
    "shippingAddress.firstName": "shipping_address.first_name",
    "shippingAddress.lastName": "shipping_address.last_name",
    "shippingAddress.phone": "shipping_address.phone",
    "shippingAddress": "shipping_address",
    "lineItems.product": "lines.product_id",
    "fulfillmentOrders": "holds",
}
UNKNOWN_KEY = "unknown"  # Order.extra: the fields Shopify denied on this read (``Order`` attribute paths)


def unknown_fields(denied: Iterable[str], order: Order) -> list[str]:
    """The Order fields a read's denials leave unknown: denied and not given by another field of the read.

    ``denied`` are paths below the order node (``customer``, ``email``, ``shippingAddress.phone``).
    """
    fields: set[str] = set()
    for path in denied:
        name = _DENIED_FIELDS.get(path) or next(
            (f for p, f in _DENIED_FIELDS.items() if path.startswith(p + ".")), f"graphql:{path}"
        )
        fields.add(name)
    given = {
        "customer.email": order.customer.email,
        "customer.phone": order.customer.phone,
        "customer.first_name": order.customer.first_name,
        "customer.last_name": order.customer.last_name,
        "customer.accepts_marketing": order.customer.accepts_marketing,
        **{
            f"shipping_address.{name}": getattr(order.shipping_address, name) if order.shipping_address else None
            for name in ("first_name", "last_name", "phone")
        },
    }
    if "customer" in fields:
        fields -= set(given)
    return sorted(f for f in fields if given.get(f) is None)


def _gql_marketing(data: Json, customer: Json) -> bool | None:
    """As ``_marketing`` reads the REST body: the customer's e-mail consent, else what the buyer ticked."""
    consent = customer.get("emailMarketingConsent")
    if isinstance(consent, Mapping) and consent.get("marketingState"):
        return str(consent["marketingState"]).upper() == "SUBSCRIBED"
    value = data.get("customerAcceptsMarketing")
    return value if isinstance(value, bool) else None


def _gql_product(item: Json) -> str | None:
    product = item.get("product")
    if isinstance(product, Mapping) and product.get("id") not in (None, ""):
        return _id_text(product["id"], "lineItems[].product.id")
    return None


def _gql_variant(item: Json) -> str | None:
    variant = item.get("variant")
    if isinstance(variant, Mapping) and variant.get("id") not in (None, ""):
        return gid_tail(_id_text(variant["id"], "lineItems[].variant.id"))
    return None


# --- stock (the ``OrderStock`` read) ------------------------------------------------------------------

# FulfillmentHoldReason (2026-10 schema): "The fulfillment hold is applied because inventory is out of stock";
# REST hold bodies write it in snake case ("inventory_out_of_stock", Shopify's placed_on_hold sample body)
OUT_OF_STOCK_HOLD = "INVENTORY_OUT_OF_STOCK"
_CLOSED_FO = frozenset({"CLOSED", "CANCELLED", "INCOMPLETE"})


def out_of_stock_hold(reason: str | None) -> bool:
    return (reason or "").upper() == OUT_OF_STOCK_HOLD


def needs_stock_read(node: Any) -> bool:
    """Whether a node of the orders read hints at a line the shop cannot fulfil: a fulfilment order held
    because inventory is out of stock, or a variant whose sellable quantity (all locations) is below zero."""
    if not isinstance(node, Mapping) or node.get("cancelledAt"):
        return False
    connection = node.get("fulfillmentOrders")
    for fo in _nodes(connection, "fulfillmentOrders") if isinstance(connection, Mapping | list) else ():
        holds = fo.get("fulfillmentHolds") or () if isinstance(fo, Mapping) else ()
        if any(isinstance(h, Mapping) and out_of_stock_hold(_text(h.get("reason"))) for h in holds):
            return True
    lines = node.get("lineItems")
    for item in _nodes(lines, "lineItems") if isinstance(lines, Mapping | list) else ():
        variant = item.get("variant") if isinstance(item, Mapping) else None
        quantity = variant.get("inventoryQuantity") if isinstance(variant, Mapping) else None
        if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity < 0:
            return True
    return False


def _available_at(variant: Any, location: str | None) -> int | None:
    """The ``available`` quantity of a tracked variant at ``location``; None when untracked or not stocked there."""
    if not isinstance(variant, Mapping) or location is None:
        return None
    item = variant.get("inventoryItem")
    if not isinstance(item, Mapping) or item.get("tracked") is False:
        return None
    for level in _nodes(item.get("inventoryLevels"), "inventoryItem.inventoryLevels"):
        where = level.get("location") if isinstance(level, Mapping) else None
        if not isinstance(where, Mapping) or where.get("id") != location:
            continue
        for quantity in _list(level.get("quantities"), "inventoryLevels[].quantities"):
            if isinstance(quantity, Mapping) and quantity.get("name") == "available":
                value = quantity.get("quantity")
                return int(value) if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def stock_from_graphql(order: Order, data: Any) -> Order:
    """``order`` with each line's ``backordered`` from the ``OrderStock`` read (documents.DOCUMENTS).

    Per open fulfilment order: a hold with reason ``INVENTORY_OUT_OF_STOCK`` makes its remaining units
    backordered ("hold"); otherwise a tracked variant whose ``available`` quantity at the fulfilment order's
    assigned location is below zero after the order is short by that much, at most the remaining units
    ("inventory"). Lines the read lists and finds in stock get 0; lines it does not list keep what they had.
    """
    data = _mapping(data, "order")
    short: dict[str, tuple[int, str]] = {}
    others: dict[str, list[dict[str, Any]]] = {}
    for fo in (_mapping(f, "fulfillmentOrders[]") for f in _nodes(data.get("fulfillmentOrders"), "fulfillmentOrders")):
        if str(fo.get("status") or "").upper() in _CLOSED_FO:
            continue
        held = any(
            out_of_stock_hold(_text(_mapping(h, "fulfillmentHolds[]").get("reason")))
            for h in _list(fo.get("fulfillmentHolds"), "fulfillmentOrders[].fulfillmentHolds")
        )
        assigned = fo.get("assignedLocation")
        where = assigned.get("location") if isinstance(assigned, Mapping) else None
        location = str(where["id"]) if isinstance(where, Mapping) and where.get("id") else None
        for item in (_mapping(i, "lineItems[]") for i in _nodes(fo.get("lineItems"), "fulfillmentOrders[].lineItems")):
            line = item.get("lineItem")
            if not isinstance(line, Mapping) or not line.get("id"):
                continue
            line_id = gid_tail(_id_text(line["id"], "lineItems[].lineItem.id"))
            remaining = item.get("remainingQuantity")
            remaining = remaining if isinstance(remaining, int) and not isinstance(remaining, bool) else 0
            count, signal = short.get(line_id, (0, ""))
            if held and remaining > 0:
                count, signal = count + remaining, "hold"
            else:
                available = _available_at(item.get("variant"), location)
                if available is not None and available < 0 and remaining > 0:
                    count, signal = count + min(remaining, -available), signal or "inventory"
            short[line_id] = (count, signal)
            if count > 0:
                others[line_id] = _other_variants(item.get("variant"))
    lines = tuple(
        replace(line, backordered=short[line.external_id][0], stock_signal=short[line.external_id][1] or None)
        if line.external_id in short
        else line
        for line in order.lines
    )
    extra = {**order.extra, STOCK_ALTERNATIVES: {k: v for k, v in others.items() if v}}
    return order.with_changes(lines=lines, extra=extra)


STOCK_ALTERNATIVES = "stock_alternatives"  # Order.extra: line id -> in-stock variants of the same product


def _other_variants(variant: Any) -> list[dict[str, Any]]:
    """The other variants of a line's product that are for sale and in stock (``inventoryQuantity`` above 0)."""
    if not isinstance(variant, Mapping):
        return []
    product = variant.get("product")
    found = []
    for node in _nodes(product.get("variants") if isinstance(product, Mapping) else None, "product.variants"):
        if not isinstance(node, Mapping) or node.get("id") == variant.get("id") or not node.get("availableForSale"):
            continue
        quantity = node.get("inventoryQuantity")
        if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0:
            found.append({"variant_id": gid_tail(str(node["id"])), "title": _text(node.get("displayName")) or "",
                          "sku": _text(node.get("sku"))})  # fmt: skip
    return found


def order_from_graphql(data: Any, shop: ShopContext, denied: Iterable[str] = ()) -> Order:
    """A node of the ``orders`` query (documents.RECONCILE_ORDERS) -> Order.

    Holds come from the open fulfilment orders; a hold that is gone from the list is released, which the
    merge in ingest learns from the REST or hold webhooks. ``updatedAt`` versions the snapshot. ``denied``:
    the fields Shopify refused on this read (paths below the order node); they arrive as null, stay None
    on the Order and are listed in ``extra["unknown"]``, so no value is made up for them.
    """
    data = _mapping(data, "order")
    gid = str(_require(data, "id", "order"))
    updated = parse_time(_require(data, "updatedAt", "order"), "order.updatedAt")
    cancelled_at = optional_time(data.get("cancelledAt"), "order.cancelledAt")
    financial = str(data.get("displayFinancialStatus") or "pending").lower()
    fulfilment_raw = str(data.get("displayFulfillmentStatus") or "unfulfilled").lower()
    status, raw_status = order_status(
        financial, _GQL_FULFILMENT.get(fulfilment_raw, fulfilment_raw), cancelled_at is not None
    )
    total = _gql_money(data.get("totalPriceSet"), "order.totalPriceSet")
    currency = total.currency if total else _text(data.get("currencyCode"))
    customer = data.get("customer") if isinstance(data.get("customer"), Mapping) else {}
    lines = tuple(
        OrderLine(
            external_id=_id_text(item.get("id"), "lineItems[].id"),
            title=_text(item.get("name")) or _text(item.get("title")) or "",
            quantity=int(item.get("currentQuantity", item.get("quantity")) or 0),
            unit_price=_gql_money(item.get("originalUnitPriceSet"), "lineItems[].originalUnitPriceSet"),
            sku=_text(item.get("sku")),
            product_id=_gql_product(item),
            requires_shipping=bool(item.get("requiresShipping", True)),
            variant_id=_gql_variant(item),
        )
        for item in (_mapping(i, "lineItems[]") for i in _nodes(data.get("lineItems"), "lineItems"))
    )
    shipping_line = data.get("shippingLine") if isinstance(data.get("shippingLine"), Mapping) else {}
    holds = _gql_holds(data, updated)
    extra: dict[str, Any] = {"attributes": _attributes(data.get("customAttributes"), "key", "customAttributes")}
    order = Order(
        shop_id=shop.shop_id,
        platform=Platform.SHOPIFY,
        external_id=gid_tail(gid),
        number=_text(data.get("name")) or gid_tail(gid),
        status=status,
        platform_status=raw_status,
        created_at=parse_time(_require(data, "createdAt", "order"), "order.createdAt"),
        updated_at=updated,
        channel=channel(data.get("sourceName")),
        source=_text(data.get("sourceName")),
        customer=Customer(
            external_id=gid_tail(str(customer["id"])) if customer.get("id") else None,
            first_name=_text(customer.get("firstName")),
            last_name=_text(customer.get("lastName")),
            email=_text(data.get("email")) or _text(customer.get("email")),
            phone=_text(data.get("phone")) or _text(customer.get("phone")),
            locale=_text(data.get("customerLocale")),
            accepts_marketing=_gql_marketing(data, customer),
        ),
        shipping_address=gql_address(data.get("shippingAddress")),
        lines=lines,
        total=total if total else (_money("0", currency, "order.total") if currency else None),
        shipping_method=_text(shipping_line.get("title")),
        shipping_method_code=_text(shipping_line.get("code")),
        requires_shipping=any(line.requires_shipping for line in lines) if lines else True,
        delivery_method=delivery_method(_nodes(data.get("fulfillmentOrders"), "fulfillmentOrders")),
        shipments=tuple(_gql_shipment(f, i) for i, f in enumerate(_nodes(data.get("fulfillments"), "fulfillments"))),
        holds=holds,
        hold_check=_gql_hold_check(data, updated, holds),
        tags=split_tags(data.get("tags")),
        note=_text(data.get("note")),
        paid_at=optional_time(data.get("processedAt"), "order.processedAt") if financial in _PAID else None,
        payment=payment(financial),
        cancelled_at=cancelled_at,
        test=bool(data.get("test")),
        extra=extra,
    )
    unknown = unknown_fields(denied, order) if denied else []
    return order.with_changes(extra={**order.extra, UNKNOWN_KEY: unknown}) if unknown else order


Mapper = Callable[[Any, ShopContext], Order]
