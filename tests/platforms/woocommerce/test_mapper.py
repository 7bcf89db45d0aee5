"""The WooCommerce mapper: REST v3 order JSON to the order model, on real and Dutch samples."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.model import Channel, Money, OrderStatus, Platform, ShipmentStatus
from connector.platforms.base import MalformedPayload, ShopContext
from connector.platforms.woocommerce.mapper import order_from_rest
from tests.conftest import fixture_json

SHOP = ShopContext(shop_id="theewinkel", platform=Platform.WOOCOMMERCE, timezone="Europe/Amsterdam", country="NL")


def nl_order() -> dict[str, Any]:
    data: dict[str, Any] = fixture_json("woocommerce/order_updated__nl_split_address.json")
    return data


def with_meta(data: dict[str, Any], **meta: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["meta_data"] = [m for m in data["meta_data"] if m["key"] not in meta]
    data["meta_data"] += [{"id": 1, "key": k, "value": v} for k, v in meta.items()]
    return data


def test_official_sample_maps_every_field() -> None:
    order = order_from_rest(fixture_json("woocommerce/rest_order_created.json"), SHOP)
    assert order.external_id == "727"
    assert order.number == "727"
    assert order.platform is Platform.WOOCOMMERCE
    assert order.status is OrderStatus.PROCESSING
    assert order.platform_status == "processing"
    assert order.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.paid_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.total == Money(Decimal("29.35"), "USD")
    assert order.channel is Channel.API
    assert order.source == "rest-api"
    assert order.shipping_method == "Flat Rate"
    assert order.shipping_method_code == "flat_rate"
    assert order.requires_shipping is True
    assert order.customer.first_name == "John"
    assert order.customer.email == "john.doe@example.com"
    assert order.customer.phone == "(555) 555-5555"
    assert order.customer.external_id is None  # customer_id 0 is a guest
    assert order.note is None
    assert [(line.external_id, line.quantity, line.unit_price) for line in order.lines] == [
        ("315", 2, Money(Decimal("3.00"), "USD")),
        ("316", 1, Money(Decimal("12.00"), "USD")),
    ]
    assert order.lines[1].title == "Ship Your Idea – Color: Black, Size: M Test"
    assert order.lines[1].sku == "Bar3"
    assert order.lines[1].product_id == "23"  # the variation
    address = order.shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.postcode) == ("Market", "969", "94103")
    assert order.tags == ()
    assert order.shipments == ()
    assert [(h.released, h.handle) for h in order.holds] == [(True, None)]


def test_dutch_split_address_meta_wins_over_the_lines() -> None:
    order = order_from_rest(nl_order(), SHOP)
    address = order.shipping_address
    assert address is not None
    assert address.street == "Laan van Meerdervoort"
    assert address.house_number == "1001"
    assert address.house_number_addition == "A"
    assert address.postcode == "2564 AZ"
    assert address.city == "Den Haag"
    assert address.country_code == "NL"
    assert address.phone == "0612345678"  # shipping phone empty: the billing phone
    assert order.extra["address_source"] == "split_meta"
    assert order.customer.locale == "nl"
    assert order.customer.external_id == "88"
    assert order.note == "Graag bij de buren afgeven als ik niet thuis ben."
    assert order.channel is Channel.WEB
    assert order.shipping_method == "Morgen in huis (PostNL)"
    assert order.total == Money(Decimal("34.80"), "EUR")
    assert order.lines[0].title == "Rooibos Vanille – 250 g"
    assert order.lines[0].unit_price == Money(Decimal("6.88"), "EUR")


def test_empty_house_number_in_split_fields_stays_none() -> None:
    order = order_from_rest(fixture_json("woocommerce/order_updated__nl_empty_house_number.json"), SHOP)
    address = order.shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.house_number_addition) == ("Kerkstraat", None, None)
    assert order.extra["address_source"] == "split_meta"


def test_without_split_meta_the_lines_are_split() -> None:
    data = nl_order()
    data["meta_data"] = [m for m in data["meta_data"] if "street" not in m["key"] and "house" not in m["key"]]
    data["shipping"]["address_1"] = "Hoofdstraat"
    data["shipping"]["address_2"] = "12-2"
    address = order_from_rest(data, SHOP).shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.house_number_addition) == ("Hoofdstraat", "12", "2")


def test_billing_split_meta_used_when_the_parcel_goes_to_the_billing_address() -> None:
    data = nl_order()
    data["meta_data"] = [m for m in data["meta_data"] if not m["key"].startswith("_shipping_")]
    data = with_meta(data, _billing_house_number="7", _billing_street_name="Laan van Meerdervoort")
    address = order_from_rest(data, SHOP).shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.house_number_addition) == ("Laan van Meerdervoort", "7", "A")


def test_billing_split_meta_ignored_when_shipping_goes_elsewhere() -> None:
    data = nl_order()
    data["meta_data"] = [m for m in data["meta_data"] if not m["key"].startswith("_shipping_")]
    data["shipping"]["address_1"] = "Dorpsstraat 7 hs"
    data["shipping"]["postcode"] = "3512JE"
    address = order_from_rest(data, SHOP).shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.house_number_addition) == ("Dorpsstraat", "7", "hs")
    assert address.postcode == "3512 JE"


def test_empty_shipping_block_falls_back_to_billing_address() -> None:
    data = nl_order()
    data["shipping"] = {k: "" for k in data["shipping"]}
    data["meta_data"] = [m for m in data["meta_data"] if not m["key"].startswith("_shipping_")]
    address = order_from_rest(data, SHOP).shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.city) == ("Laan van Meerdervoort", "1001", "Den Haag")


def test_no_address_at_all_is_none() -> None:
    data = nl_order()
    data["shipping"] = []  # PHP's empty array
    data["billing"] = {"email": "x@example.nl", "first_name": "X"}
    assert order_from_rest(data, SHOP).shipping_address is None


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("pending", OrderStatus.PLACED),
        ("processing", OrderStatus.PROCESSING),
        ("on-hold", OrderStatus.ON_HOLD),
        ("completed", OrderStatus.SHIPPED),
        ("cancelled", OrderStatus.CANCELLED),
        ("refunded", OrderStatus.REFUNDED),
        ("failed", OrderStatus.FAILED),
        ("shipped", OrderStatus.SHIPPED),
        ("delivered", OrderStatus.DELIVERED),
        ("partial-shipped", OrderStatus.PARTIALLY_SHIPPED),
        ("ready-to-ship", OrderStatus.PROCESSING),
        ("awaiting-shipment", OrderStatus.PROCESSING),
    ],
)
def test_statuses(raw: str, status: OrderStatus) -> None:
    data = nl_order()
    data["status"] = raw
    order = order_from_rest(data, SHOP)
    assert order.status is status
    assert order.platform_status == raw


@pytest.mark.parametrize(
    ("paid", "completed", "status"),
    [
        (None, None, OrderStatus.PLACED),
        ("2026-11-23T16:45:30", None, OrderStatus.PROCESSING),
        ("2026-11-23T16:45:30", "2026-11-24T08:00:00", OrderStatus.SHIPPED),
    ],
)
def test_unknown_plugin_status_is_kept_and_placed_by_its_dates(
    paid: str | None, completed: str | None, status: OrderStatus
) -> None:
    data = nl_order()
    data.update(status="wacht-op-leverancier", date_paid_gmt=paid, date_completed_gmt=completed)
    order = order_from_rest(data, SHOP)
    assert (order.status, order.platform_status) == (status, "wacht-op-leverancier")


def test_tracking_items_and_trackship_status() -> None:
    order = order_from_rest(fixture_json("woocommerce/order_updated__ast_shipped_tracking.json"), SHOP)
    assert order.status is OrderStatus.SHIPPED
    by_number = {s.tracking_number: s for s in order.shipments}
    second, first = by_number["3SABCD0123456789"], by_number["FK-778"]
    assert second.carrier == "PostNL"  # the plugin's slug "postnl", as people write it
    assert second.tracking_number == "3SABCD0123456789"
    assert second.external_id == "4b1a2f0e9c8d7b6a5f4e3d2c1b0a9f8e"
    assert second.shipped_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert second.status is ShipmentStatus.IN_TRANSIT
    assert second.estimated_delivery_at == datetime(2026, 11, 25, tzinfo=UTC)
    assert second.delivered_at is None
    assert first.carrier == "Fietskoerier Den Haag"
    assert first.tracking_url == "https://koerier.example.nl/t/FK-778"
    assert first.shipped_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert first.status is ShipmentStatus.DELIVERED
    assert first.delivered_at == datetime(2026, 11, 24, 14, 1, tzinfo=UTC)
    assert all(s.updated_at == order.updated_at for s in order.shipments)


@pytest.mark.parametrize(
    ("created_via", "channel"),
    [
        ("checkout", Channel.WEB),
        ("store-api", Channel.WEB),
        ("admin", Channel.ADMIN),
        ("rest-api", Channel.API),
        ("pos-rest-api", Channel.POS),
        ("bol-com-connector", Channel.OTHER),
        ("", Channel.OTHER),
    ],
)
def test_created_via_to_channel_keeps_the_raw_source(created_via: str, channel: Channel) -> None:
    data = nl_order()
    data["created_via"] = created_via
    order = order_from_rest(data, SHOP)
    assert order.channel is channel
    assert order.source == (created_via or None)


def test_our_meta_comes_back_as_tags_and_our_hold() -> None:
    data = with_meta(nl_order(), _ordercare_tags="ordercare:address, vip", _ordercare_hold="1")
    data["status"] = "on-hold"
    order = order_from_rest(data, SHOP)
    assert order.tags == ("ordercare:address", "vip")
    assert [(h.external_id, h.handle, h.released) for h in order.active_holds] == [("5120:on-hold", "ordercare", False)]
    assert order.status is OrderStatus.ON_HOLD


def test_someone_elses_on_hold_is_not_ours() -> None:
    data = nl_order()
    data["status"] = "on-hold"
    assert [(h.handle, h.released) for h in order_from_rest(data, SHOP).holds] == [(None, False)]


def test_local_pickup_needs_no_shipping() -> None:
    data = nl_order()
    data["shipping_lines"][0]["method_id"] = "local_pickup"
    assert order_from_rest(data, SHOP).requires_shipping is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"id": "abc"}, "id"),
        ({"status": ""}, "status"),
        ({"currency": "EURO"}, "currency"),
        ({"date_modified_gmt": None}, "date_modified_gmt"),
        ({"date_created_gmt": "gisteren"}, "date_created_gmt"),
        ({"total": "veel"}, "total"),
        ({"meta_data": {"a": 1}}, "meta_data"),
        ({"line_items": [{"name": "x"}]}, "line_items[0].id"),
        ({"billing": "Kerkstraat"}, "billing"),
    ],
)
def test_malformed_orders_name_the_field(change: dict[str, Any], field: str) -> None:
    data = nl_order()
    data.update(change)
    with pytest.raises(MalformedPayload) as error:
        order_from_rest(data, SHOP)
    assert str(error.value).startswith(f"{field}:")
