"""Staff can see ordercare's tags (issue 14, item 5): they live in the order meta ``ordercare_tags``.

WordPress hides underscore-prefixed ("protected") meta from the order screen's Custom Fields box, and the
real WooCommerce 7.9.0 showed our ``_ordercare_tags`` nowhere (../shared/platforms/woocommerce-real-2026-12.md).
Orders tagged before keep working: the old key is read, and moved on the next tag write.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.actions import ActionKind
from connector.platforms.woocommerce.client import WooCommerceClient
from connector.platforms.woocommerce.mapper import order_from_rest
from connector.sandbox.woocommerce import WooSandbox

from .live import Clock, action, shop_for


@pytest.fixture
def site() -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=Clock(), ping_on_create=False)
    with sandbox.serve():
        yield sandbox


@pytest.fixture
def client(site: WooSandbox) -> Iterator[WooCommerceClient]:
    client = WooCommerceClient(shop_for(site), timeout=5, clock=Clock())
    yield client
    client.close()


def meta_entries(site: WooSandbox, order_id: int) -> list[tuple[str, object]]:
    """The order's ``meta_data`` as the REST API returns it (what the Custom Fields box and AutomateWoo read)."""
    return [(m["key"], m["value"]) for m in site.order(order_id)["meta_data"] if "ordercare_tags" in m["key"]]


def test_tags_are_in_a_meta_key_staff_see(site: WooSandbox, client: WooCommerceClient) -> None:
    order_id = int(site.create_order()["id"])
    client.perform(action(ActionKind.ADD_TAGS, order_id, {"tags": ["ordercare:address"]}, "a"))
    client.perform(action(ActionKind.ADD_TAGS, order_id, {"tags": ["ordercare:stale"]}, "b"))
    assert meta_entries(site, order_id) == [("ordercare_tags", "ordercare:address, ordercare:stale")]
    assert not meta_entries(site, order_id)[0][0].startswith("_")  # not protected: shown in Custom Fields
    assert order_from_rest(site.order(order_id), client.shop.context).tags == ("ordercare:address", "ordercare:stale")


def test_an_order_tagged_before_is_read_and_moved_on_the_next_write(
    site: WooSandbox, client: WooCommerceClient
) -> None:
    order_id = int(site.create_order(meta={"_ordercare_tags": "ordercare:address, vip"})["id"])
    assert order_from_rest(site.order(order_id), client.shop.context).tags == ("ordercare:address", "vip")
    tag = action(ActionKind.ADD_TAGS, order_id, {"tags": ["ordercare:address"]}, "again")
    assert client.already_done(tag) == {"tags": ["ordercare:address", "vip"]}  # read from the old key
    assert client.perform(tag) == {"tags": ["ordercare:address", "vip"], "moved_from": "_ordercare_tags"}
    assert meta_entries(site, order_id) == [("ordercare_tags", "ordercare:address, vip")]
    updates = site.counters["meta_updates"]
    client.perform(action(ActionKind.ADD_TAGS, order_id, {"tags": ["vip"]}, "once-more"))
    assert site.counters["meta_updates"] == updates  # moved once; nothing new to write


def test_tags_in_both_keys_are_merged_and_the_old_one_removed(site: WooSandbox, client: WooCommerceClient) -> None:
    order_id = int(site.create_order(meta={"ordercare_tags": "ordercare:stale", "_ordercare_tags": "vip"})["id"])
    assert order_from_rest(site.order(order_id), client.shop.context).tags == ("ordercare:stale", "vip")
    result = client.perform(action(ActionKind.ADD_TAGS, order_id, {"tags": ["ordercare:late-1"]}, "a"))
    assert result["tags"] == ["ordercare:stale", "vip", "ordercare:late-1"]
    assert meta_entries(site, order_id) == [("ordercare_tags", "ordercare:stale, vip, ordercare:late-1")]


def test_a_null_meta_value_deletes_the_key_as_woocommerce_does(site: WooSandbox, client: WooCommerceClient) -> None:
    order_id = int(site.create_order(meta={"_ordercare_tags": "vip"})["id"])
    client.request("PUT", f"orders/{order_id}", {"meta_data": [{"key": "_ordercare_tags", "value": None}]})
    assert "_ordercare_tags" not in site.meta(order_id)
    client.request("PUT", f"orders/{order_id}", {"meta_data": [{"key": "never_there", "value": None}]})
    assert "never_there" not in site.meta(order_id)
