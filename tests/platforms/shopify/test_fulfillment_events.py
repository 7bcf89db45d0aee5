"""Carrier statuses written back to Shopify fulfilments: opt-in, once per carrier event, never over another app's.

Pure decisions of the ``shopify_events`` policy, and the performer against the sandbox shop over HTTP (the
documents validated against the 2026-10 schema there; ``test_documents`` validates them too).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest

from connector.actions import ActionKind, ActionRequest
from connector.carriers.config import CarriersSettings, PostnlSettings
from connector.config import ConfigError
from connector.model import Order, OrderStatus, Platform, Shipment, ShipmentEvent, ShipmentStatus
from connector.outbox.fulfillment_events import SKIPPED_OTHER_APP, FulfillmentEventPerformer
from connector.platforms.base import PermanentError
from connector.platforms.shopify import scopes
from connector.platforms.shopify.client import ShopifyClient
from connector.platforms.shopify.documents import DOCUMENTS
from connector.platforms.shopify.fulfillment_events import (
    FULFILLMENT_EVENT_STATUS,
    MARKER,
    changes,
    message_for,
)
from connector.policies.base import Decision, PolicyContext
from connector.policies.shopify_events import POLICY
from connector.sandbox.shopify import SandboxShop, admin_schema
from tests.conftest import make_settings
from tests.platforms.shopify.conftest import FakeTime
from tests.platforms.shopify.test_client import client_for
from tests.policies.support import ams, context, order, shipment

if TYPE_CHECKING:
    from connector.outbox.base import Environment

POSTNL = PostnlSettings(api_key="k", customer_number="12345678")
OPTED_IN = CarriersSettings(postnl=POSTNL, shopify_events=True)
NOW = ams(2026, 11, 26, 12, 0)


def carrier(status: ShipmentStatus, at: datetime, key: str, **changes: Any) -> ShipmentEvent:
    base: dict[str, Any] = {"source": "postnl", "raw_code": "5", "physical_scan": True}
    base.update(changes)
    return ShipmentEvent(key, status, at, **base)


def parcel(*events: ShipmentEvent, external_id: str = "5550001") -> Shipment:
    return shipment(ams(2026, 11, 25, 10, 0), external_id=external_id, events=events)


def shipped(*parcels: Shipment) -> Order:
    return order(status=OrderStatus.SHIPPED, shipments=parcels)


def ctx(carriers: CarriersSettings | None = OPTED_IN, **changes: Any) -> PolicyContext:
    return replace(context(**changes), carriers=carriers)


def written(decision: Decision) -> list[tuple[str, str, str]]:
    """(step, status, happened_at) of every planned write-back."""
    return [
        (s.action.step, s.action.payload["status"], s.action.payload["happened_at"])
        for s in decision.actions
        if s.action.kind is ActionKind.CREATE_FULFILLMENT_EVENT
    ]


# --- the policy: what is written ------------------------------------------------------------------------

PICKED = carrier(ShipmentStatus.CARRIER_PICKED_UP, ams(2026, 11, 25, 18, 0), "pn-2")
SORTED = carrier(ShipmentStatus.IN_TRANSIT, ams(2026, 11, 25, 23, 0), "pn-5a")
HUB = carrier(ShipmentStatus.IN_TRANSIT, ams(2026, 11, 26, 4, 0), "pn-5b")  # the same status again
OUT = carrier(
    ShipmentStatus.OUT_FOR_DELIVERY, ams(2026, 11, 26, 8, 0), "pn-7", raw_code="7", message="Bezorger onderweg"
)


def test_each_status_change_of_a_carrier_is_one_fulfilment_event_with_a_stable_step() -> None:
    decision = POLICY.decide(shipped(parcel(HUB, OUT, SORTED, PICKED)), {}, NOW, ctx())
    steps = written(decision)
    assert [(status, at) for _, status, at in steps] == [
        ("CARRIER_PICKED_UP", "2026-11-25T18:00:00+01:00"),
        ("IN_TRANSIT", "2026-11-25T23:00:00+01:00"),
        ("OUT_FOR_DELIVERY", "2026-11-26T08:00:00+01:00"),
    ]  # the hub scan changes nothing Shopify shows
    assert all(step.startswith("event-5550001-") for step, _, _ in steps)
    assert len({step for step, _, _ in steps}) == 3
    # the same events looked at again (in another order, with a new one): the same steps, one more
    again = POLICY.decide(shipped(parcel(PICKED, SORTED, HUB, OUT)), {}, NOW + timedelta(hours=1), ctx())
    assert written(again) == steps
    (action,) = [s.action for s in decision.actions if s.action.payload["status"] == "OUT_FOR_DELIVERY"]
    assert action.payload == {
        "fulfillment_id": "5550001",
        "status": "OUT_FOR_DELIVERY",
        "happened_at": "2026-11-26T08:00:00+01:00",
        "estimated_delivery_at": None,
        "message": f"Bezorger onderweg (PostNL 7) {MARKER}",
        "city": None,
        "country": None,
    }
    assert [s.incident for s in decision.actions] == [None, None, None]
    assert decision.incidents == []
    assert decision.vouchers == []


def test_nothing_is_written_without_the_opt_in_or_outside_shopify() -> None:
    moving = shipped(parcel(PICKED, OUT))
    assert POLICY.decide(moving, {}, NOW, ctx(carriers=None)).empty
    assert POLICY.decide(moving, {}, NOW, ctx(carriers=CarriersSettings(postnl=POSTNL))).empty
    assert POLICY.decide(moving, {}, NOW, ctx(platform=Platform.WOOCOMMERCE)).empty
    assert len(written(POLICY.decide(moving, {}, NOW, ctx()))) == 2  # the other side: opted in


def test_unknown_and_cancelled_are_never_written_and_a_return_is_a_failure() -> None:
    assert ShipmentStatus.UNKNOWN not in FULFILLMENT_EVENT_STATUS
    assert ShipmentStatus.CANCELLED not in FULFILLMENT_EVENT_STATUS
    odd = carrier(ShipmentStatus.UNKNOWN, ams(2026, 11, 26, 9, 0), "pn-99", raw_code="99")
    back = carrier(ShipmentStatus.RETURNED, ams(2026, 11, 26, 10, 0), "pn-rts")
    statuses = [status for _, status, _ in written(POLICY.decide(shipped(parcel(OUT, odd, back)), {}, NOW, ctx()))]
    assert statuses == ["OUT_FOR_DELIVERY", "FAILURE"]  # the unknown code in between is not written
    # every status Shopify knows is a FulfillmentEventStatus of the 2026-10 schema
    enum = admin_schema().get_type("FulfillmentEventStatus")
    assert set(FULFILLMENT_EVENT_STATUS.values()) <= set(getattr(enum, "values", {}))


def test_platform_events_are_not_written_back_and_another_apps_events_stop_the_write_back() -> None:
    ours_read_back = ShipmentEvent("9001", ShipmentStatus.IN_TRANSIT, SORTED.happened_at, message=message_for(SORTED))
    assert len(written(POLICY.decide(shipped(parcel(SORTED, ours_read_back)), {}, NOW, ctx()))) == 1
    theirs = ShipmentEvent("9002", ShipmentStatus.IN_TRANSIT, ams(2026, 11, 25, 20, 0), message="In transit")
    assert POLICY.decide(shipped(parcel(SORTED, theirs)), {}, NOW, ctx()).empty


def test_a_parcel_only_a_source_knows_has_no_fulfilment_to_write_to() -> None:
    own = parcel(OUT, external_id="postnl:3SABCD123")
    assert POLICY.decide(shipped(own), {}, NOW, ctx()).empty


def test_changes_older_than_the_horizon_are_not_written() -> None:
    horizon = {"shopify_events": {"max_age_days": 1}}
    at_edge = NOW - timedelta(days=1)
    edge = carrier(ShipmentStatus.IN_TRANSIT, at_edge, "pn-edge")
    older = carrier(ShipmentStatus.CARRIER_PICKED_UP, at_edge - timedelta(seconds=1), "pn-old")
    decision = POLICY.decide(shipped(parcel(older, edge)), {}, NOW, ctx(policies=horizon))
    assert [status for _, status, _ in written(decision)] == ["IN_TRANSIT"]
    assert list(changes([older, edge])) == [older, edge]


# --- the option ------------------------------------------------------------------------------------------


def test_the_option_is_for_shopify_shops_and_is_checked_by_name() -> None:
    base = make_settings()
    shopify, woo = (s.model_dump(exclude_none=True) for s in base.shops)
    carriers = {"postnl": {"api_key": "k", "customer_number": "12345678"}, "shopify_events": True}
    assert make_settings(shops=[{**shopify, "carriers": carriers}]).shops[0].carriers.shopify_events  # type: ignore[union-attr]
    with pytest.raises(ConfigError) as refused:
        make_settings(shops=[{**woo, "carriers": carriers}])
    assert any("carriers.shopify_events: only for a shopify shop" in p for p in refused.value.problems)
    with pytest.raises(ConfigError) as garbage:
        make_settings(shops=[{**shopify, "carriers": {**carriers, "shopify_events": "sometimes"}}])
    assert any("carriers.shopify_events" in p for p in garbage.value.problems)


def test_write_fulfillments_is_requested_only_with_the_option() -> None:
    assert "write_fulfillments" not in scopes.REQUIRED_SCOPES
    assert scopes.required_scopes() == scopes.REQUIRED_SCOPES
    with_option = scopes.required_scopes(["carriers.shopify_events"])
    assert set(with_option) - set(scopes.REQUIRED_SCOPES) == {"write_fulfillments"}
    assert set(scopes.OPTIONAL_DOCUMENTS) <= set(DOCUMENTS)
    lacking = [s for s in with_option if s != "write_fulfillments"]
    assert scopes.check(lacking, with_option, ["carriers.shopify_events"]).stops == {
        "write_fulfillments": ("FulfillmentEventCreate",)
    }


# --- the performer against the sandbox shop -------------------------------------------------------------


class _Env:
    """The part of the outbox environment the performer uses: the shop and its client."""

    def __init__(self, client: ShopifyClient, platform: Platform = Platform.SHOPIFY) -> None:
        self.client = client
        self.the_shop = context(platform=platform).shop

    def shop(self, shop_id: str) -> Any:
        return self.the_shop

    def client_for(self, shop_id: str) -> ShopifyClient:
        return self.client


def env_for(client: ShopifyClient, platform: Platform = Platform.SHOPIFY) -> Environment:
    return cast("Environment", _Env(client, platform))


@pytest.fixture
def granted(shop: SandboxShop) -> SandboxShop:
    shop.granted = set(scopes.required_scopes(["carriers.shopify_events"]))
    return shop


@pytest.fixture
def client(shop: SandboxShop, fake_time: FakeTime) -> Iterator[ShopifyClient]:
    c = client_for(shop, fake_time)
    yield c
    c.close()


def fulfilment(shop: SandboxShop) -> str:
    placed = shop.create_order()
    return str(shop.fulfil(placed["id"], tracking_number="3SABCD123")["id"])


def request(fulfillment_id: str, event: ShipmentEvent = OUT) -> ActionRequest:
    payload = POLICY.decide(shipped(parcel(event, external_id=fulfillment_id)), {}, NOW, ctx()).actions[0].action
    return ActionRequest(1, "fietsen", ActionKind.CREATE_FULFILLMENT_EVENT, "k", payload.payload, "1", 1)


def test_the_event_is_written_once_and_the_fulfilment_shows_it(granted: SandboxShop, client: ShopifyClient) -> None:
    fid = fulfilment(granted)
    performer, env = FulfillmentEventPerformer(), env_for(client)
    action = request(fid)
    assert performer.already_done(action, env) is None
    result = performer.perform(action, env)
    (event,) = granted.events_of(fid)
    assert result == {"fulfillment_event_id": event["id"], "status": "OUT_FOR_DELIVERY"}
    assert (event["status"], event["happenedAt"], event["app"]) == (
        "OUT_FOR_DELIVERY",
        "2026-11-26T07:00:00Z",
        "ordercare",
    )
    assert event["message"] == f"Bezorger onderweg (PostNL 7) {MARKER}"
    (placed,) = granted.orders.values()
    assert placed["fulfillments"][0]["shipment_status"] == "out_for_delivery"
    # after a crash, and on a second attempt: the event is found, nothing is written again
    assert performer.already_done(action, env) == result
    assert performer.perform(action, env) == result
    assert len(granted.events_of(fid)) == 1
    assert granted.counters["fulfillment_events_created"] == 1


def test_a_fulfilment_with_another_apps_events_is_skipped(granted: SandboxShop, client: ShopifyClient) -> None:
    fid = fulfilment(granted)
    granted.add_fulfillment_event(fid, "in_transit", message="Onderweg", app="AfterShip")
    result = FulfillmentEventPerformer().perform(request(fid), env_for(client))
    assert result == {"skipped": SKIPPED_OTHER_APP}
    assert [e["app"] for e in granted.events_of(fid)] == ["AfterShip"]  # nothing written
    assert granted.counters["fulfillment_events_created"] == 0


def test_without_write_fulfillments_shopify_refuses_and_nothing_is_written(
    shop: SandboxShop, client: ShopifyClient
) -> None:
    fid = fulfilment(shop)
    assert "write_fulfillments" not in shop.granted  # what an install requests by default
    with pytest.raises(PermanentError, match="write_fulfillments"):
        FulfillmentEventPerformer().perform(request(fid), env_for(client))
    assert shop.events_of(fid) == []
    assert shop.counters["fulfillment_events_created"] == 0


def test_an_unknown_fulfilment_or_a_woocommerce_shop_fails_for_good(
    granted: SandboxShop, client: ShopifyClient
) -> None:
    with pytest.raises(PermanentError, match="not found"):
        FulfillmentEventPerformer().perform(request("999999999"), env_for(client))
    fid = fulfilment(granted)
    with pytest.raises(PermanentError, match="only a Shopify shop"):
        FulfillmentEventPerformer().perform(request(fid), env_for(client, Platform.WOOCOMMERCE))
    assert granted.events_of(fid) == []


def test_the_mutation_answers_a_user_error_for_a_fulfilment_it_does_not_know(
    granted: SandboxShop, client: ShopifyClient
) -> None:
    data = client.execute(
        "FulfillmentEventCreate",
        {"event": {"fulfillmentId": "gid://shopify/Fulfillment/424242", "status": "IN_TRANSIT"}},
    )
    assert data["fulfillmentEventCreate"] == {
        "fulfillmentEvent": None,
        "userErrors": [{"field": ["fulfillmentEvent", "fulfillmentId"], "message": "Fulfillment does not exist."}],
    }
