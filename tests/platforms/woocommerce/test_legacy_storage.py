"""WooCommerce with the legacy post storage: changes that keep ``date_modified``, and what ordercare makes of them.

The sandbox site first (``hpos=False``, its default, against ``hpos=True``): an address or meta-only save
fires ``order.updated`` with the same ``date_modified_gmt``; a change of status (or customer note, the post
excerpt) moves it; every trash sends ``{"id": N}``. Then its deliveries through the adapter and ingest: the
same content at one timestamp is a duplicate, different content at one timestamp is applied, an older
version is stale, and a second trash after a restore applies. Measured on WooCommerce 7.9.0:
../shared/platforms/woocommerce-real-2026-12.md (finding 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings
from connector.ingest import Outcome, RawDelivery, ingest
from connector.platforms.woocommerce import ADAPTER
from connector.sandbox.woocommerce import WooSandbox, php_json
from connector.store.db import transaction
from tests.conftest import WOO_SECRET

from .support import config_shop, delivery, stored_order

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=[False, True], ids=["legacy", "hpos"])
def site(request: pytest.FixtureRequest) -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=Clock(), ping_on_create=False, webhook_secret=WOO_SECRET, hpos=request.param)
    with sandbox.serve():
        yield sandbox


def later(site: WooSandbox, minutes: int = 10) -> None:
    clock = site.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(minutes=minutes)


def modified(site: WooSandbox, order_id: int) -> str:
    return str(site.order(order_id)["date_modified_gmt"])


def put(site: WooSandbox, order_id: int, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.put(
        f"{site.site_url}/wp-json/wc/v3/orders/{order_id}",
        json=body,
        auth=(site.consumer_key, site.consumer_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def listed(site: WooSandbox, **params: str) -> list[int]:
    answer = requests.get(
        f"{site.site_url}/wp-json/wc/v3/orders",
        params=params,
        auth=(site.consumer_key, site.consumer_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [int(o["id"]) for o in answer.json()]


def subscribed(site: WooSandbox) -> None:
    for topic in ("order.created", "order.updated", "order.deleted", "order.restored"):
        site.add_webhook(topic, "http://127.0.0.1:9/webhooks/woocommerce")  # never delivered here


# --- the sandbox site ------------------------------------------------------------------------------------


def test_an_address_put_over_rest_fires_order_updated_and_moves_date_modified_only_with_hpos(
    site: WooSandbox,
) -> None:
    subscribed(site)
    oid = int(site.create_order(house_number="")["id"])
    before = modified(site, oid)
    site.deliver_pending()
    later(site)
    answer = put(site, oid, {"shipping": {"address_1": "Laan van Meerdervoort 1001"}})
    assert answer["shipping"]["address_1"] == "Laan van Meerdervoort 1001"
    assert ("order.updated", oid) in site.pending_deliveries()
    assert (modified(site, oid) == before) is not site.hpos
    assert (answer["date_modified_gmt"] == before) is not site.hpos


def test_a_meta_only_save_fires_order_updated_and_moves_date_modified_only_with_hpos(site: WooSandbox) -> None:
    subscribed(site)
    oid = int(site.create_order()["id"])
    site.add_tracking(oid, number="3SNL0001", status="in_transit")  # and completed: a status change
    shipped = modified(site, oid)
    site.deliver_pending()
    later(site)
    site.set_shipment_status(oid, 0, "delivered")  # TrackShip: update_meta_data + save
    assert site.pending_deliveries() == [("order.updated", oid)]
    assert site.meta(oid)["shipment_status"][0]["status"] == "delivered"
    assert (modified(site, oid) == shipped) is not site.hpos
    site.deliver_pending()
    later(site)
    put(site, oid, {"meta_data": [{"key": "_carrier_note", "value": "bij de buren"}]})
    assert site.pending_deliveries() == [("order.updated", oid)]
    assert (modified(site, oid) == shipped) is not site.hpos
    later(site)
    site.update_order(oid, shipping={"address_2": "achterom"}, meta={"_ordercare_tags": "x"})  # staff, plugin
    assert (modified(site, oid) == shipped) is not site.hpos


@pytest.mark.parametrize(
    "change",
    [
        {"status": "on-hold"},
        {"customer_note": "Graag bij de buren afgeven"},
    ],
    ids=["status", "customer-note"],
)
def test_a_change_of_the_post_row_moves_date_modified_on_both_storages(
    site: WooSandbox, change: dict[str, str]
) -> None:
    oid = int(site.create_order()["id"])
    before = modified(site, oid)
    later(site)
    assert put(site, oid, change)["date_modified_gmt"] != before
    moved = modified(site, oid)
    later(site)
    site.update_order(oid, status="completed")
    assert modified(site, oid) != moved


def test_every_trash_sends_the_same_body_and_trash_and_restore_move_date_modified(site: WooSandbox) -> None:
    subscribed(site)
    oid = int(site.create_order()["id"])
    site.deliver_pending()
    bodies, stamps = [], [modified(site, oid)]
    for _ in range(2):
        later(site)
        site.trash_order(oid)
        assert site.pending_deliveries() == [("order.deleted", oid)]
        bodies.append([d.body for d in site.deliver_pending()])
        stamps.append(modified(site, oid))
        later(site)
        site.restore_order(oid)
        assert site.pending_deliveries() == [("order.restored", oid)]
        site.deliver_pending()
        stamps.append(modified(site, oid))
    assert bodies == [[php_json({"id": oid})], [php_json({"id": oid})]]
    assert len(set(stamps)) == len(stamps)  # a status change rewrites the post row


def test_the_listing_sees_an_address_fix_only_with_hpos_and_include_reads_named_orders(site: WooSandbox) -> None:
    first, second = int(site.create_order()["id"]), int(site.create_order()["id"])
    cursor = modified(site, first)
    later(site)
    put(site, first, {"shipping": {"address_1": "Keizersgracht 221"}})
    assert (first in listed(site, modified_after=cursor, dates_are_gmt="true")) is site.hpos
    assert sorted(listed(site, include=f"{first},{second},999")) == [first, second]
    assert listed(site, include=str(second)) == [second]


# --- through the adapter and ingest ---------------------------------------------------------------------


class Ordercare:
    """The site's webhook bodies, as built now, through the adapter and ingest."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], site: WooSandbox) -> None:
        self.settings, self.sessions, self.site = settings, sessions, site
        self.shop = config_shop(settings, sessions, START)

    def receive(self, topic: str, order_id: int, body: bytes | None = None) -> Outcome:
        headers, raw = delivery(topic, body if body is not None else self.site.payload(topic, order_id))
        event = ADAPTER.parse(headers, raw, self.shop.context)
        assert event is not None
        with transaction(self.sessions) as session:
            return ingest(session, self.shop, event, START, RawDelivery(topic, raw))

    def deleted(self, order_id: int) -> bool:
        stored = stored_order(self.sessions, self.shop.id, str(order_id))
        assert stored is not None
        return stored[1]


@pytest.fixture
def legacy() -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=Clock(), ping_on_create=False, webhook_secret=WOO_SECRET)
    with sandbox.serve():
        yield sandbox


@pytest.fixture
def ours(settings: Settings, sessions: sessionmaker[Session], legacy: WooSandbox) -> Ordercare:
    return Ordercare(settings, sessions, legacy)


def test_same_content_at_the_same_timestamp_is_a_duplicate(ours: Ordercare, legacy: WooSandbox) -> None:
    """A save of meta we do not map (an attribution plugin) sends the order again, unchanged for us."""
    oid = int(legacy.create_order()["id"])
    assert ours.receive("order.created", oid) is Outcome.APPLIED
    before = modified(legacy, oid)
    later(legacy)
    put(legacy, oid, {"meta_data": [{"key": "_wc_order_attribution_source_type", "value": "organic"}]})
    assert modified(legacy, oid) == before
    assert ours.receive("order.updated", oid) is Outcome.DUPLICATE
    assert ours.receive("order.updated", oid) is Outcome.DUPLICATE


def test_different_content_at_the_same_timestamp_is_applied(ours: Ordercare, legacy: WooSandbox) -> None:
    """The staff address fix over REST. Before, its key (id + ``date_modified_gmt``) was the created
    delivery's, and it was answered ``duplicate``: the fix was dropped."""
    oid = int(legacy.create_order(street="Kerkstraat", house_number="", postcode="1017 GC")["id"])
    assert ours.receive("order.created", oid) is Outcome.APPLIED
    later(legacy)
    put(
        legacy,
        oid,
        {"shipping": {"address_1": "Kerkstraat 12"}, "meta_data": [{"key": "_shipping_house_number", "value": "12"}]},
    )
    assert ours.receive("order.updated", oid) is Outcome.APPLIED
    stored = stored_order(ours.sessions, ours.shop.id, str(oid))
    assert stored is not None
    address = stored[0].shipping_address
    assert address is not None
    assert (address.address1, address.house_number) == ("Kerkstraat 12", "12")
    assert stored[0].updated_at == datetime.fromisoformat(modified(legacy, oid)).replace(tzinfo=UTC)


def test_a_carrier_status_saved_as_meta_is_applied_and_a_late_copy_of_the_earlier_body_is_a_duplicate(
    ours: Ordercare, legacy: WooSandbox
) -> None:
    oid = int(legacy.create_order()["id"])
    legacy.add_tracking(oid, number="3SNL0001", status="in_transit")
    in_transit = legacy.payload("order.updated", oid)
    assert ours.receive("order.updated", oid) is Outcome.APPLIED
    later(legacy)
    legacy.set_shipment_status(oid, 0, "delivered")
    assert ours.receive("order.updated", oid) is Outcome.APPLIED  # before: duplicate, the parcel stayed in transit
    assert ours.receive("order.updated", oid, in_transit) is Outcome.DUPLICATE
    stored = stored_order(ours.sessions, ours.shop.id, str(oid))
    assert stored is not None
    assert stored[0].status.value == "delivered"


def test_an_older_version_is_stale(ours: Ordercare, legacy: WooSandbox) -> None:
    oid = int(legacy.create_order()["id"])
    placed = legacy.payload("order.created", oid)
    later(legacy)
    legacy.update_order(oid, status="completed")
    assert ours.receive("order.updated", oid) is Outcome.APPLIED
    assert ours.receive("order.created", oid, placed) is Outcome.STALE
    stored = stored_order(ours.sessions, ours.shop.id, str(oid))
    assert stored is not None
    assert stored[0].platform_status == "completed"


def test_a_second_trash_after_a_restore_applies(ours: Ordercare, legacy: WooSandbox) -> None:
    """Every trash sends ``{"id": N}``: whether it is news is the stored deletion state. Before, the second
    trash was answered ``duplicate`` (key ``N:deleted``) and ordercare kept a trashed order live."""
    oid = int(legacy.create_order()["id"])
    assert ours.receive("order.created", oid) is Outcome.APPLIED
    for _ in range(2):
        later(legacy)
        legacy.trash_order(oid)
        assert ours.receive("order.deleted", oid) is Outcome.APPLIED
        assert ours.receive("order.deleted", oid) is Outcome.DUPLICATE  # the same trash, once more
        assert ours.deleted(oid) is True
        later(legacy)
        legacy.restore_order(oid)
        assert ours.receive("order.restored", oid) is Outcome.APPLIED
        assert ours.deleted(oid) is False
