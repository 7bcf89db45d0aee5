"""The channel-independent order model.

Platform mappers turn webhook and API JSON into these frozen objects; policies, the store and the
notifier only ever see them. Money is ``Decimal`` with a currency, ids are strings (Shopify ids exceed
2^53), and every datetime is timezone-aware (stored in UTC).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class Platform(enum.StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"


class OrderStatus(enum.StrEnum):
    """One lifecycle for every platform; the raw platform status is kept beside it."""

    PLACED = "placed"
    PAID = "paid"
    ON_HOLD = "on_hold"
    PROCESSING = "processing"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES

    @property
    def is_shipped(self) -> bool:
        return self in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_SHIPPED)


_FINAL_STATUSES = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.FAILED})


class Payment(enum.StrEnum):
    """Whether the shop has the customer's money, which decides when the delivery clock starts."""

    PAID = "paid"  # received; ``Order.paid_at`` says when
    AWAITING = "awaiting"  # a bank transfer, cheque or pending payment: nothing ships, nothing is late
    ON_DELIVERY = "on_delivery"  # cash on delivery or a card captured at shipping: ships as if paid


class Channel(enum.StrEnum):
    WEB = "web"
    POS = "pos"
    MARKETPLACE = "marketplace"
    API = "api"
    ADMIN = "admin"
    OTHER = "other"


class ShipmentStatus(enum.StrEnum):
    """Carrier-level state of one parcel: Shopify's ``FulfillmentEventStatus`` (LABEL_PURCHASED, LABEL_PRINTED
    and CONFIRMED are ``pending``), plus ``returned``, ``cancelled`` and ``unknown``. Every carrier source maps
    its own codes onto these (``connector.carriers``)."""

    PENDING = "pending"  # label created / confirmed, not yet with the carrier
    CARRIER_PICKED_UP = "carrier_picked_up"  # the carrier's first physical scan
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    READY_FOR_PICKUP = "ready_for_pickup"
    ATTEMPTED_DELIVERY = "attempted_delivery"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    FAILURE = "failure"
    RETURNED = "returned"  # on its way back to, or back at, the sender (Shopify: FAILURE)
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a code no mapping knows; the event keeps the raw code

    @property
    def is_problem(self) -> bool:
        return self in (ShipmentStatus.ATTEMPTED_DELIVERY, ShipmentStatus.DELAYED, ShipmentStatus.FAILURE)

    @property
    def is_closed(self) -> bool:
        """The parcel's journey is over: nothing more to track."""
        return self in (ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED, ShipmentStatus.CANCELLED)


class DeliveryMethod(enum.StrEnum):
    """How the goods reach the customer (Shopify ``FulfillmentOrder.deliveryMethod.methodType``, WooCommerce's
    shipping line). Only the first three travel to an address; the others need no address and no parcel."""

    SHIPPING = "shipping"  # a carrier brings a parcel to the shipping address
    PICKUP_POINT = "pickup_point"  # a carrier brings the parcel to a pickup point (the address is the point's)
    LOCAL = "local"  # the shop's own local delivery to the shipping address
    PICK_UP = "pick_up"  # the customer collects it at one of the shop's locations
    RETAIL = "retail"  # sold in a shop: handed over at the counter
    NONE = "none"  # nothing physical to deliver
    UNKNOWN = "unknown"  # the snapshot does not say (Shopify's REST bodies cannot tell pickup from delivery)

    @property
    def delivered(self) -> bool:
        """Whether the goods travel to an address; an unknown method is taken as a delivery."""
        return self not in (DeliveryMethod.PICK_UP, DeliveryMethod.RETAIL, DeliveryMethod.NONE)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money.amount must be a Decimal, got {type(self.amount).__name__}")
        if len(self.currency) != 3:
            raise ValueError(f"currency must be a 3-letter ISO code, got {self.currency!r}")


@dataclass(frozen=True, slots=True)
class Customer:
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    accepts_marketing: bool | None = None  # None: the platform does not say

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.email or "")


@dataclass(frozen=True, slots=True)
class Address:
    """A shipping address: the raw lines as the customer typed them, plus parsed parts.

    ``street``/``house_number``/``house_number_addition`` are what the mapper could tell apart
    (from split-field checkout meta, or by parsing ``address1``); ``None`` means "not known",
    which the address policy treats as missing.
    """

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    postcode: str | None = None
    city: str | None = None
    province_code: str | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2, upper case
    phone: str | None = None
    street: str | None = None
    house_number: str | None = None
    house_number_addition: str | None = None

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(p for p in (self.address1, self.address2) if p)


@dataclass(frozen=True, slots=True)
class OrderLine:
    external_id: str
    title: str
    quantity: int
    unit_price: Money | None = None
    sku: str | None = None
    product_id: str | None = None
    requires_shipping: bool = True
    variant_id: str | None = None  # Shopify's variant, WooCommerce's variation (None: a simple product)
    # units of this line the shop cannot fulfil now (out of stock, on backorder); None: this snapshot does not say
    backordered: int | None = None
    stock_signal: str | None = None  # what said so: "hold", "inventory", "backorder_meta", "onbackorder"


@dataclass(frozen=True, slots=True)
class ShipmentEvent:
    external_id: str
    status: ShipmentStatus
    happened_at: datetime
    message: str | None = None
    estimated_delivery_at: datetime | None = None
    city: str | None = None
    country_code: str | None = None
    source: str | None = None  # the carrier source that reported it ("sendcloud", ...); None: the platform
    raw_code: str | None = None  # the source's own status or event code, kept as sent
    sub_status: str | None = None  # finer reason, e.g. "not_home", "address", "refused", "customs"
    physical_scan: bool | None = None  # handled by the carrier; None: the source does not say (see is_scan)

    @property
    def is_scan(self) -> bool:
        """Whether a person or machine of the carrier handled the parcel; a label or a notice is not a scan."""
        if self.physical_scan is not None:
            return self.physical_scan
        return self.status not in (ShipmentStatus.PENDING, ShipmentStatus.CANCELLED, ShipmentStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Shipment:
    external_id: str
    status: ShipmentStatus = ShipmentStatus.UNKNOWN
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime | None = None  # platform's own timestamp; newer wins when merging
    cancelled: bool = False
    events: tuple[ShipmentEvent, ...] = ()

    @property
    def last_scan_at(self) -> datetime | None:
        times = [e.happened_at for e in self.events]
        return max(times) if times else self.shipped_at

    @property
    def current_status(self) -> ShipmentStatus:
        """The record's status, unless a carrier scan is newer than the record or the record does not know."""
        if self.cancelled:
            return ShipmentStatus.CANCELLED
        if self.events:
            latest = max(self.events, key=lambda e: (e.happened_at, e.external_id))
            unknown = self.status is ShipmentStatus.UNKNOWN  # a tracking number without a status says nothing
            if unknown or self.updated_at is None or latest.happened_at >= self.updated_at:
                return latest.status
        return self.status

    @property
    def expected_delivery_at(self) -> datetime | None:
        if self.estimated_delivery_at is not None:
            return self.estimated_delivery_at
        for event in sorted(self.events, key=lambda e: e.happened_at, reverse=True):
            if event.estimated_delivery_at is not None:
                return event.estimated_delivery_at
        return None

    @property
    def delivered_time(self) -> datetime | None:
        if self.delivered_at is not None:
            return self.delivered_at
        delivered = [e.happened_at for e in self.events if e.status is ShipmentStatus.DELIVERED]
        return min(delivered) if delivered else None


@dataclass(frozen=True, slots=True)
class Hold:
    """A fulfilment hold on the order (Shopify fulfilment-order hold, WooCommerce ``on-hold``)."""

    external_id: str
    reason: str | None = None
    handle: str | None = None  # our own handle marks holds that ordercare placed
    fulfillment_order_id: str | None = None
    released: bool = False
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HoldCheck:
    """A read of the platform that listed every current hold (``ids``) as of ``at``.

    Hold events only ever add or release one hold; a release that never reached us as an event is
    noticed here: a hold that existed before ``at`` and is not listed was released.
    """

    at: datetime
    ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Promise:
    """What the shop promised: dispatch by, deliver on (shop-local date)."""

    dispatch_by: datetime | None = None
    deliver_on: date | None = None


@dataclass(frozen=True, slots=True)
class Order:
    shop_id: str
    platform: Platform
    external_id: str
    number: str
    status: OrderStatus
    platform_status: str  # raw, e.g. "paid/unfulfilled" (Shopify) or "processing" (WooCommerce)
    created_at: datetime
    updated_at: datetime  # the platform's update timestamp: the version of this snapshot
    channel: Channel = Channel.WEB
    source: str | None = None  # raw source_name / created_via
    customer: Customer = field(default_factory=Customer)
    shipping_address: Address | None = None
    lines: tuple[OrderLine, ...] = ()
    total: Money | None = None
    shipping_method: str | None = None  # title as the customer saw it, e.g. "Morgen in huis"
    shipping_method_code: str | None = None
    requires_shipping: bool = True
    delivery_method: DeliveryMethod = DeliveryMethod.UNKNOWN
    shipments: tuple[Shipment, ...] = ()
    holds: tuple[Hold, ...] = ()
    hold_check: HoldCheck | None = None  # set by reads that list every current hold (Shopify reconcile)
    tags: tuple[str, ...] = ()
    note: str | None = None
    paid_at: datetime | None = None
    payment: Payment = Payment.PAID
    cancelled_at: datetime | None = None
    promise: Promise | None = None
    test: bool = False
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def __post_init__(self) -> None:
        for name in ("created_at", "updated_at", "paid_at", "cancelled_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"Order.{name} must be timezone-aware")

    @property
    def active_holds(self) -> tuple[Hold, ...]:
        check = self.hold_check
        return tuple(
            h
            for h in self.holds
            if not h.released
            and not (
                check is not None
                and h.external_id not in check.ids
                and h.changed_at is not None
                and h.changed_at <= check.at
            )
        )

    def with_changes(self, **changes: Any) -> Order:
        return replace(self, **changes)


class EventKind(enum.StrEnum):
    """What one webhook delivery (or reconcile read) tells us."""

    ORDER = "order"  # a full order snapshot
    ORDER_DELETED = "order_deleted"  # trashed/deleted on the platform
    SHIPMENT = "shipment"  # one shipment (fulfilment) created or updated
    SHIPMENT_EVENT = "shipment_event"  # one carrier scan on a shipment
    HOLD = "hold"  # a hold added or released
    REREAD = "reread"  # the platform says an order changed without saying how: read it again (Shopify holds)
    APP_UNINSTALLED = "app_uninstalled"
    CUSTOMER_REDACT = "customer_redact"
    CUSTOMER_DATA_REQUEST = "customer_data_request"
    SHOP_REDACT = "shop_redact"


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """Who a compliance request is about."""

    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    order_ids: tuple[str, ...] = ()
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """What an adapter makes of one delivery: topic, dedupe key, time, and the payload it carries.

    ``dedupe_key`` identifies the delivery (Shopify's webhook id: seen before, dropped) or the content
    (WooCommerce: ``content:`` order id, ``date_modified_gmt`` and a digest of the mapped order, because a
    real WooCommerce sends real changes with an unchanged ``date_modified_gmt``); a content key seen
    before is dropped only while the stored order still carries that content.
    """

    kind: EventKind
    topic: str
    dedupe_key: str
    occurred_at: datetime
    order_external_id: str | None = None
    order: Order | None = None
    shipment: Shipment | None = None
    shipment_id: str | None = None  # for SHIPMENT_EVENT
    shipment_event: ShipmentEvent | None = None
    hold: Hold | None = None
    customer: CustomerRef | None = None
    fulfillment_order_id: str | None = None  # for REREAD: the fulfilment order the platform named
