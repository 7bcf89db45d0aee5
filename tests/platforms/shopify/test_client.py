"""The GraphQL client against the sandbox shop: every action, already_done, errors, pacing, reconcile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from connector.actions import ActionKind, ActionRequest
from connector.model import EventKind, OrderStatus
from connector.platforms.base import PermanentError, RetryableError
from connector.platforms.shopify.client import CostBucket, ShopifyClient, compose_address1
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, Faults, SandboxShop, ShopifySandbox
from tests.platforms.shopify.conftest import DOMAIN, NOW, SHOP, FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_sandbox(fake_time: FakeTime, **kwargs: Any) -> ShopifySandbox:
    return ShopifySandbox(clock=lambda: NOW, monotonic=fake_time.monotonic, sleep=fake_time.sleep, **kwargs)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[ShopifySandbox]:
    sandbox = ShopifySandbox(clock=lambda: NOW)
    with BackgroundServer(sandbox) as server:
        sandbox.url = server.url
        yield sandbox


@pytest.fixture
def served(shared_sandbox: ShopifySandbox, fake_time: FakeTime) -> tuple[ShopifySandbox, SandboxShop]:
    """A fresh shop (own counters, own bucket) on the module's sandbox, with a fake bucket clock."""
    shared_sandbox.monotonic = fake_time.monotonic
    shared_sandbox.clock = lambda: NOW
    n = len(shared_sandbox.shops)
    shop = shared_sandbox.add_shop(f"shop-{n}.myshopify.com", "secret", access_token=f"shpat_ok_{n}")
    return shared_sandbox, shop


def client_for(shop: SandboxShop, fake_time: FakeTime, **kwargs: Any) -> ShopifyClient:
    return ShopifyClient(
        SHOP,
        shop_key=shop.domain,
        base_url=shop.base_url,
        credentials={"access_token": shop.access_token},
        clock=lambda: NOW,
        sleep=fake_time.sleep,
        monotonic=fake_time.monotonic,
        **kwargs,
    )


@pytest.fixture
def client(served: tuple[ShopifySandbox, SandboxShop], fake_time: FakeTime) -> Iterator[ShopifyClient]:
    c = client_for(served[1], fake_time)
    yield c
    c.close()


def req(kind: ActionKind, order_id: str | None, payload: dict[str, Any], attempt: int = 1) -> ActionRequest:
    return ActionRequest(
        action_id=1,
        shop_id="fietsen",
        kind=kind,
        idempotency_key=f"fietsen:{order_id}:test:{kind.value}",
        payload=payload,
        order_external_id=order_id,
        attempt=attempt,
    )


def test_add_tags(served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient) -> None:
    _, shop = served
    order = shop.create_order(tags="vip")
    oid = str(order["id"])
    request = req(ActionKind.ADD_TAGS, oid, {"tags": ["ordercare:address", "ordercare:late-1"]})
    assert client.already_done(request) is None
    assert client.perform(request) == {"tags": ["ordercare:address", "ordercare:late-1"]}
    assert shop.order(oid)["tags"] == "vip, ordercare:address, ordercare:late-1"
    assert client.already_done(request) == {"tags": ["ordercare:address", "ordercare:late-1"]}
    assert shop.counters["tagsAdd"] == 1


def test_add_note_keeps_the_merchants_note(served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient) -> None:
    _, shop = served
    oid = str(shop.create_order(note="Klant belt zelf.")["id"])
    line = "24 nov 2026 10:00 ordercare: huisnummer ontbreekt; klant gemaild."  # the policy dates and signs it
    request = req(ActionKind.ADD_NOTE, oid, {"text": line})
    assert client.already_done(request) is None
    assert client.perform(request) == {"line": line}
    assert shop.order(oid)["note"] == f"Klant belt zelf.\n{line}"
    assert client.already_done(request) == {"note": "already present"}
    # a replay writes nothing
    assert client.perform(request) == {"note": "already present"}
    assert shop.counters["notes_written"] == 1
    empty = str(shop.create_order(note=None)["id"])
    client.perform(req(ActionKind.ADD_NOTE, empty, {"text": "Eerste regel"}))
    assert shop.order(empty)["note"] == "Eerste regel"


def test_set_attributes_merges(served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient) -> None:
    _, shop = served
    oid = str(shop.create_order(note_attributes=[{"name": "bezorgvoorkeur", "value": "avond"}])["id"])
    request = req(ActionKind.SET_ATTRIBUTES, oid, {"attributes": {"ordercare_state": "address"}})
    assert client.already_done(request) is None
    client.perform(request)
    assert shop.order(oid)["note_attributes"] == [
        {"name": "bezorgvoorkeur", "value": "avond"},
        {"name": "ordercare_state", "value": "address"},
    ]
    assert client.already_done(request) == {"attributes": {"ordercare_state": "address"}}


def test_create_voucher(served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient) -> None:
    _, shop = served
    payload = {
        "code": "SORRY-7K2Q",
        "kind": "percentage",
        "value": "10",
        "currency": "EUR",
        "starts_at": "2026-11-24T09:00:00Z",
        "ends_at": "2027-02-22T09:00:00Z",
        "customer_external_id": "7300000000000000123",
        "email": "sanne.devries@example.nl",
        "title": "Excuses voor de vertraging",
    }
    request = req(ActionKind.CREATE_VOUCHER, "1", payload)
    assert client.already_done(request) is None
    result = client.perform(request)
    assert result["code"] == "SORRY-7K2Q"
    assert result["discount_id"].startswith("gid://shopify/DiscountCodeNode/")
    stored = shop.discounts["SORRY-7K2Q"]
    assert stored["usageLimit"] == 1
    assert stored["appliesOncePerCustomer"] is True
    assert stored["context"] == {"customers": {"add": ["gid://shopify/Customer/7300000000000000123"]}}
    assert stored["customerGets"] == {"value": {"percentage": 0.1}, "items": {"all": True}}
    assert (stored["startsAt"], stored["endsAt"]) == ("2026-11-24T09:00:00Z", "2027-02-22T09:00:00Z")
    assert client.already_done(request) == result
    # creating it again (a replay that skipped the check) finds our code instead of failing
    assert client.perform(request) == result
    assert shop.counters["discounts_created"] == 1


def test_fixed_voucher_for_everyone(client: ShopifyClient, served: tuple[ShopifySandbox, SandboxShop]) -> None:
    _, shop = served
    client.perform(req(ActionKind.CREATE_VOUCHER, None, {"code": "VIJF", "kind": "fixed", "value": "5.00"}))
    stored = shop.discounts["VIJF"]
    assert stored["context"] == {"all": "ALL"}
    assert stored["customerGets"]["value"] == {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}}
    assert stored["startsAt"] == "2026-11-24T09:00:00Z"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"code": "X", "kind": "percentage", "value": "0"}, "payload.value"),
        ({"code": "X", "kind": "percentage", "value": "100.01"}, "payload.value"),
        ({"code": "X", "kind": "fixed", "value": "-1"}, "payload.value"),
        ({"code": "X", "kind": "gift", "value": "1"}, "payload.kind"),
        ({"kind": "fixed", "value": "1"}, "payload.code"),
    ],
)
def test_bad_voucher_payload_is_permanent(client: ShopifyClient, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        client.perform(req(ActionKind.CREATE_VOUCHER, None, payload))
    assert client.calls == 0


def test_user_errors_are_permanent_with_the_platform_message(
    served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient
) -> None:
    _, shop = served
    with pytest.raises(PermanentError) as info:
        client.perform(req(ActionKind.ADD_TAGS, "424242", {"tags": ["x"]}))
    assert info.value.platform_message == "id: Order does not exist"
    assert shop.counters["tagsAdd"] == 0


def test_hold_and_release_only_our_own(served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient) -> None:
    _, shop = served
    oid = str(shop.create_order()["id"])
    fo_id = next(fo["id"] for fo in shop.fulfillment_orders.values() if fo["order_id"] == oid)
    hold = req(ActionKind.HOLD_FULFILLMENT, oid, {"reason": "incorrect_address", "note": "Huisnummer ontbreekt"})
    release = req(ActionKind.RELEASE_HOLD, oid, {})
    assert client.already_done(hold) is None
    assert client.already_done(release) == {"released": []}
    result = client.perform(hold)
    assert len(result["holds"]) == 1
    held = shop.holds(oid)
    assert [(h["handle"], h["reason"], h["reasonNotes"]) for h in held] == [
        ("ordercare", "INCORRECT_ADDRESS", "Huisnummer ontbreekt")
    ]
    assert result == {"holds": result["holds"], "held": [f"gid://shopify/FulfillmentOrder/{fo_id}"], "not_holdable": []}
    assert client.already_done(hold) == result
    assert client.perform(hold) == result  # our hold is already there: it counts, nothing is placed twice
    assert shop.counters["holds_placed"] == 1
    # the merchant's own hold stays when we release ours
    staff_hold = shop.merchant_hold(oid)
    assert client.already_done(release) is None
    assert client.perform(release) == {"released": result["holds"]}
    assert [h["id"] for h in shop.holds(oid)] == [staff_hold]
    assert shop.fulfillment_orders[fo_id]["status"] == "ON_HOLD"
    assert client.already_done(release) == {"released": []}


def test_hold_on_a_shipped_order_is_permanent(
    served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient
) -> None:
    _, shop = served
    oid = str(shop.create_order()["id"])
    shop.fulfil(oid)
    with pytest.raises(PermanentError, match="no fulfilment order that can be held"):
        client.perform(req(ActionKind.HOLD_FULFILLMENT, oid, {"reason": "address"}))
    assert shop.counters["holds_placed"] == 0


def test_update_address(served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient) -> None:
    _, shop = served
    oid = str(shop.create_order()["id"])
    address = {
        "first_name": "Sanne",
        "last_name": "de Vries",
        "street": "Kerkstraat",
        "house_number": "7",
        "house_number_addition": "hs",
        "postcode": "3511 AB",
        "city": "Utrecht",
        "country_code": "nl",
    }
    request = req(ActionKind.UPDATE_ADDRESS, oid, {"address": address})
    assert client.already_done(request) is None
    client.perform(request)
    stored = shop.order(oid)["shipping_address"]
    assert (stored["address1"], stored["zip"], stored["city"], stored["country_code"]) == (
        "Kerkstraat 7 hs",
        "3511 AB",
        "Utrecht",
        "NL",
    )
    assert client.already_done(request) is not None
    assert shop.counters["addresses_updated"] == 1
    with pytest.raises(PermanentError, match=r"payload\.address"):
        client.perform(req(ActionKind.UPDATE_ADDRESS, oid, {"address": {"city": "Utrecht"}}))


def test_compose_address1() -> None:
    assert (
        compose_address1({"street": "Hoofdstraat", "house_number": "12", "house_number_addition": "a"})
        == "Hoofdstraat 12a"
    )
    assert compose_address1({"street": "Hoofdstraat", "house_number": "12"}) == "Hoofdstraat 12"
    assert compose_address1({"address1": "Dorp 1", "street": "X"}) == "Dorp 1"
    assert compose_address1({"house_number": "12"}) is None


def test_unknown_kind_and_missing_order(client: ShopifyClient) -> None:
    with pytest.raises(PermanentError, match="not a Shopify action"):
        client.perform(req(ActionKind.NOTIFY_CUSTOMER, "1", {}))
    assert client.already_done(req(ActionKind.NOTIFY_CUSTOMER, "1", {})) is None
    with pytest.raises(PermanentError, match="names no order"):
        client.perform(req(ActionKind.ADD_TAGS, None, {"tags": ["a"]}))


def test_bad_token_is_permanent(served: tuple[ShopifySandbox, SandboxShop], fake_time: FakeTime) -> None:
    _, shop = served
    c = ShopifyClient(SHOP, shop_key=shop.domain, base_url=shop.base_url, credentials={"access_token": "wrong"},
                      clock=lambda: NOW, sleep=fake_time.sleep, monotonic=fake_time.monotonic)  # fmt: skip
    with pytest.raises(PermanentError) as info:
        c.perform(req(ActionKind.ADD_TAGS, "1", {"tags": ["a"]}))
    assert info.value.status == 401
    assert "Invalid API key or access token" in info.value.platform_message


def test_network_error_is_retryable(fake_time: FakeTime) -> None:
    c = ShopifyClient(SHOP, shop_key=DOMAIN, base_url="http://127.0.0.1:9", credentials={"access_token": "x"},
                      clock=lambda: NOW, sleep=fake_time.sleep, monotonic=fake_time.monotonic)  # fmt: skip
    with pytest.raises(RetryableError, match="network error"):
        c.perform(req(ActionKind.ADD_TAGS, "1", {"tags": ["a"]}))


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (Faults(server_error_rate=1.0), "answered 502"),
        (Faults(garbage_rate=1.0), "not JSON"),
        (Faults(throttle_rate=1.0), "throttled"),
    ],
)
def test_faults_are_retryable_and_change_nothing(fake_time: FakeTime, faults: Faults, message: str) -> None:
    sandbox = make_sandbox(fake_time, faults=faults)
    shop = sandbox.add_shop(DOMAIN, "secret", access_token="shpat_ok")
    oid = str(shop.create_order()["id"])
    with BackgroundServer(sandbox) as server:
        sandbox.url = server.url
        c = client_for(shop, fake_time)
        with pytest.raises(RetryableError, match=message) as info:
            c.perform(req(ActionKind.ADD_TAGS, oid, {"tags": ["a"]}))
    assert shop.order(oid)["tags"] == ""
    assert shop.counters["tagsAdd"] == 0
    if message == "throttled":
        assert info.value.retry_after is not None
        assert info.value.retry_after > 0


def test_timeout_after_apply_is_retryable_and_already_done_sees_it(fake_time: FakeTime) -> None:
    sandbox = ShopifySandbox(clock=lambda: NOW, faults=Faults(timeout_rate=1.0, timeout_seconds=0.5))
    shop = sandbox.add_shop(DOMAIN, "secret", access_token="shpat_ok")
    oid = str(shop.create_order()["id"])
    with BackgroundServer(sandbox) as server:
        sandbox.url = server.url
        c = client_for(shop, fake_time, timeout=(1.0, 0.1))
        request = req(ActionKind.ADD_TAGS, oid, {"tags": ["a"]})
        with pytest.raises(RetryableError, match="did not answer in time"):
            c.perform(request)
        sandbox.faults = Faults()
        sandbox.rng.seed(0)
        assert c.already_done(request) == {"tags": ["a"]}
    assert shop.counters["tagsAdd"] == 1


def test_pacing_waits_for_the_bucket(fake_time: FakeTime) -> None:
    # a small bucket: 60 points, 10 points/s; a tagsAdd costs 13, the note read 1
    sandbox = make_sandbox(fake_time, bucket=BucketConfig(maximum=60, restore_rate=10))
    shop = sandbox.add_shop(DOMAIN, "secret", access_token="shpat_ok")
    oid = str(shop.create_order()["id"])
    with BackgroundServer(sandbox) as server:
        sandbox.url = server.url
        c = client_for(shop, fake_time)
        for i in range(8):
            c.perform(req(ActionKind.ADD_TAGS, oid, {"tags": [f"t{i}"]}))
    assert shop.counters["tagsAdd"] == 8
    assert shop.counters["throttled"] == 0
    assert fake_time.slept, "the client must wait instead of being throttled"
    # it waits only as long as the restore rate needs: never more than one call's cost worth
    assert all(0 < s <= 1.3 + 0.02 + 1e-9 for s in fake_time.slept)


@pytest.mark.parametrize(("max_wait", "applied"), [(0.8, True), (0.7, False)])
def test_a_throttled_document_waits_for_its_cost_once_or_gives_retry_after(
    fake_time: FakeTime, max_wait: float, applied: bool
) -> None:
    """THROTTLED runs nothing; the answer names the cost, so the client waits for it once when that wait is
    within ``max_wait_seconds``, and otherwise hands the wait to the outbox as ``retry_after``."""
    sandbox = make_sandbox(fake_time, bucket=BucketConfig(maximum=60, restore_rate=10))
    shop = sandbox.add_shop(DOMAIN, "secret", access_token="shpat_ok")
    oid = str(shop.create_order()["id"])
    shop.available = 5  # another app drained the bucket
    shop.bucket_at = fake_time.now
    with BackgroundServer(sandbox) as server:
        sandbox.url = server.url
        c = client_for(shop, fake_time)
        c.max_wait_seconds = max_wait
        if applied:
            c.perform(req(ActionKind.ADD_TAGS, oid, {"tags": ["a"]}))
        else:
            with pytest.raises(RetryableError) as info:
                c.perform(req(ActionKind.ADD_TAGS, oid, {"tags": ["a"]}))
            assert info.value.retry_after == pytest.approx(0.8)  # (13 - 5) / 10
    assert shop.counters["throttled"] == 1
    assert ("a" in shop.order(oid)["tags"]) is applied
    assert shop.counters["tagsAdd"] == (1 if applied else 0)
    assert len(fake_time.slept) == (1 if applied else 0)


def test_cost_bucket_arithmetic() -> None:
    bucket = CostBucket()
    bucket.update({"maximumAvailable": 1000, "currentlyAvailable": 50, "restoreRate": 100}, now=0.0)
    assert bucket.wait_for(50, now=0.0) == 0.0
    assert bucket.wait_for(51, now=0.0) == pytest.approx(0.01)
    assert bucket.wait_for(250, now=1.0) == pytest.approx(1.0)
    assert bucket.predicted(100.0) == 1000


def test_max_wait_turns_into_retryable(fake_time: FakeTime, served: tuple[ShopifySandbox, SandboxShop]) -> None:
    c = client_for(served[1], fake_time, max_wait_seconds=0.5)
    c.bucket.update({"maximumAvailable": 1000, "currentlyAvailable": 0, "restoreRate": 10}, fake_time.now)
    with pytest.raises(RetryableError, match="rate limit") as info:
        c.perform(req(ActionKind.ADD_TAGS, "1", {"tags": ["a"]}))
    assert info.value.retry_after == pytest.approx(1.0)
    assert c.calls == 0


def test_changed_orders_pages_oldest_first(served: tuple[ShopifySandbox, SandboxShop], fake_time: FakeTime) -> None:
    sandbox, shop = served
    times = iter(datetime(2026, 11, 24, 8, m, tzinfo=UTC) for m in range(60))
    sandbox.clock = lambda: next(times)
    ids = [str(shop.create_order()["id"]) for _ in range(5)]
    c = client_for(shop, fake_time, page_size=2)
    events = list(c.changed_orders(datetime(2026, 11, 24, 8, 1, tzinfo=UTC)))
    assert [e.order_external_id for e in events] == ids[1:]
    assert all(e.kind is EventKind.ORDER and e.topic == "reconcile/orders" for e in events)
    assert events[0].dedupe_key == f"reconcile:{ids[1]}:2026-11-24T08:01:00Z"
    assert events[0].order is not None
    assert events[0].order.status is OrderStatus.PAID
    assert c.calls == 2  # two pages of two
    assert len(list(c.changed_orders(None))) == 5


def test_ensure_webhooks_creates_only_missing(
    served: tuple[ShopifySandbox, SandboxShop], client: ShopifyClient
) -> None:
    _, shop = served
    url = "https://ordercare.example.nl/webhooks/shopify"
    created = client.ensure_webhooks(url)
    assert "orders/create" in created
    assert "app/uninstalled" in created
    assert "customers/redact" not in created
    assert len(created) == 14  # orders/delete included
    assert {s["uri"] for s in shop.subscriptions} == {url}
    shop.subscriptions = [s for s in shop.subscriptions if s["topic"] != "ORDERS_PAID"]
    assert client.ensure_webhooks(url) == ["orders/paid"]
    assert client.ensure_webhooks(url) == []


def test_expiring_token_is_refreshed(served: tuple[ShopifySandbox, SandboxShop], fake_time: FakeTime) -> None:
    from connector.platforms.shopify.install import AppCredentials

    sandbox, shop = served
    sandbox.register_app("key", "app-secret")
    shop.refresh_tokens.add("shprt_old")
    saved: list[dict[str, Any]] = []
    c = ShopifyClient(
        SHOP, shop_key=shop.domain, base_url=shop.base_url,
        credentials={
            "access_token": "expired", "refresh_token": "shprt_old", "expires_at": "2026-11-24T09:04:00+00:00"
        },
        app=AppCredentials("key", "app-secret"), clock=lambda: NOW, sleep=fake_time.sleep,
        monotonic=fake_time.monotonic, on_tokens=saved.append,
    )  # fmt: skip
    oid = str(shop.create_order()["id"])
    c.perform(req(ActionKind.ADD_TAGS, oid, {"tags": ["a"]}))
    assert len(saved) == 1
    assert saved[0]["access_token"] == shop.access_token != "expired"
    assert saved[0]["refresh_token"] != "shprt_old"
    assert saved[0]["expires_at"] == "2026-11-24T10:00:00+00:00"
    # far from expiry: no refresh
    c.perform(req(ActionKind.ADD_TAGS, oid, {"tags": ["b"]}))
    assert len(saved) == 1


def test_session_is_reused(client: ShopifyClient) -> None:
    assert isinstance(client.http, requests.Session)
