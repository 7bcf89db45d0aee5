"""The pure parts of out of stock: the mappers' stock facts, the choices offered, and the settings' errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from connector.calendar import BusinessCalendar
from connector.model import Hold, Order, OrderLine, OrderStatus, Platform
from connector.platforms.base import MalformedPayload
from connector.platforms.shopify.mapper import needs_stock_read, stock_from_graphql
from connector.platforms.woocommerce.mapper import backordered_units, with_stock_statuses
from connector.policies.config import OutOfStockConfig, PoliciesConfig
from connector.stock import choice, detect

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CALENDAR = BusinessCalendar("Europe/Amsterdam", country="NL")


def order(*lines: OrderLine, holds: tuple[Hold, ...] = (), platform: Platform = Platform.SHOPIFY) -> Order:
    return Order(
        shop_id="fietsen",
        platform=platform,
        external_id="1",
        number="#1001",
        status=OrderStatus.PAID,
        platform_status="paid/unfulfilled",
        created_at=NOW,
        updated_at=NOW,
        lines=lines,
        holds=holds,
    )


LAMP = OrderLine("11", "Tuinlamp - Zwart", 2, sku="LAMP-ZW", variant_id="44")


def fo(
    available: int, *, held: bool = False, remaining: int = 2, location: str = "gid://shopify/Location/1"
) -> dict[str, Any]:
    level = {"location": {"id": location}, "quantities": [{"name": "available", "quantity": available}]}
    variant = {
        "id": "gid://shopify/ProductVariant/44",
        "inventoryItem": {"tracked": True, "inventoryLevels": {"nodes": [level]}},
    }
    return {
        "id": "gid://shopify/FulfillmentOrder/9",
        "status": "ON_HOLD" if held else "OPEN",
        "assignedLocation": {"location": {"id": "gid://shopify/Location/1"}},
        "fulfillmentHolds": [{"id": "h", "reason": "INVENTORY_OUT_OF_STOCK"}] if held else [],
        "lineItems": {
            "nodes": [
                {"lineItem": {"id": "gid://shopify/LineItem/11"}, "remainingQuantity": remaining, "variant": variant}
            ]
        },
    }


def test_shopify_available_below_zero_at_the_assigned_location() -> None:
    short = stock_from_graphql(order(LAMP), {"fulfillmentOrders": {"nodes": [fo(-1)]}}).lines[0]
    assert (short.backordered, short.stock_signal) == (1, "inventory")
    at_zero = stock_from_graphql(order(LAMP), {"fulfillmentOrders": {"nodes": [fo(0)]}}).lines[0]
    assert (at_zero.backordered, at_zero.stock_signal) == (0, None)
    # stock below zero at another location is not this fulfilment order's
    elsewhere = stock_from_graphql(
        order(LAMP), {"fulfillmentOrders": {"nodes": [fo(-5, location="gid://shopify/Location/2")]}}
    )
    assert elsewhere.lines[0].backordered == 0
    held = stock_from_graphql(order(LAMP), {"fulfillmentOrders": {"nodes": [fo(3, held=True)]}}).lines[0]
    assert (held.backordered, held.stock_signal) == (2, "hold")


def test_the_listing_asks_for_a_stock_read_only_below_zero_or_held() -> None:
    def node(quantity: int, reason: str | None = None) -> dict[str, Any]:
        holds = [{"reason": reason}] if reason else []
        return {
            "lineItems": {"nodes": [{"variant": {"inventoryQuantity": quantity}}]},
            "fulfillmentOrders": {"nodes": [{"fulfillmentHolds": holds}]},
        }

    assert needs_stock_read(node(-1))
    assert not needs_stock_read(node(0))
    assert needs_stock_read(node(5, "INVENTORY_OUT_OF_STOCK"))
    assert not needs_stock_read(node(5, "INCORRECT_ADDRESS"))


def test_woocommerce_backordered_meta_and_status() -> None:
    assert backordered_units([{"key": "Backordered", "value": "1"}], "m") == 1
    assert backordered_units([{"key": "_reduced_stock", "value": "2"}], "m") is None
    with pytest.raises(MalformedPayload, match="Backordered: expected a number"):
        backordered_units([{"key": "Backordered", "value": "veel"}], "line_items[0].meta_data")
    tea = OrderLine("5", "Rooibos", 2, product_id="300")
    on = with_stock_statuses(order(tea, platform=Platform.WOOCOMMERCE), {"300": "onbackorder"}).lines[0]
    assert (on.backordered, on.stock_signal) == (2, "onbackorder")
    assert with_stock_statuses(order(tea, platform=Platform.WOOCOMMERCE), {"300": "instock"}).lines[0].backordered == 0


def test_a_hold_names_the_line_only_when_one_line_ships() -> None:
    hold = Hold("h", reason="inventory_out_of_stock")
    assert [s.line_id for s in detect.short_lines(order(LAMP, holds=(hold,)))] == ["11"]
    other = OrderLine("12", "Fietsbel", 1)
    assert detect.short_lines(order(LAMP, other, holds=(hold,))) == []


def test_the_wait_date_is_the_merchants_day_then_the_default() -> None:
    config = OutOfStockConfig(back_in_stock={"LAMP-*": date(2026, 12, 1)}, wait_working_days=10)
    today = date(2026, 11, 24)
    assert detect.wait_until(config, CALENDAR, "lamp-zw", today) == date(2026, 12, 2)
    assert detect.wait_until(config, CALENDAR, "BEL-MS", today) == date(2026, 12, 9)  # 10 working days, then 1
    # the merchant's day has come: the default applies; without one, no waiting is offered
    assert detect.wait_until(config, CALENDAR, "LAMP-ZW", date(2026, 12, 1)) == date(2026, 12, 16)
    assert detect.wait_until(OutOfStockConfig(wait_working_days=0), CALENDAR, "BEL-MS", today) is None


def test_waiting_is_offered_only_before_its_day() -> None:
    details = {"lines": [{"line_id": "11", "title": "Lamp", "wait_until": "2026-12-02", "alternatives": []}]}
    assert [o.key for o in choice.options(details, date(2026, 12, 1))[0].options] == ["wait", "cancel"]
    assert [o.key for o in choice.options(details, date(2026, 12, 2))[0].options] == ["cancel"]


def test_settings_errors_name_the_key() -> None:
    with pytest.raises(ValidationError, match=r"out_of_stock\.alternatives\.LAMP\.0[\s\S]*variant_id or a product_id"):
        PoliciesConfig.model_validate({"out_of_stock": {"alternatives": {"LAMP": [{"title": "x"}]}}})
    with pytest.raises(ValidationError, match=r"out_of_stock\.wait_working_days"):
        PoliciesConfig.model_validate({"out_of_stock": {"wait_working_days": -1}})
    with pytest.raises(ValidationError, match=r"out_of_stock\.link_valid_days"):
        PoliciesConfig.model_validate({"out_of_stock": {"link_valid_days": 0}})
    with pytest.raises(ValidationError, match=r"out_of_stock\.refunds[\s\S]*Extra inputs are not permitted"):
        PoliciesConfig.model_validate({"out_of_stock": {"refunds": "allowed"}})
