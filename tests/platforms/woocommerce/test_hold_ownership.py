"""Only our own hold (issue 14, item 3): ordercare releases an ``on-hold`` only while it is still the one it placed.

Measured on WooCommerce 7.9.0 (../shared/platforms/woocommerce-real-2026-12.md, order 30): a status change by
staff leaves the order's meta alone, so ``_ordercare_hold=1`` outlived the staff's release of our hold, and the
customer's address fix later moved the staff's own on-hold back to processing. The sandbox behaves the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from connector.actions import ActionKind, PlannedAction
from connector.platforms.woocommerce.client import WooCommerceClient
from connector.platforms.woocommerce.mapper import order_from_rest
from connector.sandbox.woocommerce import WooSandbox

from .live import Clock, action, outbox, shop_for

STAFF_HOLD_STAYS = "our hold was released in the shop; the order's on-hold now was set there, so it stays"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(clock: Clock) -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=clock, ping_on_create=False)
    with sandbox.serve():
        yield sandbox


@pytest.fixture
def client(site: WooSandbox, clock: Clock) -> Iterator[WooCommerceClient]:
    client = WooCommerceClient(shop_for(site), timeout=5, clock=clock)
    yield client
    client.close()


def held_by_us(site: WooSandbox, client: WooCommerceClient) -> int:
    order_id = int(site.create_order()["id"])
    result = client.perform(action(ActionKind.HOLD_FULFILLMENT, order_id, {"reason": "incorrect_address"}, "hold"))
    assert result == {"held": True, "status": "on-hold"}
    return order_id


def reconcile_read(client: WooCommerceClient, order_id: int) -> None:
    """The reconcile job lists the changed orders."""
    assert str(order_id) in [e.order_external_id for e in client.changed_orders(None)]


def action_read(client: WooCommerceClient, order_id: int) -> None:
    """Some other action of ours on the order (a tag), which reads the order first."""
    client.perform(action(ActionKind.ADD_TAGS, order_id, {"tags": ["ordercare:address"]}, "tag"))


READS: dict[str, Callable[[WooCommerceClient, int], None]] = {"reconcile": reconcile_read, "action": action_read}


def test_a_status_change_by_staff_leaves_our_marker_alone_as_woocommerce_does(
    site: WooSandbox, client: WooCommerceClient
) -> None:
    order_id = held_by_us(site, client)
    site.update_order(order_id, status="processing")
    assert site.meta(order_id)["_ordercare_hold"] == "1"
    site.update_order(order_id, status="on-hold")
    assert site.meta(order_id)["_ordercare_hold"] == "1"


@pytest.mark.parametrize("read", READS.values(), ids=list(READS))
def test_staff_released_our_hold_then_held_it_themselves_so_our_release_leaves_it_on_hold(
    site: WooSandbox, client: WooCommerceClient, read: Callable[[WooCommerceClient, int], None]
) -> None:
    order_id = held_by_us(site, client)
    site.update_order(order_id, status="processing")  # staff release our hold in the order screen
    read(client, order_id)  # ordercare's next read sees the release: the hold is not ours any more
    meta = site.meta(order_id)
    assert (meta["_ordercare_hold"], meta["_ordercare_hold_released"]) == ("0", "shop")
    site.update_order(order_id, status="on-hold")  # staff hold it for a reason of their own
    release = action(ActionKind.RELEASE_HOLD, order_id, {}, "release")  # e.g. after the customer's address fix
    result = client.perform(release)
    assert result == {"released": False, "status": "on-hold", "why": STAFF_HOLD_STAYS}
    assert site.order(order_id)["status"] == "on-hold"
    assert site.counters["status:on-hold->processing"] == 1  # the staff's release, none of ours
    assert client.already_done(release) == result  # a retry after a crash says the same
    # what ordercare stores of the order: the on-hold is someone else's (so e.g. stale may count it)
    order = order_from_rest(site.order(order_id), client.shop.context)
    assert [(h.handle, h.released) for h in order.holds] == [(None, False)]


def test_the_marker_a_reconcile_sees_on_a_released_hold_is_cleared_in_its_snapshot_too(
    site: WooSandbox, client: WooCommerceClient
) -> None:
    order_id = held_by_us(site, client)
    site.update_order(order_id, status="processing")
    [event] = [e for e in client.changed_orders(None) if e.order_external_id == str(order_id)]
    assert event.order is not None
    assert event.order.extra["ordercare_meta"]["_ordercare_hold"] == "0"
    assert [(h.handle, h.released) for h in event.order.holds] == [(None, True)]


def test_our_hold_still_ours_is_released_to_processing(site: WooSandbox, client: WooCommerceClient) -> None:
    order_id = held_by_us(site, client)
    # staff work on the held order without taking it off hold: a note field, the address, a plugin's meta
    site.update_order(order_id, customer_note="Graag bij de buren afgeven", meta={"_wc_pdf_invoice": "F-2026-77"})
    site.update_order(order_id, shipping={"address_1": "Kerkstraat 12"})
    reconcile_read(client, order_id)
    action_read(client, order_id)
    assert site.meta(order_id)["_ordercare_hold"] == "1"
    release = action(ActionKind.RELEASE_HOLD, order_id, {}, "release")
    assert client.perform(release) == {"released": True, "status": "processing"}
    assert site.order(order_id)["status"] == "processing"
    meta = site.meta(order_id)
    assert (meta["_ordercare_hold"], meta["_ordercare_hold_released"]) == ("0", "ordercare")
    assert client.already_done(release) == {"released": True, "status": "processing"}


def test_a_new_hold_of_ours_after_staff_released_the_last_one_is_ours_again(
    site: WooSandbox, client: WooCommerceClient
) -> None:
    order_id = held_by_us(site, client)
    site.update_order(order_id, status="processing")
    reconcile_read(client, order_id)
    hold = action(ActionKind.HOLD_FULFILLMENT, order_id, {"reason": "incorrect_address"}, "hold-2")
    assert client.perform(hold) == {"held": True, "status": "on-hold"}
    assert "_ordercare_hold_released" not in site.meta(order_id)
    assert client.perform(action(ActionKind.RELEASE_HOLD, order_id, {}, "release-2"))["released"] is True
    assert site.order(order_id)["status"] == "processing"


def test_we_never_take_over_an_on_hold_staff_set(site: WooSandbox, client: WooCommerceClient) -> None:
    order_id = int(site.create_order(status="on-hold")["id"])
    assert client.perform(action(ActionKind.HOLD_FULFILLMENT, order_id, {"reason": "x"}, "hold")) == {
        "held": False,
        "status": "on-hold",
    }
    assert "_ordercare_hold" not in site.meta(order_id)


def test_a_trashed_and_restored_order_keeps_our_hold(site: WooSandbox, client: WooCommerceClient) -> None:
    order_id = held_by_us(site, client)
    site.trash_order(order_id)
    client.get_order(str(order_id))  # a read while it is in the trash
    assert site.meta(order_id)["_ordercare_hold"] == "1"
    site.restore_order(order_id)
    assert client.perform(action(ActionKind.RELEASE_HOLD, order_id, {}, "release"))["released"] is True


def test_through_the_outbox_the_refused_release_is_done_not_failed(
    db_url: str, engine: Engine, clock: Clock, site: WooSandbox, client: WooCommerceClient
) -> None:
    order_id = int(site.create_order()["id"])
    with outbox(db_url, engine, clock, site) as box:
        hold = box.run(order_id, PlannedAction(ActionKind.HOLD_FULFILLMENT, "address", "1-hold", {"reason": "x"}))
        assert (hold.state, hold.result) == ("done", {"held": True, "status": "on-hold"})
        site.update_order(order_id, status="processing")
        reconcile_read(client, order_id)
        site.update_order(order_id, status="on-hold")
        release = box.run(order_id, PlannedAction(ActionKind.RELEASE_HOLD, "address", "fix-1-release", {}))
    assert (release.state, release.last_error) == ("done", None)
    assert release.result == {"released": False, "status": "on-hold", "why": STAFF_HOLD_STAYS}
    assert site.order(order_id)["status"] == "on-hold"
