"""A Shopify shop's connection as reconcile sees it: granted scopes, denied fields, pauses, redact after reinstall."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from connector import codec
from connector.ingest import Outcome, ingest
from connector.model import Customer, Order
from connector.outbox.env import OutboxEnv
from connector.platforms.shopify.adapter import ADAPTER
from connector.reconcile import CONNECTION, UNKNOWN_KEY, ReconcileReport, reconcile_shop
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, SandboxShop, ShopifySandbox
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import OrderRow, ShopRow
from tests.conftest import fixture_json, make_settings
from tests.platforms.shopify.conftest import signed_headers
from tests.reliability.support import Clock

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DOMAIN = "fietsen-states.myshopify.com"
TOKEN = "shpat_states_0123456789abcdef"
SECRET = "shopify-webhook-secret-states"


@dataclass
class World:
    sandbox: ShopifySandbox
    shop: SandboxShop
    services: Services
    env: OutboxEnv
    clock: Clock

    def row_shop(self) -> Shop:
        shop = self.services.shops.get("fietsen")
        assert shop is not None
        return shop

    def reconcile(self) -> ReconcileReport:
        return reconcile_shop(self.services, self.row_shop(), self.env.client_for("fietsen"), self.env.worker)

    def connection(self) -> dict[str, object]:
        with self.services.sessions() as session:
            row = session.get(ShopRow, "fietsen")
            assert row is not None
            return dict((row.settings or {}).get(CONNECTION) or {})

    def stored(self, external_id: str) -> Order:
        with self.services.sessions() as session:
            row = session.query(OrderRow).filter_by(shop_id="fietsen", external_id=external_id).one()
            return codec.load_order(row.data)

    def deliver(self, topic: str, body: dict[str, object], webhook_id: str) -> Outcome:
        raw = json.dumps(body).encode()
        headers = signed_headers(topic, raw, webhook_id=webhook_id, domain=DOMAIN)
        event = ADAPTER.parse(headers, raw, self.row_shop().context)
        assert event is not None
        with transaction(self.services.sessions) as session:
            return ingest(session, self.row_shop(), event, self.clock.now)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    clock = Clock(START)
    sandbox = ShopifySandbox(clock=clock, bucket=BucketConfig(maximum=100_000, restore_rate=100_000))
    with BackgroundServer(sandbox) as server:
        sandbox.url = server.url
        shop = sandbox.add_shop(DOMAIN, SECRET, access_token=TOKEN)
        config = {
            "id": "fietsen", "platform": "shopify", "shop_domain": DOMAIN, "api_base_url": shop.base_url,
            "access_token": TOKEN, "webhook_secret": SECRET,
        }  # fmt: skip
        settings = make_settings(db_url, public_url="http://127.0.0.1:8000", shops=[config])
        services = Services.build(settings, clock=clock)
        env = OutboxEnv(services)
        yield World(sandbox, shop, services, env, clock)
        env.close()
        services.engine.dispose()


def test_reconcile_reads_the_granted_scopes_and_keeps_the_webhooks_copy_of_a_denied_customer(world: World) -> None:
    w = world
    order = w.shop.create_order()
    oid = str(order["id"])
    assert w.deliver("orders/create", order, "wh-create-1") is Outcome.APPLIED
    webhook_copy = w.stored(oid)
    w.shop.granted.discard("read_customers")
    w.shop.protected = frozenset({"name"})  # e-mail, phone and address not approved
    w.clock.advance(timedelta(minutes=1))
    w.shop.update_order(oid, tags="vip")  # a newer version that the listing reads without the customer

    report = w.reconcile()

    assert (report.error, report.paused, report.missing_scopes, report.seen) == (None, None, ("read_customers",), 1)
    stored = w.stored(oid)
    assert stored.tags == ("vip",)  # the listing's news is stored
    assert stored.customer == webhook_copy.customer  # what the listing could not see is what the webhook said
    assert stored.customer.email == "sanne.devries@example.nl"
    assert stored.shipping_address == webhook_copy.shipping_address
    assert UNKNOWN_KEY not in stored.extra
    connection = w.connection()
    assert connection["missing_scopes"] == ["read_customers"]
    assert connection["paused"] is None
    denied = connection["denied_fields"]
    assert isinstance(denied, list)
    assert {d["field"] for d in denied} == {
        "orders.nodes.customer", "orders.nodes.email", "orders.nodes.phone", "orders.nodes.shippingAddress",
    }  # fmt: skip


def test_an_order_first_seen_by_a_denied_listing_stays_unknown(world: World) -> None:
    w = world
    oid = str(w.shop.create_order()["id"])
    w.shop.protected = frozenset({"name"})
    assert w.reconcile().error is None
    stored = w.stored(oid)
    assert stored.customer.email is None
    assert stored.extra[UNKNOWN_KEY] == ["customer.email", "customer.phone", "shipping_address"]
    assert stored.customer == Customer(
        external_id="7300000000000000123",
        first_name="Sanne",
        last_name="de Vries",
        locale="nl",
        accepts_marketing=False,
    )


def test_a_frozen_shop_is_paused_in_words_and_resumes_when_open(world: World) -> None:
    w = world
    w.shop.create_order()
    w.shop.unavailable = 402
    report = w.reconcile()
    assert report.error is None
    assert report.paused is not None
    assert report.paused.startswith("Shopify answered 402 Payment Required: the shop is frozen")
    assert (report.seen, w.shop.counters["unavailable"]) == (0, 1)  # one call: the check, nothing after it
    assert w.connection()["paused"] == report.paused
    # still frozen a run later: again one probe, no other call
    w.clock.advance(timedelta(minutes=15))
    assert w.reconcile().paused == report.paused
    assert w.shop.counters["unavailable"] == 2
    # paid: the next run reads as usual and the status says so
    w.shop.unavailable = None
    w.clock.advance(timedelta(minutes=15))
    again = w.reconcile()
    assert (again.paused, again.error, again.seen) == (None, None, 1)
    assert w.connection()["paused"] is None


def test_shop_redact_erases_only_a_shop_that_is_still_uninstalled(world: World) -> None:
    w = world
    order = w.shop.create_order()
    assert w.deliver("orders/create", order, "wh-create-1") is Outcome.APPLIED
    uninstall = fixture_json("shopify/webhooks/app_uninstalled.json")
    assert w.deliver("app/uninstalled", uninstall, "wh-uninstall-1") is Outcome.HANDLED
    # installed again within the 48 hours: the late shop/redact keeps the live shop and its orders
    with transaction(w.services.sessions) as session:
        row = session.get(ShopRow, "fietsen")
        assert row is not None
        row.status, row.installed_at = "active", w.clock.now
    w.services.shops.invalidate()
    redact = {"shop_id": 954889, "shop_domain": DOMAIN}
    assert w.deliver("shop/redact", redact, "wh-redact-1") is Outcome.HANDLED
    assert w.stored(str(order["id"])).number == order["name"]
    # uninstalled, and still so when the request comes: erased
    assert w.deliver("app/uninstalled", uninstall, "wh-uninstall-2") is Outcome.HANDLED
    assert w.deliver("shop/redact", redact, "wh-redact-2") is Outcome.HANDLED
    with w.services.sessions() as session:
        assert session.get(ShopRow, "fietsen") is None
        assert session.query(OrderRow).filter_by(shop_id="fietsen").count() == 0
