"""Unpaid is not late: an order that awaits payment gets no delay, stale or next-day message and no voucher,
and its clocks start at payment. Orders come from the sandbox shops (as each platform shapes an unpaid
order) through each platform's mapper; the same order paid is the other side of every rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from connector.ingest import merge_orders
from connector.model import Order, OrderStatus, Payment, Platform
from connector.platforms.base import ShopContext
from connector.platforms.shopify import mapper as shopify
from connector.platforms.woocommerce import mapper as woocommerce
from connector.policies.base import Open, ready_at
from connector.policies.next_day import POLICY as NEXT_DAY
from connector.policies.stale import POLICY as STALE
from connector.sandbox.shopify import ShopifySandbox
from connector.sandbox.woocommerce import WooSandbox
from tests.reliability.support import Clock

from .support import ams, context, planned

PLACED = ams(2026, 11, 23, 10, 0)  # Monday 10:00, before the 18:00 cut-off: dispatch by Monday 21:00
FOUR_DAYS_ON = ams(2026, 11, 27, 11, 0)  # Friday: past every stale threshold and the call task
SHOPIFY = ShopContext(shop_id="fietsen", platform=Platform.SHOPIFY, timezone="Europe/Amsterdam", country="NL")
WOO = ShopContext(shop_id="theewinkel", platform=Platform.WOOCOMMERCE, timezone="Europe/Amsterdam", country="NL")


def woo_order(payment_method: str, status: str, *, paid_on: datetime | None = None) -> Order:
    """A WooCommerce order as the sandbox shop makes it; ``paid_on``: staff mark it paid then (processing)."""
    clock = Clock(PLACED.astimezone(UTC))
    shop = WooSandbox(clock=clock, ping_on_create=False)
    made = shop.create_order(
        status=status, payment_method=payment_method, shipping_method=("Morgen in huis", "flat_rate")
    )
    if paid_on is not None:
        clock.now = paid_on.astimezone(UTC)
        shop.update_order(made["id"], status="processing")
    return woocommerce.order_from_rest(shop.order(made["id"]), WOO)


def shopify_order(financial_status: str) -> Order:
    clock = Clock(PLACED.astimezone(UTC))
    shop = ShopifySandbox(clock=clock).add_shop("fietsen-test.myshopify.com", "secret", access_token="shpat_x")
    made = shop.create_order(financial_status=financial_status)
    for line in made["shipping_lines"]:
        line["title"] = "PostNL - Morgen in huis"
    return shopify.order_from_rest(made, SHOPIFY)


UNPAID: dict[str, Callable[[], Order]] = {
    "woocommerce-bank-transfer": lambda: woo_order("bacs", "on-hold"),
    "woocommerce-cheque": lambda: woo_order("cheque", "on-hold"),
    "woocommerce-pending": lambda: woo_order("mollie_wc_gateway_ideal", "pending"),
    "shopify-pending": lambda: shopify_order("pending"),
    "shopify-partially-paid": lambda: shopify_order("partially_paid"),
}
PAID: dict[str, Callable[[], Order]] = {
    "woocommerce-ideal": lambda: woo_order("mollie_wc_gateway_ideal", "processing"),
    "woocommerce-cash-on-delivery": lambda: woo_order("cod", "processing"),
    "shopify-paid": lambda: shopify_order("paid"),
    "shopify-authorized": lambda: shopify_order("authorized"),
}


@pytest.mark.parametrize("name", UNPAID)
def test_an_unpaid_order_is_mapped_as_awaiting_payment(name: str) -> None:
    order = UNPAID[name]()
    assert order.payment is Payment.AWAITING
    assert order.paid_at is None
    assert ready_at(order) is None


@pytest.mark.parametrize("name", PAID)
def test_a_paid_or_pay_on_delivery_order_starts_its_clock_when_placed(name: str) -> None:
    order = PAID[name]()
    assert order.payment in (Payment.PAID, Payment.ON_DELIVERY)
    assert ready_at(order) == PLACED


@pytest.mark.parametrize("name", UNPAID)
def test_an_unpaid_next_day_order_carries_no_promise_and_gets_no_apology(name: str) -> None:
    order = UNPAID[name]()
    assert NEXT_DAY.decide(order, {}, FOUR_DAYS_ON, context(platform=order.platform)).empty


@pytest.mark.parametrize("name", PAID)
def test_a_paid_next_day_order_past_its_deadline_gets_the_apology_and_a_voucher(name: str) -> None:
    order = PAID[name]()
    decision = NEXT_DAY.decide(order, {}, FOUR_DAYS_ON, context(platform=order.platform))
    (opened,) = decision.incidents
    assert isinstance(opened, Open)
    assert opened.details["promised"] == "2026-11-24"
    assert [kind for kind, _, _ in planned(decision)] == ["add_tags", "add_note", "notify_customer"]
    assert [v.step for v in decision.vouchers] == ["1-voucher"]


@pytest.mark.parametrize("name", UNPAID)
def test_an_unpaid_order_left_for_days_tells_staff_not_the_customer(name: str) -> None:
    order = UNPAID[name]()
    decision = STALE.decide(order, {}, FOUR_DAYS_ON, context(platform=order.platform))
    opened = decision.incidents[0]
    assert isinstance(opened, Open)
    assert opened.details["reason"] == "pending"
    assert opened.details["told_customer"] is False
    assert [kind for kind, _, _ in planned(decision)] == ["add_tags", "add_note", "create_call_task", "add_note"]
    assert decision.vouchers == []


@pytest.mark.parametrize("name", ["woocommerce-ideal", "shopify-paid"])
def test_a_paid_order_left_for_days_tells_the_customer(name: str) -> None:
    order = PAID[name]()
    decision = STALE.decide(order, {}, FOUR_DAYS_ON, context(platform=order.platform))
    opened = decision.incidents[0]
    assert isinstance(opened, Open)
    assert opened.details["reason"] == "unshipped"
    assert opened.details["told_customer"] is True
    assert "notify_customer" in [kind for kind, _, _ in planned(decision)]


def test_a_bank_transfer_paid_later_is_promised_from_its_payment() -> None:
    # placed Monday 10:00, marked paid Wednesday 19:00 (after the cut-off): out Thursday, delivered Friday
    order = woo_order("bacs", "on-hold", paid_on=ams(2026, 11, 25, 19, 0))
    assert order.payment is Payment.PAID
    assert order.status is OrderStatus.PROCESSING
    assert ready_at(order) == ams(2026, 11, 25, 19, 0)
    ctx = context(platform=order.platform)
    before = NEXT_DAY.decide(order, {}, ams(2026, 11, 26, 20, 59), ctx)
    assert before.empty
    assert before.next_check == ams(2026, 11, 26, 21, 0)
    late = NEXT_DAY.decide(order, {}, ams(2026, 11, 26, 21, 0), ctx)
    (opened,) = late.incidents
    assert isinstance(opened, Open)
    assert opened.details["promised"] == "2026-11-27"


def test_shopify_payment_time_is_when_the_order_was_first_seen_paid() -> None:
    """Shopify's REST order has no payment time, only ``processed_at`` (the checkout): once we saw it
    pending, the version that shows it paid is the latest it can have been paid."""
    pending = shopify_order("pending")
    paid_at = PLACED.astimezone(UTC) + timedelta(days=2)
    paid = pending.with_changes(payment=Payment.PAID, paid_at=pending.created_at, updated_at=paid_at)
    later = paid.with_changes(updated_at=paid_at + timedelta(hours=3), note="bel aan bij de buren")
    merged = merge_orders(merge_orders(pending, paid), later)
    assert merged.payment is Payment.PAID
    assert merged.paid_at == paid_at
    assert merge_orders(later, merge_orders(paid, pending)).paid_at == paid_at  # in any order of arrival
    never_seen_unpaid = merge_orders(paid, later)
    assert never_seen_unpaid.paid_at == pending.created_at  # nothing says it came later
