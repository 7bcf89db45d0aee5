"""Shopify's limits and shop states: the 5,000-character note, voucher combinations, frozen shops, deprecations."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connector.actions import ActionKind
from connector.platforms.base import PermanentError
from connector.platforms.shopify.client import NOTE_LIMIT, PAUSE_SECONDS, ShopUnavailable, fit_note
from connector.sandbox.shopify import SandboxShop
from tests.platforms.shopify.conftest import FakeTime
from tests.platforms.shopify.test_client import client_for, req

OURS = "24 nov. 2026 10:00 ordercare: huisnummer ontbreekt; klant gemaild."
MERCHANT = "Klant belt zelf. Niet voor 12:00 bezorgen."


def _ours(n: int, width: int) -> list[str]:
    return [f"{1 + i % 28} nov. 2026 10:00 ordercare: regel {i:03d} " + "x" * width for i in range(n)]


# --- the note ------------------------------------------------------------------------------------------


def test_a_note_up_to_the_limit_keeps_every_line() -> None:
    lines = [MERCHANT, *_ours(3, 10)]
    current = "\n".join(lines)
    line = "25 nov. 2026 09:00 ordercare: " + "y" * (NOTE_LIMIT - len(current) - 1 - 30)
    note, dropped = fit_note(current, line)
    assert len(note) == NOTE_LIMIT
    assert (note, dropped) == (f"{current}\n{line}", 0)


def test_one_character_over_drops_our_oldest_line_never_the_merchants() -> None:
    ours = _ours(3, 10)
    current = "\n".join([MERCHANT, ours[0], "Pakket bij de buren.", *ours[1:]])
    line = "25 nov. 2026 09:00 ordercare: " + "y" * (NOTE_LIMIT - len(current) - 30)  # one too many
    note, dropped = fit_note(current, line)
    assert dropped == 1
    assert note == "\n".join([MERCHANT, "Pakket bij de buren.", *ours[1:], line])
    assert len(note) <= NOTE_LIMIT


def test_a_note_full_of_the_merchants_text_is_refused_and_left_alone() -> None:
    current = "m" * (NOTE_LIMIT - 10)
    with pytest.raises(PermanentError, match="the merchant's own text"):
        fit_note(current, OURS)


def test_the_note_action_trims_our_lines_where_shopify_would_refuse(shop: SandboxShop, fake_time: FakeTime) -> None:
    ours = _ours(30, 123)
    note = "\n".join([MERCHANT, *ours])
    assert NOTE_LIMIT - 200 < len(note) <= NOTE_LIMIT
    oid = str(shop.create_order(note=note)["id"])
    client = client_for(shop, fake_time)
    line = "25 nov. 2026 09:00 ordercare: adres aangepast door de klant; hold vrijgegeven."
    assert client.perform(req(ActionKind.ADD_NOTE, oid, {"text": line})) == {"line": line, "trimmed": 1}
    written = str(shop.order(oid)["note"])
    assert len(written) <= NOTE_LIMIT
    assert written == "\n".join([MERCHANT, *ours[1:], line])
    assert shop.counters["notes_written"] == 1


def test_the_sandbox_refuses_a_note_over_the_limit_as_shopify_does(shop: SandboxShop, fake_time: FakeTime) -> None:
    oid = str(shop.create_order()["id"])
    client = client_for(shop, fake_time)
    gid = f"gid://shopify/Order/{oid}"
    result = client.execute("OrderUpdate", {"input": {"id": gid, "note": "n" * (NOTE_LIMIT + 1)}})
    assert result["orderUpdate"]["userErrors"] == [
        {"field": ["note"], "message": f"Note is too long (maximum is {NOTE_LIMIT} characters)"}
    ]
    assert shop.order(oid)["note"] is None
    result = client.execute("OrderUpdate", {"input": {"id": gid, "note": "n" * NOTE_LIMIT}})
    assert result["orderUpdate"]["userErrors"] == []


# --- vouchers ------------------------------------------------------------------------------------------


def _voucher(**extra: Any) -> dict[str, Any]:
    return {"code": "SORRY-1001", "kind": "percentage", "value": 10, **extra}


def test_vouchers_combine_with_shipping_discounts_by_default(shop: SandboxShop, fake_time: FakeTime) -> None:
    client = client_for(shop, fake_time)
    assert client.voucher_input(_voucher())["combinesWith"] == {
        "orderDiscounts": False,
        "productDiscounts": False,
        "shippingDiscounts": True,
    }
    client.perform(req(ActionKind.CREATE_VOUCHER, None, _voucher()))
    assert shop.discounts["SORRY-1001"]["combinesWith"] == {
        "orderDiscounts": False,
        "productDiscounts": False,
        "shippingDiscounts": True,
    }


def test_the_shops_setting_and_the_payload_choose_the_combinations(shop: SandboxShop, fake_time: FakeTime) -> None:
    client = client_for(shop, fake_time, combines_with=())
    assert set(client.voucher_input(_voucher())["combinesWith"].values()) == {False}
    chosen = client.voucher_input(_voucher(combines_with=["order", "product"]))["combinesWith"]
    assert chosen == {"orderDiscounts": True, "productDiscounts": True, "shippingDiscounts": False}
    with pytest.raises(PermanentError, match=r"payload\.combines_with"):
        client.voucher_input(_voucher(combines_with=["everything"]))


# --- frozen, locked, closed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (402, "the shop is frozen (its Shopify bill is unpaid)"),
        (423, "Shopify has locked the shop"),
        (404, "the shop is closed or no longer exists"),
    ],
)
def test_an_unavailable_shop_is_paused_with_no_calls_until_the_check(
    shop: SandboxShop, fake_time: FakeTime, status: int, words: str
) -> None:
    oid = str(shop.create_order()["id"])
    client = client_for(shop, fake_time)
    shop.unavailable = status
    request = req(ActionKind.ADD_TAGS, oid, {"tags": ["ordercare:late-1"]})
    with pytest.raises(ShopUnavailable) as first:
        client.perform(request)
    assert first.value.status == status
    assert first.value.retry_after == PAUSE_SECONDS
    assert words in first.value.pause_reason
    assert "no calls to it until the next reconcile check" in first.value.pause_reason
    # paused: the next action raises at once, without a call
    with pytest.raises(ShopUnavailable):
        client.perform(request)
    assert shop.counters["unavailable"] == 1
    assert client.status()["paused"] == first.value.pause_reason
    # the reconcile check probes; once the shop is open again, calls go through
    shop.unavailable = None
    assert client.check_access().ok
    assert client.status()["paused"] is None
    assert client.perform(request) == {"tags": ["ordercare:late-1"]}


def test_a_pause_ends_by_itself_after_its_time(shop: SandboxShop, fake_time: FakeTime) -> None:
    oid = str(shop.create_order()["id"])
    client = client_for(shop, fake_time)
    shop.unavailable = 402
    request = req(ActionKind.ADD_TAGS, oid, {"tags": ["a"]})
    with pytest.raises(ShopUnavailable):
        client.perform(request)
    fake_time.now += PAUSE_SECONDS - 1
    with pytest.raises(ShopUnavailable):
        client.perform(request)
    assert shop.counters["unavailable"] == 1
    fake_time.now += 1
    with pytest.raises(ShopUnavailable):
        client.perform(request)
    assert shop.counters["unavailable"] == 2


# --- deprecations ----------------------------------------------------------------------------------------


def test_a_deprecation_notice_is_logged_once_per_document(
    shop: SandboxShop, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    reason = "https://shopify.dev/changelog/order-customer-accepts-marketing-deprecated"
    shop.deprecated = {"customerAcceptsMarketing": reason}
    shop.create_order()
    client = client_for(shop, fake_time)
    with caplog.at_level(logging.WARNING):
        list(client.changed_orders(None))
        list(client.changed_orders(None))
        client.check_access()  # a document without the field: no notice
    assert client.deprecations == {"ReconcileOrders": reason}
    assert [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()] == [
        f"shop fietsen: Shopify marks ReconcileOrders as deprecated: {reason}"
    ]
