"""The shop's ``carriers:`` block reaches the policies through the tick: unseen parcels, Shopify write-back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from connector.model import OrderStatus, Promise, ShipmentEvent, ShipmentStatus
from connector.policies import engine as tick
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import OrderRow

from .support import ams, order, shipment
from .test_engine import actions, incidents, put

POSTNL = {"postnl": {"api_key": "k", "customer_number": "12345678"}}
STALL = ams(2026, 11, 26, 12, 0)  # two working days after a Tuesday 12:00 hand-over


def with_carriers(build: Callable[..., Services], shop: int, carriers: dict[str, Any]) -> Services:
    shops = [s.model_dump(exclude_none=True) for s in build().settings.shops]
    shops[shop]["carriers"] = carriers
    return build(shops=shops)


def woo_parcel() -> Any:
    """theewinkel #2001: a PostNL tracking number from a tracking plugin, no status, no scan."""
    parcel = shipment(ams(2026, 11, 24, 12, 0), status=ShipmentStatus.UNKNOWN)
    return order(
        "2001",
        shop_id="theewinkel",
        status=OrderStatus.SHIPPED,
        shipments=(parcel,),
        promise=Promise(deliver_on=ams(2026, 11, 26).date()),
    )


def test_without_a_source_staff_hear_of_the_unseen_parcel_and_the_customer_hears_nothing(
    build: Callable[..., Services],
) -> None:
    services = build()
    put(services, woo_parcel(), due=STALL)
    tick.run_tick(services, STALL)
    assert incidents(services) == [("parcel_unseen", "open", 1, None)]
    assert [(key, kind) for key, kind, _ in actions(services)] == [
        ("theewinkel:2001:shipment_delay:1-unseen-tag", "add_tags"),
        ("theewinkel:2001:shipment_delay:1-unseen-note", "add_note"),
    ]


def test_with_a_source_that_reads_the_parcel_the_ladder_runs(build: Callable[..., Services]) -> None:
    services = with_carriers(build, 1, POSTNL)
    put(services, woo_parcel(), due=STALL)
    tick.run_tick(services, STALL)
    assert incidents(services) == [("shipment_delay", "open", 1, None)]
    assert "notify_customer" in [kind for _, kind, _ in actions(services)]


def shopify_parcel() -> Any:
    """fietsen #1001, fulfilment 5550001: PostNL picked it up Tuesday and is delivering it Wednesday."""
    scans = tuple(
        ShipmentEvent(key, status, at, source="postnl", physical_scan=True)
        for key, status, at in (
            ("pn-2", ShipmentStatus.CARRIER_PICKED_UP, ams(2026, 11, 24, 18, 0)),
            ("pn-7", ShipmentStatus.OUT_FOR_DELIVERY, ams(2026, 11, 25, 8, 0)),
        )
    )
    parcel = shipment(ams(2026, 11, 24, 12, 0), external_id="5550001", events=scans)
    return order(status=OrderStatus.SHIPPED, shipments=(parcel,))


def test_an_opted_in_shopify_shop_gets_each_carrier_change_written_once(build: Callable[..., Services]) -> None:
    services = with_carriers(build, 0, {**POSTNL, "shopify_events": True})
    put(services, shopify_parcel(), due=ams(2026, 11, 25, 9, 0))
    tick.run_tick(services, ams(2026, 11, 25, 9, 0))
    written = [key for key, kind, _ in actions(services) if kind == "create_fulfillment_event"]
    assert len(written) == 2
    assert all(key.startswith("fietsen:1001:shopify_events:event-5550001-") for key in written)
    later = ams(2026, 11, 25, 10, 0)
    with transaction(services.sessions) as session:
        session.execute(update(OrderRow).values(next_check_at=later))
    tick.run_tick(services, later)
    assert [key for key, kind, _ in actions(services) if kind == "create_fulfillment_event"] == written


def test_a_shop_that_did_not_opt_in_gets_nothing_written(build: Callable[..., Services]) -> None:
    services = with_carriers(build, 0, POSTNL)
    put(services, shopify_parcel(), due=ams(2026, 11, 25, 9, 0))
    tick.run_tick(services, ams(2026, 11, 25, 9, 0))
    assert [kind for _, kind, _ in actions(services) if kind == "create_fulfillment_event"] == []
