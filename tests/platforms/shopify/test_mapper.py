"""The Shopify mappers on Shopify's published samples and on Dutch variants."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector.model import (
    Address,
    Channel,
    Customer,
    Money,
    OrderStatus,
    ShipmentStatus,
)
from connector.platforms.base import MalformedPayload
from connector.platforms.shopify import mapper
from tests.conftest import fixture_json
from tests.platforms.shopify.conftest import SHOP

NL_ID = "5823991001234567891"


def test_published_sample_order() -> None:
    order = mapper.order_from_rest(fixture_json("shopify/webhooks/orders_create.json"), SHOP)
    # the sample's "id" was float-rounded; the GID keeps the exact value
    assert order.external_id == "820982911946154508"
    assert order.number == "#9999"
    assert order.status is OrderStatus.CANCELLED
    assert order.platform_status == "voided/unfulfilled/cancelled"
    assert order.created_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert order.cancelled_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert order.tags == ("tag1", "tag2")
    assert order.note is None
    assert order.channel is Channel.WEB
    assert order.total == Money(Decimal("388.00"), "USD")
    assert order.shipping_method == "Generic Shipping"
    assert order.shipping_method_code is None
    assert order.customer == Customer(
        external_id="115310627314723954",
        first_name="John",
        last_name="Smith",
        email="jon@example.com",
        phone="555-555-SHIP",  # the order and customer have none; the shipping address has one
        locale="en",
        accepts_marketing=True,
    )
    assert order.shipping_address is not None
    assert order.shipping_address.street == "Shipping Street"
    assert order.shipping_address.house_number == "123"
    assert order.shipping_address.country_code == "US"
    assert [line.external_id for line in order.lines] == ["866550311766439020", "141249953214522974"]
    assert order.lines[0].unit_price == Money(Decimal("199.00"), "USD")
    assert order.test is True
    assert order.shipments == ()


def test_dutch_paid_order() -> None:
    order = mapper.order_from_rest(fixture_json("shopify/orders_create__nl_paid.json"), SHOP)
    assert order.external_id == NL_ID
    assert order.shop_id == "fietsen"
    assert order.status is OrderStatus.PAID
    assert order.platform_status == "paid/unfulfilled"
    assert order.created_at == datetime(2026, 11, 23, 16, 42, 10, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 23, 16, 42, 15, tzinfo=UTC)
    assert order.paid_at == datetime(2026, 11, 23, 16, 42, 10, tzinfo=UTC)
    assert order.shipping_method == "Morgen in huis (PostNL)"
    assert order.shipping_method_code == "postnl-next-day"
    assert order.tags == ("nieuwe klant", "fiets")
    assert order.note == "Graag bij de buren afgeven als we niet thuis zijn."
    assert order.extra == {"attributes": {"bezorgvoorkeur": "avond"}}
    assert order.customer.external_id == "7300000000000000123"
    assert order.customer.first_name == "Sanne"
    assert order.customer.locale == "nl"
    assert order.customer.accepts_marketing is True  # consent wins over buyer_accepts_marketing
    assert order.shipping_address == Address(
        first_name="Sanne",
        last_name="de Vries",
        address1="Hoofdstraat 12a",
        postcode="3511 AB",
        city="Utrecht",
        province_code="UT",
        country_code="NL",
        phone="+31612345678",
        street="Hoofdstraat",
        house_number="12",
        house_number_addition="a",
    )
    assert order.total == Money(Decimal("64.95"), "EUR")
    assert [(line.title, line.quantity, line.product_id) for line in order.lines] == [
        ("Fietsbel messing", 2, "8800000000000000001"),
        ("Zadeltas waterdicht", 1, "8800000000000000002"),
    ]


def test_no_street() -> None:
    address = mapper.order_from_rest(fixture_json("shopify/orders_create__nl_no_street.json"), SHOP).shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.house_number_addition) == (None, "12", None)


def test_house_number_in_address2() -> None:
    order = mapper.order_from_rest(fixture_json("shopify/orders_create__nl_house_number_in_address2.json"), SHOP)
    address = order.shipping_address
    assert address is not None
    assert (address.street, address.house_number, address.house_number_addition) == ("Kerkstraat", "7", "hs")
    assert address.lines == ("Kerkstraat", "7 hs")


def test_postcode_without_space_is_normalised() -> None:
    address = mapper.order_from_rest(
        fixture_json("shopify/orders_create__nl_postcode_no_space.json"), SHOP
    ).shipping_address
    assert address is not None
    assert address.postcode == "3511 AB"


def test_pickup_order_has_no_address() -> None:
    order = mapper.order_from_rest(fixture_json("shopify/orders_create__nl_pickup.json"), SHOP)
    assert order.shipping_address is None
    assert order.shipping_method == "Afhalen in de winkel"
    assert order.shipping_method_code == "pickup"


def test_id_above_2_pow_53_stays_exact() -> None:
    order = mapper.order_from_rest(fixture_json("shopify/orders_create__nl_big_id.json"), SHOP)
    assert order.external_id == "9007199254740993"
    assert float(order.external_id) == 2**53  # the value a float would have turned it into
    assert order.external_id != str(int(float(order.external_id)))


def test_float_id_is_refused() -> None:
    data = fixture_json("shopify/orders_create__nl_big_id.json")
    data["id"] = 9.007199254740993e15
    with pytest.raises(MalformedPayload, match=r"order\.id"):
        mapper.order_from_rest(data, SHOP)


def test_fulfilled_order_carries_its_shipment() -> None:
    order = mapper.order_from_rest(fixture_json("shopify/orders_fulfilled__nl_postnl.json"), SHOP)
    assert order.status is OrderStatus.SHIPPED
    assert order.platform_status == "paid/fulfilled"
    (shipment,) = order.shipments
    assert shipment.external_id == "6200000000000000001"
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    assert shipment.carrier == "PostNL"
    assert shipment.tracking_number == "3SABCD0123456789"
    assert shipment.tracking_url == "https://jouw.postnl.nl/track-and-trace/3SABCD0123456789-NL-3511AB"
    assert shipment.shipped_at == datetime(2026, 11, 24, 8, 10, tzinfo=UTC)
    assert shipment.updated_at == datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
    assert shipment.cancelled is False


def test_cancelled_refunded_order() -> None:
    order = mapper.order_from_rest(fixture_json("shopify/orders_cancelled__nl_refunded.json"), SHOP)
    assert order.status is OrderStatus.CANCELLED
    assert order.platform_status == "refunded/unfulfilled/cancelled"
    assert order.paid_at is None


@pytest.mark.parametrize(
    ("financial", "fulfilment", "cancelled", "status", "raw"),
    [
        ("pending", None, False, OrderStatus.PLACED, "pending/unfulfilled"),
        ("authorized", None, False, OrderStatus.PAID, "authorized/unfulfilled"),  # captured at fulfilment
        ("paid", None, False, OrderStatus.PAID, "paid/unfulfilled"),
        ("paid", "partial", False, OrderStatus.PARTIALLY_SHIPPED, "paid/partial"),
        ("paid", "fulfilled", False, OrderStatus.SHIPPED, "paid/fulfilled"),
        ("partially_refunded", None, False, OrderStatus.PAID, "partially_refunded/unfulfilled"),
        ("refunded", "fulfilled", False, OrderStatus.REFUNDED, "refunded/fulfilled"),
        ("voided", None, False, OrderStatus.CANCELLED, "voided/unfulfilled"),
        ("expired", None, False, OrderStatus.FAILED, "expired/unfulfilled"),
        ("paid", None, True, OrderStatus.CANCELLED, "paid/unfulfilled/cancelled"),
        ("paid", "restocked", False, OrderStatus.CANCELLED, "paid/restocked"),
    ],
)
def test_order_status(financial: str, fulfilment: str | None, cancelled: bool, status: OrderStatus, raw: str) -> None:
    assert mapper.order_status(financial, fulfilment, cancelled) == (status, raw)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("web", Channel.WEB),
        ("pos", Channel.POS),
        ("shopify_draft_order", Channel.ADMIN),
        ("1234567", Channel.API),
        ("tiktok", Channel.OTHER),
        (None, Channel.WEB),
    ],
)
def test_channel(source: str | None, expected: Channel) -> None:
    assert mapper.channel(source) is expected


def test_tags_string_and_list() -> None:
    assert mapper.split_tags("a, b,, a ,c") == ("a", "b", "c")
    assert mapper.split_tags(["x", " y "]) == ("x", "y")
    assert mapper.split_tags("") == ()
    assert mapper.split_tags(None) == ()


def test_published_fulfillment_sample() -> None:
    order_id, shipment = mapper.shipment_from_rest(fixture_json("shopify/webhooks/fulfillments_create.json"))
    assert order_id == "820982911946154500"  # as published (float-rounded upstream); kept verbatim
    assert shipment.external_id == "123456"
    assert shipment.status is ShipmentStatus.PENDING
    assert shipment.carrier == "UPS"
    assert shipment.tracking_number == "1z827wk74630"
    assert shipment.updated_at == datetime(2022, 1, 1, tzinfo=UTC)


def test_delivered_and_cancelled_fulfillment() -> None:
    _, delivered = mapper.shipment_from_rest(fixture_json("shopify/fulfillments_update__nl_delivered.json"))
    assert delivered.status is ShipmentStatus.DELIVERED
    assert delivered.delivered_at == datetime(2026, 11, 25, 13, 2, tzinfo=UTC)
    data = fixture_json("shopify/fulfillments_create__nl_postnl.json")
    data["status"] = "cancelled"
    _, cancelled = mapper.shipment_from_rest(data)
    assert cancelled.cancelled is True
    assert cancelled.current_status is ShipmentStatus.CANCELLED


def test_fulfillment_event_with_estimate() -> None:
    order_id, shipment_id, event = mapper.shipment_event_from_rest(
        fixture_json("shopify/fulfillment_events_create__nl_delayed.json")
    )
    assert (order_id, shipment_id) == (NL_ID, "6200000000000000001")
    assert event.external_id == "6300000000000000001"
    assert event.status is ShipmentStatus.DELAYED
    assert event.happened_at == datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
    assert event.estimated_delivery_at == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    assert event.city == "Nieuwegein"
    assert event.country_code == "NL"


def test_published_fulfillment_event_sample() -> None:
    _, shipment_id, event = mapper.shipment_event_from_rest(
        fixture_json("shopify/webhooks/fulfillment_events_create.json")
    )
    assert shipment_id == "123456"
    assert event.status is ShipmentStatus.IN_TRANSIT
    assert event.estimated_delivery_at is None
    assert event.message == "Item is now in transit"


def test_holds() -> None:
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    order_id, hold = mapper.hold_placed_from_rest(
        fixture_json("shopify/fulfillment_orders_placed_on_hold__nl_with_order.json"), at
    )
    assert order_id == NL_ID
    assert hold.external_id == "6500000000000000001"
    assert hold.handle == mapper.OUR_HOLD_HANDLE
    assert hold.reason == "incorrect_address"
    assert hold.fulfillment_order_id == "6400000000000000001"
    assert hold.changed_at == at
    assert hold.released is False
    order_id, fo_id, holds = mapper.holds_released_from_rest(
        fixture_json("shopify/fulfillment_orders_hold_released__nl_with_order.json"), at
    )
    assert (order_id, fo_id) == (NL_ID, "6400000000000000001")
    assert [(h.external_id, h.released, h.changed_at) for h in holds] == [("6500000000000000001", True, at)]


def test_published_hold_sample_names_no_order() -> None:
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    order_id, hold = mapper.hold_placed_from_rest(
        fixture_json("shopify/webhooks/fulfillment_orders_placed_on_hold.json"), at
    )
    assert order_id is None
    assert (hold.external_id, hold.handle, hold.reason) == ("1", "example-hold-1", "other")


def test_customer_ref() -> None:
    ref = mapper.customer_ref(fixture_json("shopify/webhooks/customers_data_request.json"), "orders_requested")
    assert ref.external_id == "191167"
    assert ref.email == "john@example.com"
    assert ref.order_ids == ("299938", "280263", "220458")
    assert ref.request_id == "9999"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("created_at"), "order.created_at"),
        (lambda d: d.__setitem__("created_at", "yesterday"), "order.created_at"),
        (lambda d: d.__setitem__("created_at", "2026-11-23T17:42:10"), "order.created_at"),
        (lambda d: (d.pop("admin_graphql_api_id"), d.pop("id")), "order.id"),
        (lambda d: d.__setitem__("line_items", "x"), "line_items"),
        (lambda d: d.__setitem__("total_price", "veel"), "order.total_price"),
        (lambda d: d.__setitem__("shipping_address", "Hoofdstraat 1"), "shipping_address"),
    ],
)
def test_malformed_order_names_the_field(mutate: object, field: str) -> None:
    data = copy.deepcopy(fixture_json("shopify/orders_create__nl_paid.json"))
    mutate(data)  # type: ignore[operator]
    with pytest.raises(MalformedPayload) as info:
        mapper.order_from_rest(data, SHOP)
    assert field in str(info.value)


def _gql_node() -> dict[str, object]:
    return {
        "id": f"gid://shopify/Order/{NL_ID}",
        "name": "#1042",
        "createdAt": "2026-11-23T16:42:10Z",
        "updatedAt": "2026-11-24T08:15:00Z",
        "processedAt": "2026-11-23T16:42:10Z",
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "FULFILLED",
        "tags": ["nieuwe klant", "fiets"],
        "note": "Graag bij de buren afgeven als we niet thuis zijn.",
        "email": "sanne.devries@example.nl",
        "phone": "+31612345678",
        "sourceName": "web",
        "test": False,
        "customerLocale": "nl",
        "currencyCode": "EUR",
        "totalPriceSet": {"shopMoney": {"amount": "64.95", "currencyCode": "EUR"}},
        "customAttributes": [{"key": "bezorgvoorkeur", "value": "avond"}],
        "customer": {
            "id": "gid://shopify/Customer/7300000000000000123",
            "firstName": "Sanne",
            "lastName": "de Vries",
            "email": "sanne.devries@example.nl",
            "phone": "+31612345678",
            "emailMarketingConsent": {"marketingState": "SUBSCRIBED"},
        },
        "customerAcceptsMarketing": False,
        "shippingAddress": {
            "firstName": "Sanne",
            "lastName": "de Vries",
            "company": None,
            "address1": "Hoofdstraat 12a",
            "address2": None,
            "zip": "3511AB",
            "city": "Utrecht",
            "provinceCode": "UT",
            "countryCodeV2": "NL",
            "phone": "+31612345678",
        },
        "shippingLine": {"title": "Morgen in huis (PostNL)", "code": "postnl-next-day"},
        "lineItems": {
            "nodes": [
                {
                    "id": "gid://shopify/LineItem/13900000000000000001",
                    "name": "Fietsbel messing",
                    "quantity": 2,
                    "currentQuantity": 2,
                    "sku": "BEL-MS",
                    "requiresShipping": True,
                    "product": {"id": "gid://shopify/Product/8800000000000000001"},
                    "originalUnitPriceSet": {"shopMoney": {"amount": "12.50", "currencyCode": "EUR"}},
                },
                {
                    "id": "gid://shopify/LineItem/13900000000000000002",
                    "name": "Zadeltas waterdicht",
                    "quantity": 1,
                    "currentQuantity": 1,
                    "sku": "ZT-01",
                    "requiresShipping": True,
                    "product": {"id": "gid://shopify/Product/8800000000000000002"},
                    "originalUnitPriceSet": {"shopMoney": {"amount": "35.00", "currencyCode": "EUR"}},
                },
            ]
        },
        "fulfillments": [
            {
                "id": "gid://shopify/Fulfillment/6200000000000000001",
                "status": "SUCCESS",
                "displayStatus": "IN_TRANSIT",
                "createdAt": "2026-11-24T08:10:00Z",
                "updatedAt": "2026-11-24T08:15:00Z",
                "estimatedDeliveryAt": None,
                "deliveredAt": None,
                "trackingInfo": [
                    {
                        "company": "PostNL",
                        "number": "3SABCD0123456789",
                        "url": "https://jouw.postnl.nl/track-and-trace/3SABCD0123456789-NL-3511AB",
                    }
                ],
            }
        ],
        "fulfillmentOrders": {
            "nodes": [
                {
                    "id": "gid://shopify/FulfillmentOrder/6400000000000000001",
                    "status": "CLOSED",
                    "fulfillmentHolds": [],
                }
            ]
        },
    }


def test_graphql_and_rest_give_the_same_order() -> None:
    rest = mapper.order_from_rest(fixture_json("shopify/orders_fulfilled__nl_postnl.json"), SHOP)
    gql = mapper.order_from_graphql(_gql_node(), SHOP)
    assert gql.external_id == rest.external_id
    assert gql.status is rest.status is OrderStatus.SHIPPED
    assert gql.platform_status == rest.platform_status == "paid/fulfilled"
    assert gql.updated_at == rest.updated_at
    for name in (
        "number",
        "created_at",
        "paid_at",
        "tags",
        "note",
        "total",
        "shipping_method",
        "shipping_method_code",
        "channel",
        "extra",
        "shipping_address",
    ):
        assert getattr(gql, name) == getattr(rest, name), name
    assert gql.customer == rest.customer  # e-mail marketing consent included
    assert gql.lines == rest.lines  # product ids included
    assert gql.shipments == rest.shipments


def test_graphql_holds_and_statuses() -> None:
    node = _gql_node()
    node["displayFulfillmentStatus"] = "ON_HOLD"
    node["fulfillments"] = []
    node["fulfillmentOrders"] = {
        "nodes": [
            {
                "id": "gid://shopify/FulfillmentOrder/6400000000000000001",
                "status": "ON_HOLD",
                "fulfillmentHolds": [
                    {"id": "gid://shopify/FulfillmentHold/77", "handle": "ordercare", "reason": "INCORRECT_ADDRESS"}
                ],
            }
        ]
    }
    order = mapper.order_from_graphql(node, SHOP)
    assert order.status is OrderStatus.ON_HOLD
    assert order.platform_status == "paid/on_hold"
    (hold,) = order.holds
    assert (hold.external_id, hold.handle, hold.fulfillment_order_id, hold.released) == (
        "77",
        "ordercare",
        "6400000000000000001",
        False,
    )
    assert hold.changed_at == datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
    assert order.hold_check is None  # the read did not say it listed every fulfilment order


def test_a_complete_read_of_holds_notices_a_release_made_in_the_admin() -> None:
    from connector.ingest import merge_orders
    from connector.model import Hold

    node = _gql_node()
    node["fulfillmentOrders"] = {
        "nodes": [{"id": "gid://shopify/FulfillmentOrder/64", "status": "OPEN", "fulfillmentHolds": []}],
        "pageInfo": {"hasNextPage": False},
    }
    read = mapper.order_from_graphql(node, SHOP)
    assert read.hold_check is not None
    assert read.hold_check.ids == ()
    ours = Hold("77", handle="ordercare", fulfillment_order_id="64", changed_at=read.updated_at - timedelta(hours=1))
    held = read.with_changes(holds=(ours,), hold_check=None, updated_at=read.updated_at - timedelta(hours=1))
    assert held.active_holds == (ours,)
    assert merge_orders(held, read).active_holds == ()
    assert merge_orders(read, held).active_holds == ()
    later = Hold("78", handle="ordercare", fulfillment_order_id="64", changed_at=read.updated_at + timedelta(minutes=1))
    assert merge_orders(read, held.with_changes(holds=(ours, later))).active_holds == (later,)


def test_graphql_missing_updated_at() -> None:
    node = _gql_node()
    del node["updatedAt"]
    with pytest.raises(MalformedPayload, match=r"order\.updatedAt"):
        mapper.order_from_graphql(node, SHOP)
