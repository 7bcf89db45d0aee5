"""A street line holding only the house number is a missing street, for orders from either platform.

Orders are built from the recorded Dutch webhook bodies, changed the way real checkouts send them, and
go through the platform's mapper and then the address policy (so WooCommerce's split-field source counts).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connector.address.split import split_address
from connector.model import Order, Platform
from connector.platforms.base import ShopContext
from connector.platforms.shopify import mapper as shopify
from connector.platforms.woocommerce import mapper as woocommerce
from connector.policies.address import POLICY
from connector.policies.base import Open
from tests.conftest import fixture_json

from .support import NOW, context

NUMBER_ONLY = ["12", "12a", "12-2", "12 A", " 7 "]
STREETS_WITH_DIGITS = ["Hoofdstraat 12", "Laan 1940-1945 12", "2e Helmersstraat 5"]

SHOPIFY = ShopContext(shop_id="fietsen", platform=Platform.SHOPIFY, timezone="Europe/Amsterdam", country="NL")
WOO = ShopContext(shop_id="theewinkel", platform=Platform.WOOCOMMERCE, timezone="Europe/Amsterdam", country="NL")


def shopify_order(address1: str | None, address2: str | None = None) -> Order:
    data: dict[str, Any] = copy.deepcopy(fixture_json("shopify/orders_create__nl_paid.json"))
    data["shipping_address"].update(address1=address1, address2=address2)
    return shopify.order_from_rest(data, SHOPIFY)


def woo_lines_order(address_1: str, address_2: str = "") -> Order:
    """A WooCommerce checkout without a split-field plugin: only address_1/address_2."""
    data: dict[str, Any] = copy.deepcopy(fixture_json("woocommerce/order_updated__nl_split_address.json"))
    data["meta_data"] = [m for m in data["meta_data"] if "street" not in m["key"] and "house" not in m["key"]]
    for section in ("shipping", "billing"):
        data[section].update(address_1=address_1, address_2=address_2)
    return woocommerce.order_from_rest(data, WOO)


def woo_split_order(line: str, street: str, number: str, suffix: str) -> Order:
    """A split-field checkout: street, house number and suffix in meta, the plugin's joined line in address_1."""
    data: dict[str, Any] = copy.deepcopy(fixture_json("woocommerce/order_updated__nl_split_address.json"))
    for section in ("shipping", "billing"):
        data[section].update(address_1=line, address_2="")
    meta = {"street_name": street, "house_number": number, "house_number_suffix": suffix}
    for m in data["meta_data"]:
        for name, value in meta.items():
            if m["key"] in (f"_shipping_{name}", f"_billing_{name}"):
                m["value"] = value
    order = woocommerce.order_from_rest(data, WOO)
    assert order.extra["address_source"] == "split_meta"
    return order


def problems(order: Order) -> list[str]:
    decision = POLICY.decide(order, {}, NOW, context(platform=order.platform))
    opened = [i for i in decision.incidents if isinstance(i, Open)]
    return list(opened[0].details["problems"]) if opened else []


def _number(line: str) -> tuple[str, str]:
    parts = split_address(line)
    assert parts.house_number is not None
    return parts.house_number, parts.house_number_addition or ""


@pytest.mark.parametrize("line", NUMBER_ONLY)
def test_shopify_number_only_address1_is_a_missing_street(line: str) -> None:
    assert problems(shopify_order(line)) == ["missing_street"]


@pytest.mark.parametrize("line", NUMBER_ONLY)
def test_shopify_number_only_address2_with_empty_address1_is_a_missing_street(line: str) -> None:
    assert "missing_street" in problems(shopify_order(None, line))


@pytest.mark.parametrize("line", NUMBER_ONLY)
def test_woocommerce_number_only_address_1_is_a_missing_street(line: str) -> None:
    assert problems(woo_lines_order(line)) == ["missing_street"]


@pytest.mark.parametrize("line", NUMBER_ONLY)
def test_woocommerce_split_fields_with_empty_street_are_a_missing_street(line: str) -> None:
    number, suffix = _number(line)
    assert problems(woo_split_order(line, "", number, suffix)) == ["missing_street"]


@pytest.mark.parametrize("line", NUMBER_ONLY)
def test_woocommerce_split_street_field_holding_the_number_is_a_missing_street(line: str) -> None:
    number, suffix = _number(line)
    assert problems(woo_split_order(line, line, number, suffix)) == ["missing_street"]


@pytest.mark.parametrize("line", STREETS_WITH_DIGITS)
def test_street_names_with_digits_are_fine_on_both_platforms(line: str) -> None:
    street, _, number = line.rpartition(" ")
    orders = [
        shopify_order(line),
        shopify_order(street, number),
        woo_lines_order(line),
        woo_lines_order(street, number),
        woo_split_order(line, street, number, ""),
    ]
    for order in orders:
        assert problems(order) == [], (order.platform, order.shipping_address)
