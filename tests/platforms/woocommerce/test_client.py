"""The WooCommerce client against the sandbox site over loopback HTTP: errors, paging, every action."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connector.actions import ActionKind, ActionRequest
from connector.model import Platform
from connector.platforms.base import PermanentError, RetryableError
from connector.platforms.woocommerce.client import WooCommerceClient, WooCommerceError, error_code
from connector.sandbox.server import BackgroundServer
from connector.sandbox.woocommerce import Faults, WooSandbox
from connector.shops import Shop

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Router:
    """One loopback server for the module; each test puts a fresh sandbox behind it."""

    def __init__(self) -> None:
        self.target: WooSandbox | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.target is not None
        return self.target(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Router, str]]:
    router = Router()
    with BackgroundServer(router) as running:
        yield router, running.url


@pytest.fixture
def site(clock: Clock, server: tuple[Router, str]) -> WooSandbox:
    router, url = server
    sandbox = WooSandbox(clock=clock, ping_on_create=False, site_url=url)
    router.target = sandbox
    return sandbox


def shop_for(site: WooSandbox, **credentials: Any) -> Shop:
    return Shop(
        id="theewinkel",
        platform=Platform.WOOCOMMERCE,
        key=site.source,
        name="De Theewinkel",
        status="active",
        timezone="Europe/Amsterdam",
        locale="nl",
        country="NL",
        source="config",
        api_base_url=site.site_url,
        credentials={"consumer_key": site.consumer_key, "consumer_secret": site.consumer_secret, **credentials},
        webhook_secrets=(site.webhook_secret,),
    )


@pytest.fixture
def client(site: WooSandbox, clock: Clock) -> Iterator[WooCommerceClient]:
    client = WooCommerceClient(shop_for(site), timeout=5, clock=clock)
    yield client
    client.close()


def request(kind: ActionKind, order_id: int | str | None, payload: dict[str, Any], key: str = "k") -> ActionRequest:
    return ActionRequest(
        action_id=1,
        shop_id="theewinkel",
        kind=kind,
        idempotency_key=f"theewinkel:{order_id}:test:{key}",
        payload=payload,
        order_external_id=str(order_id) if order_id is not None else None,
        attempt=1,
    )


# --- errors ----------------------------------------------------------------------------------------


def test_wrong_keys_are_permanent_with_woocommerce_code(site: WooSandbox, clock: Clock) -> None:
    client = WooCommerceClient(shop_for(site, consumer_secret="cs_wrong"), clock=clock)
    with pytest.raises(PermanentError) as error:
        client.get_order("1")
    assert error.value.status == 401
    assert "woocommerce_rest_authentication_error" in str(error.value)
    assert "Invalid signature" in error.value.platform_message


def test_basic_auth_with_wrong_keys_gets_cannot_view(site: WooSandbox) -> None:
    answer = requests.get(f"{site.site_url}/wp-json/wc/v3/orders", auth=("ck_x", "cs_y"), timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }


def test_basic_auth_over_plain_http_refused_like_wordpress_but_oauth_works(site: WooSandbox, clock: Clock) -> None:
    site.basic_auth_over_http = False
    order = site.create_order()
    basic = requests.get(
        f"{site.site_url}/wp-json/wc/v3/orders", auth=(site.consumer_key, site.consumer_secret), timeout=5
    )
    assert basic.status_code == 401
    client = WooCommerceClient(shop_for(site), clock=clock)
    assert client.get_order(str(order["id"]))["id"] == order["id"]  # the package signs with OAuth 1.0a


def test_unknown_order_is_404_with_code_and_message(client: WooCommerceClient) -> None:
    with pytest.raises(WooCommerceError) as error:
        client.get_order("424242")
    assert (error.value.status, error.value.code) == (404, "woocommerce_rest_shop_order_invalid_id")
    assert str(error.value) == (
        "WooCommerce GET /orders/424242: 404 woocommerce_rest_shop_order_invalid_id: Invalid ID."
    )


def test_bad_request_is_400_with_code_and_message(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    with pytest.raises(PermanentError) as error:
        client.request("PUT", f"orders/{order['id']}", {"status": "verzonden-misschien"})
    assert error.value.status == 400
    assert error_code(error.value) == "rest_invalid_param"
    assert error.value.platform_message == "400 rest_invalid_param: Invalid parameter(s): status"
    assert site.order(order["id"])["status"] == "processing"


def test_429_is_retryable_with_retry_after(site: WooSandbox, client: WooCommerceClient) -> None:
    site.faults = Faults(burst_429=1, retry_after=7)
    with pytest.raises(RetryableError) as error:
        client.get_order("1")
    assert (error.value.status, error.value.retry_after) == (429, 7.0)
    assert "woocommerce_rest_too_many_requests" in str(error.value)


def test_5xx_is_retryable_and_applies_nothing(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    site.faults = Faults(error_rate=1.0)
    with pytest.raises(RetryableError) as error:
        client.perform(request(ActionKind.ADD_NOTE, order["id"], {"text": "Adres gecontroleerd."}))
    assert error.value.status == 500
    assert site.counters["notes"] == 0


def test_garbage_body_is_retryable(site: WooSandbox, client: WooCommerceClient) -> None:
    site.faults = Faults(garbage_rate=1.0)
    with pytest.raises(RetryableError, match="not JSON"):
        client.get_order("1")


def test_timeout_is_retryable(site: WooSandbox, clock: Clock) -> None:
    order = site.create_order()
    site.faults = Faults(timeout_rate=1.0, slow_seconds=1.0)
    client = WooCommerceClient(shop_for(site), timeout=0.2, clock=clock)
    with pytest.raises(RetryableError, match="timed out"):
        client.get_order(str(order["id"]))


def test_connection_refused_is_retryable(site: WooSandbox, clock: Clock) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shop = dataclasses.replace(shop_for(site), api_base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(RetryableError, match="ConnectionError"):
        WooCommerceClient(shop, clock=clock).get_order("1")


# --- reading -------------------------------------------------------------------------------------


def test_changed_orders_pages_through_every_order_oldest_first(
    site: WooSandbox, client: WooCommerceClient, clock: Clock
) -> None:
    ids = []
    for index in range(230):
        clock.now = START + timedelta(minutes=index)
        ids.append(site.create_order()["id"])
    clock.now = START + timedelta(days=1)
    site.update_order(ids[0], status="completed")  # now the most recently modified
    before = site.counters["requests"]
    events = list(client.changed_orders(None))
    # 100 + 100 + 30 orders, then one read of the stock of their products (one product, in one request)
    assert site.counters["requests"] - before == 4
    assert ("GET", "/wp-json/wc/v3/products") in site.requests
    assert [e.order_external_id for e in events] == [str(i) for i in ids[1:]] + [str(ids[0])]
    assert events[-1].order is not None
    assert events[-1].order.platform_status == "completed"
    assert events[-1].dedupe_key.startswith(f"content:{ids[0]}:2026-11-25T09:00:00:")  # as the webhook keys it


def test_changed_orders_since_skips_older_and_drafts(site: WooSandbox, client: WooCommerceClient, clock: Clock) -> None:
    old = site.create_order()
    clock.now = START + timedelta(hours=2)
    new = site.create_order()
    site.create_order(status="checkout-draft")
    events = list(client.changed_orders(START + timedelta(hours=1)))
    assert [e.order_external_id for e in events] == [str(new["id"])]
    assert str(old["id"]) not in [e.order_external_id for e in events]


# --- actions -------------------------------------------------------------------------------------


def test_add_note_private_and_customer(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    private = request(ActionKind.ADD_NOTE, order["id"], {"text": "Huisnummer ontbreekt; klant gemaild."})
    assert client.already_done(private) is None
    result = client.perform(private)
    assert result["customer_note"] is False
    assert client.already_done(private) == result
    public = request(ActionKind.ADD_NOTE, order["id"], {"text": "Uw pakket komt morgen.", "customer_note": True})
    assert client.already_done(public) is None
    client.perform(public)
    assert client.already_done(public) is not None
    assert (site.counters["notes"], site.counters["customer_notes"], site.counters["customer_note_emails"]) == (1, 1, 1)
    assert [(n["note"], n["customer_note"]) for n in site.order_notes(order["id"])] == [
        ("Uw pakket komt morgen.", True),
        ("Huisnummer ontbreekt; klant gemaild.", False),
    ]


def test_add_tags_merges_into_our_meta(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order(meta={"ordercare_tags": "vip"})
    action = request(ActionKind.ADD_TAGS, order["id"], {"tags": ["ordercare:address", "vip"]})
    assert client.already_done(action) is None
    assert client.perform(action) == {"tags": ["vip", "ordercare:address"]}
    assert site.meta(order["id"])["ordercare_tags"] == "vip, ordercare:address"
    assert client.already_done(action) == {"tags": ["vip", "ordercare:address"]}
    updates = site.counters["meta_updates"]
    client.perform(action)  # nothing new: no write
    assert site.counters["meta_updates"] == updates


def test_set_attributes(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    action = request(ActionKind.SET_ATTRIBUTES, order["id"], {"attributes": {"incident": "address", "level": 2}})
    assert client.already_done(action) is None
    assert client.perform(action) == {"meta": ["_ordercare_incident", "_ordercare_level"]}
    meta = site.meta(order["id"])
    assert (meta["_ordercare_incident"], meta["_ordercare_level"]) == ("address", "2")
    assert client.already_done(action) == {"meta": ["_ordercare_incident", "_ordercare_level"]}


def voucher(order_id: int, code: str = "SORRY-5120", key: str = "voucher") -> ActionRequest:
    payload = {
        "code": code,
        "kind": "percentage",
        "value": "10",
        "currency": "EUR",
        "ends_at": "2027-02-22T23:59:59+01:00",
        "email": "sanne.devries@example.nl",
    }
    return request(ActionKind.CREATE_VOUCHER, order_id, payload, key=key)


def test_create_voucher_and_its_replay(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    action = voucher(order["id"])
    assert client.already_done(action) is None
    result = client.perform(action)
    coupon = site.coupons[result["coupon_id"]]
    assert coupon["code"] == "sorry-5120"
    assert (coupon["discount_type"], coupon["amount"]) == ("percent", "10.00")
    assert (coupon["usage_limit"], coupon["usage_limit_per_user"]) == (1, 1)
    assert coupon["email_restrictions"] == ["sanne.devries@example.nl"]
    assert coupon["date_expires"] == "2027-02-22T23:59:59"  # in the site's time zone
    assert client.already_done(action) == {"coupon_id": coupon["id"], "code": "sorry-5120", "already_existed": True}
    # a replay after a crash: WooCommerce says the code exists; it is ours, so it counts as done
    assert client.perform(action)["coupon_id"] == coupon["id"]
    assert site.counters["coupons"] == 1


def test_voucher_code_taken_by_someone_else_is_permanent(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    client.request("POST", "coupons", {"code": "SORRY-5120", "amount": "5"})
    action = voucher(order["id"])
    assert client.already_done(action) is None
    with pytest.raises(PermanentError) as error:
        client.perform(action)
    assert "woocommerce_rest_coupon_code_already_exists" in str(error.value)
    assert "did not create" in str(error.value)
    assert site.counters["coupons"] == 1


def test_fixed_voucher(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    action = request(ActionKind.CREATE_VOUCHER, order["id"], {"code": "vijf", "kind": "fixed", "value": 5})
    coupon = site.coupons[client.perform(action)["coupon_id"]]
    assert (coupon["discount_type"], coupon["amount"], coupon["email_restrictions"]) == ("fixed_cart", "5.00", [])


def test_hold_only_a_processing_order_and_release_only_ours(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order()
    hold = request(ActionKind.HOLD_FULFILLMENT, order["id"], {"reason": "address", "note": "Wacht op huisnummer."})
    assert client.already_done(hold) is None
    assert client.perform(hold) == {"held": True, "status": "on-hold"}
    assert site.order(order["id"])["status"] == "on-hold"
    assert site.meta(order["id"])["_ordercare_hold"] == "1"
    assert client.already_done(hold) == {"held": True, "status": "on-hold"}
    assert site.meta(order["id"])["_ordercare_hold_reason"] == "address"
    # the staff note is the policy's own ADD_NOTE: the hold writes no second one
    assert [n["note"] for n in site.order_notes(order["id"])] == ["Order status changed from processing to on-hold."]
    release = request(ActionKind.RELEASE_HOLD, order["id"], {})
    assert client.already_done(release) is None
    assert client.perform(release) == {"released": True, "status": "processing"}
    assert site.order(order["id"])["status"] == "processing"
    assert site.meta(order["id"])["_ordercare_hold"] == "0"
    assert client.already_done(release) == {"released": True, "status": "processing"}
    assert site.counters["status:processing->on-hold"] == 1
    assert site.counters["status:on-hold->processing"] == 1


def test_no_hold_on_an_order_that_is_not_processing(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order(status="completed")
    changes = site.counters["status_changes"]
    hold = request(ActionKind.HOLD_FULFILLMENT, order["id"], {"reason": "address"})
    assert client.perform(hold) == {"held": False, "status": "completed"}
    assert site.counters["status_changes"] == changes
    assert client.already_done(hold) == {"held": False, "status": "completed"}


def test_someone_elses_hold_is_not_released(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order(status="on-hold")
    release = request(ActionKind.RELEASE_HOLD, order["id"], {})
    assert client.perform(release) == {
        "released": False,
        "status": "on-hold",
        "why": "the order's on-hold was not placed by ordercare, so it stays",
    }
    assert site.order(order["id"])["status"] == "on-hold"


def test_update_address_with_split_meta(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order(street="Kerkstraat", house_number="", postcode="1017 GC", city="Amsterdam")
    address = {"street": "Kerkstraat", "house_number": "12", "house_number_addition": "B", "postcode": "1017 GC"}
    action = request(ActionKind.UPDATE_ADDRESS, order["id"], {"address": {**address, "city": "Amsterdam"}})
    assert client.already_done(action) is None
    assert client.perform(action)["split_meta"] is True
    stored = site.order(order["id"])
    assert stored["shipping"]["address_1"] == "Kerkstraat 12 B"
    meta = site.meta(order["id"])
    assert (meta["_shipping_street_name"], meta["_shipping_house_number"]) == ("Kerkstraat", "12")
    assert meta["_shipping_house_number_suffix"] == "B"
    assert client.already_done(action) is not None


def test_update_address_without_split_meta(site: WooSandbox, client: WooCommerceClient) -> None:
    order = site.create_order(split_fields=False)
    action = request(ActionKind.UPDATE_ADDRESS, order["id"], {"address": {"address1": "Dorpsstraat 7", "city": "Ede"}})
    assert client.perform(action)["split_meta"] is False
    assert "_shipping_house_number" not in site.meta(order["id"])
    assert site.order(order["id"])["shipping"]["address_1"] == "Dorpsstraat 7"


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        (ActionKind.ADD_NOTE, {"text": ""}, "payload.text"),
        (ActionKind.ADD_TAGS, {"tags": "a"}, "payload.tags"),
        (ActionKind.SET_ATTRIBUTES, {"attributes": {}}, "payload.attributes"),
        (ActionKind.CREATE_VOUCHER, {"code": "x", "kind": "gratis", "value": 1}, "payload.kind"),
        (ActionKind.CREATE_VOUCHER, {"code": "x", "kind": "fixed", "value": -1}, "payload.value"),
        (ActionKind.UPDATE_ADDRESS, {"address": {"city": "Ede"}}, "address1"),
        (ActionKind.NOTIFY_CUSTOMER, {}, "cannot perform"),
    ],
)
def test_bad_payloads_are_permanent_and_send_nothing(
    site: WooSandbox, client: WooCommerceClient, kind: ActionKind, payload: dict[str, Any], message: str
) -> None:
    order = site.create_order()
    before = site.counters["requests"]
    with pytest.raises(PermanentError, match=message):
        client.perform(request(kind, order["id"], payload))
    writes = site.counters["notes"] + site.counters["coupons"] + site.counters["meta_updates"]
    assert writes == 0
    assert site.counters["requests"] - before <= 1  # at most the read of the order


# --- webhooks ------------------------------------------------------------------------------------


def test_ensure_webhooks_creates_then_leaves_alone_then_reenables(site: WooSandbox, client: WooCommerceClient) -> None:
    url = "https://ordercare.example.nl/webhooks/woocommerce"
    created = client.ensure_webhooks(url)
    assert [c.split(" (")[0] for c in created] == [
        "created order.created",
        "created order.updated",
        "created order.deleted",
        "created order.restored",
    ]
    assert {(h["topic"], h["status"], h["secret"]) for h in site.webhooks.values()} == {
        (t, "active", site.webhook_secret)
        for t in ("order.created", "order.updated", "order.deleted", "order.restored")
    }
    assert client.ensure_webhooks(url) == []
    updated = next(h for h in site.webhooks.values() if h["topic"] == "order.updated")
    updated["status"] = "disabled"  # as after 7 failed deliveries
    assert client.ensure_webhooks(url) == [f"re-enabled order.updated (webhook {updated['id']})"]
    assert updated["status"] == "active"
    assert site.counters["webhooks_created"] == 4
