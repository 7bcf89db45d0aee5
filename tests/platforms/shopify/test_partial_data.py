"""Partial data is data: fields Shopify denies beside the answer are unknown on the order, the rest is used."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from connector.model import Address, Customer, Order, OrderLine, OrderStatus, Platform
from connector.platforms.base import PermanentError
from connector.platforms.shopify import mapper
from connector.platforms.shopify.scopes import split_denials
from connector.policies.base import notify_payload
from connector.reconcile import UNKNOWN_KEY, keep_known
from connector.sandbox.shopify import SandboxShop
from tests.platforms.shopify.conftest import SHOP, FakeTime
from tests.platforms.shopify.test_client import client_for

CUSTOMER_DENIED = "Access denied for customer field. Required access: `read_customers` access scope."


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith("shopify.scopes")]


def test_without_read_customers_the_orders_are_read_and_the_customer_is_unknown(
    shop: SandboxShop, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    shop.granted.discard("read_customers")
    ids = [str(shop.create_order()["id"]) for _ in range(3)]
    client = client_for(shop, fake_time)
    with caplog.at_level(logging.WARNING):
        orders = [e.order for e in client.changed_orders(None)]
    assert [o.external_id for o in orders if o is not None] == ids
    for order in orders:
        assert order is not None
        # the order's own e-mail and phone came back; what only the customer object says is unknown
        # (what the buyer ticked at checkout is the order's own field: Order.customerAcceptsMarketing)
        assert order.customer == Customer(
            email="sanne.devries@example.nl", phone="+31612345678", locale="nl", accepts_marketing=False
        )
        assert order.extra[UNKNOWN_KEY] == ["customer"]
        assert order.shipping_address is not None
        assert order.shipping_address.city == "Utrecht"
    # reported once for the shop, counted for every order
    assert _logged(caplog) == [
        f"shop fietsen: Shopify denied orders.nodes.customer in ReconcileOrders: {CUSTOMER_DENIED} The field is "
        "kept unknown on the orders read; grant the scope."
    ]
    assert client.denials.report() == [
        {
            "document": "ReconcileOrders",
            "field": "orders.nodes.customer",
            "message": CUSTOMER_DENIED,
            "scope": "read_customers",
            "protected_customer_data": False,
            "count": 3,
        }
    ]


def test_unapproved_protected_fields_are_unknown_and_no_email_can_go(shop: SandboxShop, fake_time: FakeTime) -> None:
    shop.protected = frozenset({"name"})  # level 1 and names approved; e-mail, phone and address not
    shop.create_order()
    client = client_for(shop, fake_time)
    (event,) = list(client.changed_orders(None))
    order = event.order
    assert order is not None
    assert (order.customer.first_name, order.customer.email, order.customer.phone) == ("Sanne", None, None)
    assert order.shipping_address is None
    assert order.extra[UNKNOWN_KEY] == ["customer.email", "customer.phone", "shipping_address"]
    assert {d["field"] for d in client.denials.report()} == {
        "orders.nodes.email", "orders.nodes.phone", "orders.nodes.customer.email", "orders.nodes.customer.phone",
        "orders.nodes.shippingAddress",
    }  # fmt: skip
    assert all(d["protected_customer_data"] for d in client.denials.report())
    # a customer whose e-mail is unknown gets no e-mail (staff are told by the policies' notes)
    assert notify_payload(order, None, "address_question") is None  # type: ignore[arg-type]


def test_a_denied_root_field_fails_the_whole_call(shop: SandboxShop, fake_time: FakeTime) -> None:
    shop.granted = {g for g in shop.granted if g not in ("read_orders", "write_orders")}
    shop.create_order()
    client = client_for(shop, fake_time)
    with pytest.raises(PermanentError, match=r"Access denied for orders field\. Required access: `read_orders`"):
        list(client.changed_orders(None))


def test_error_limit_notice_counts_with_the_denials() -> None:
    errors = [
        {
            "message": CUSTOMER_DENIED,
            "path": ["orders", "nodes", 0, "customer"],
            "extensions": {"code": "ACCESS_DENIED"},
        },
        {"message": "Too many execution errors, max error limit reached. Results truncated"},
        {"message": "Field 'foo' doesn't exist on type 'Order'", "path": ["orders"]},
    ]
    denied, other = split_denials("ReconcileOrders", errors)
    assert [(d.key, d.scope) for d in denied] == [("orders.nodes.customer", "read_customers")]
    assert other == [errors[2]]


def _order(**changes: object) -> Order:
    base = Order(
        shop_id="fietsen", platform=Platform.SHOPIFY, external_id="1", number="#1001",
        status=OrderStatus.PAID, platform_status="paid/unfulfilled",
        created_at=datetime(2026, 11, 24, 8, tzinfo=UTC), updated_at=datetime(2026, 11, 24, 9, tzinfo=UTC),
        customer=Customer(external_id="7", first_name="Sanne", email="sanne@example.nl", accepts_marketing=True),
        lines=(OrderLine("11", "Fietsbel", 1, product_id="88"),),
    )  # fmt: skip
    return base.with_changes(**changes)


def test_a_listing_that_could_not_see_the_customer_keeps_what_the_webhook_said() -> None:
    webhook = _order()
    listing = _order(
        customer=Customer(email="sanne@example.nl"),
        lines=(OrderLine("11", "Fietsbel", 1),),
        extra={UNKNOWN_KEY: ["customer", "lines.product_id"]},
    )
    assert keep_known(webhook, listing) == webhook
    # nothing stored: the fields stay unknown, no value is made up
    assert keep_known(None, listing) == listing
    # the stored version did not know either: still unknown
    stored = _order(customer=Customer(), extra={UNKNOWN_KEY: ["customer"]})
    assert keep_known(stored, listing).extra[UNKNOWN_KEY] == ["customer"]
    assert keep_known(stored, listing).lines == webhook.lines
    # only the address's phone was denied: the rest of this read's address (a staff fix) stays
    fixed = Address(address1="Keizersgracht 221", city="Amsterdam", country_code="NL")
    read = _order(shipping_address=fixed, extra={UNKNOWN_KEY: ["shipping_address.phone"]})
    older = _order(shipping_address=Address(address1="Hoofdstraat 12a", city="Utrecht", phone="+31612345678"))
    assert keep_known(older, read).shipping_address == Address(
        address1="Keizersgracht 221", city="Amsterdam", country_code="NL", phone="+31612345678"
    )


def test_mapper_unknown_fields_follow_what_the_read_gave() -> None:
    order = _order(customer=Customer(email="sanne@example.nl"))
    assert mapper.unknown_fields({"customer"}, order) == ["customer"]
    assert mapper.unknown_fields({"email", "customer.email"}, order) == []  # the e-mail came through another field
    assert mapper.unknown_fields({"lineItems.product", "shippingAddress.phone", "shippingAddress.zip"}, order) == [
        "lines.product_id",
        "shipping_address",
        "shipping_address.phone",
    ]
    assert mapper.UNKNOWN_KEY == UNKNOWN_KEY
    assert SHOP.shop_id == order.shop_id
