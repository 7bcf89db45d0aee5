"""Out of stock end to end, over HTTP against the sandbox shops: detection in the reconcile read, the call task and
the e-mail with its signed choice link, the customer's choice written back (Shopify order editing, WooCommerce line
items), and bad links that change nothing."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.policies.engine import run_tick
from connector.reconcile import reconcile_shop
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, SandboxShop, ShopifySandbox
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.stock import links
from connector.store.tables import ActionRow, CallTaskRow, EmailLog, IncidentRow, PromiseRow, StockLink
from tests.conftest import make_settings
from tests.notify.support import CapturingHandler, Received, smtp_server
from tests.reliability.support import Clock
from webhooks import create_app

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Amsterdam: no quiet hours
DOMAIN = "fietsen-stock.myshopify.com"
TOKEN = "shpat_stock_0123456789abcdef"
SECRET = "shopify-webhook-secret-stock"
LAMP, LAMP_GREY, PRODUCT = "44000000000000001", "44000000000000002", "8800000000000000101"


class Router:
    def __init__(self) -> None:
        self.target: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.target(environ, start_response)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Router, str, Router, str]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    shopify, woo = Router(), Router()
    with BackgroundServer(shopify) as shopify_server, BackgroundServer(woo) as woo_server:
        yield shopify, shopify_server.url, woo, woo_server.url


@dataclass
class World:
    db_url: str
    clock: Clock
    shop: SandboxShop
    woo: WooSandbox
    smtp: CapturingHandler
    smtp_port: int

    def services(self, **policies: Any) -> Services:
        shopify = {
            "id": "fietsen",
            "platform": "shopify",
            "shop_domain": DOMAIN,
            "api_base_url": self.shop.base_url,
            "access_token": TOKEN,
            "webhook_secret": SECRET,
        }
        settings = make_settings(
            self.db_url,
            shops=[shopify, self.woo.shop_config("theewinkel")],
            email={"smtp_host": "127.0.0.1", "smtp_port": self.smtp_port, "sender": "service@fietsen.example"},
            policies={"out_of_stock": policies} if policies else {},
        )
        return Services.build(settings, clock=self.clock)

    def run(self, services: Services) -> None:
        """A round of the scheduler and the worker: reconcile each shop, decide, perform."""
        env = OutboxEnv(services)
        try:
            for shop_id in ("fietsen", "theewinkel"):
                shop = services.shops.get(shop_id)
                assert shop is not None
                reconcile_shop(services, shop, env.client_for(shop_id), env.worker)
            run_tick(services, self.clock())
            drain(env)
        finally:
            env.close()

    def perform(self, services: Services) -> None:
        env = OutboxEnv(services)
        try:
            run_tick(services, self.clock())
            drain(env)
        finally:
            env.close()

    def lamp_order(self, *, available: int = -1, **changes: Any) -> str:
        """A Shopify order of one black garden lamp that sold below zero at the shop's location."""
        stock = self.shop.stock
        stock.add_variant(LAMP, product_id=PRODUCT, display_name="Tuinlamp - Zwart", sku="LAMP-ZW", available=0)
        stock.add_variant(
            LAMP_GREY, product_id=PRODUCT, display_name="Tuinlamp - Antraciet", sku="LAMP-AN", available=4
        )
        line = {
            "admin_graphql_api_id": "gid://shopify/LineItem/1300000000000000001",
            "id": 1300000000000000001,
            "name": "Tuinlamp - Zwart",
            "title": "Tuinlamp",
            "quantity": 1,
            "current_quantity": 1,
            "price": "24.95",
            "sku": "LAMP-ZW",
            "product_id": int(PRODUCT),
            "variant_id": int(LAMP),
            "requires_shipping": True,
        }
        order = self.shop.create_order(line_items=[line], **changes)
        stock.set_available(LAMP, available)
        return str(order["id"])


@pytest.fixture
def world(db_url: str, servers: tuple[Router, str, Router, str]) -> Iterator[World]:
    shopify_router, shopify_url, woo_router, woo_url = servers
    clock = Clock(START)
    sandbox = ShopifySandbox(clock=clock, bucket=BucketConfig(maximum=100_000, restore_rate=100_000))
    sandbox.url = shopify_url
    shopify_router.target = sandbox
    shop = sandbox.add_shop(DOMAIN, SECRET, access_token=TOKEN)
    woo = WooSandbox(clock=clock, ping_on_create=False, site_url=woo_url, hpos=True)
    woo_router.target = woo
    with smtp_server() as (controller, handler):
        yield World(db_url, clock, shop, woo, handler, controller.port)


def kinds(services: Services) -> Counter[tuple[str, str]]:
    with services.sessions() as session:
        return Counter(
            (a.kind, a.state) for a in session.scalars(select(ActionRow).where(ActionRow.policy == "out_of_stock"))
        )


def mails(world: World, template_word: str = "") -> list[Received]:
    return [m for m in world.smtp.received if template_word in m.body("plain")]


def choice_url(mail: Received) -> str:
    match = re.search(r"http://127\.0\.0\.1:8000(/stock/[^\s]+)", mail.body("plain"))
    assert match, "the e-mail carries the choice link"
    return match.group(1)


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


def text_of(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def line_field(page: str) -> str:
    match = re.search(r'name="(choice-[0-9]+)"', page)
    assert match
    return match.group(1)


def incident(services: Services) -> IncidentRow:
    with services.sessions() as session:
        row = session.scalars(select(IncidentRow).where(IncidentRow.kind == "out_of_stock")).one()
        session.expunge(row)
        return row


# --- Shopify ---------------------------------------------------------------------------------------------


def test_a_lamp_sold_below_zero_gets_a_call_task_and_an_email_with_choices(world: World) -> None:
    # given a paid Shopify order of a lamp whose available stock at the location went below zero
    order_id = world.lamp_order(available=-1)
    services = world.services()

    # when ordercare reconciles (the listing shows the variant below zero, so it reads the order's stock), decides
    # and performs
    world.run(services)

    # then staff have a call task first, and the customer an e-mail that names the item and links to the choices
    assert kinds(services) == Counter(
        {
            ("create_call_task", "done"): 1,
            ("add_tags", "done"): 1,
            ("notify_customer", "done"): 1,
            ("add_note", "done"): 1,
            ("create_voucher", "done"): 1,
        }
    )
    with services.sessions() as session:
        tasks = list(session.scalars(select(CallTaskRow)))
        first = session.scalars(select(ActionRow).where(ActionRow.policy == "out_of_stock").order_by(ActionRow.id))
        order_of_steps = [a.kind for a in first]
    assert [t.reason for t in tasks] == [
        "out of stock: 1× Tuinlamp - Zwart: call the customer (wait, an alternative or cancel the item)"
    ]
    assert order_of_steps.index("create_call_task") < order_of_steps.index("notify_customer")
    details = incident(services).details
    assert [(line["title"], line["backordered"], line["signal"]) for line in details["lines"]] == [
        ("Tuinlamp - Zwart", 1, "inventory")
    ]
    assert [a["title"] for a in details["lines"][0]["alternatives"]] == ["Tuinlamp - Antraciet"]
    [mail] = world.smtp.received
    text = mail.body("plain")
    assert mail.message["Subject"] == "Tuinlamp - Zwart uit bestelling #1001 is niet op voorraad"
    assert "we Tuinlamp - Zwart nu niet kunnen versturen" in text
    assert "erop wachten: je hebt het uiterlijk" in text
    assert "in plaats daarvan Tuinlamp - Antraciet" in text
    assert "kortingscode" in text
    assert "ordercare:out-of-stock" in world.shop.order(order_id)["tags"]


def test_stock_at_zero_is_not_out_of_stock(world: World) -> None:
    # given the same order, but the last lamp was in stock (available 0 after the order, not below)
    world.lamp_order(available=0)
    services = world.services()

    world.run(services)

    # then nothing is opened, planned or sent, and the stock was not even read
    assert kinds(services) == Counter()
    assert world.smtp.received == []
    assert ("query", ("order",)) not in world.shop.operations


def test_a_hold_for_out_of_stock_is_out_of_stock(world: World) -> None:
    # given an order the shop's staff held with the reason INVENTORY_OUT_OF_STOCK (stock not below zero)
    order_id = world.lamp_order(available=3)
    world.shop.merchant_hold(order_id, reason="INVENTORY_OUT_OF_STOCK")
    services = world.services()

    world.run(services)

    details = incident(services).details
    assert [(line["title"], line["signal"]) for line in details["lines"]] == [("Tuinlamp - Zwart", "hold")]
    assert len(world.smtp.received) == 1


def test_an_unpaid_order_is_for_staff_only(world: World) -> None:
    # given the lamp order awaiting payment
    world.lamp_order(available=-1, financial_status="pending")
    services = world.services()

    world.run(services)

    # then staff get the call task and a note that says why the customer was not told; nothing is sent
    assert kinds(services) == Counter(
        {("create_call_task", "done"): 1, ("add_tags", "done"): 1, ("add_note", "done"): 1}
    )
    assert world.smtp.received == []
    assert incident(services).details["staff_only"] == "unpaid"


def test_act_after_waits_until_its_threshold(world: World) -> None:
    world.lamp_order(available=-1)
    services = world.services(act_after="2 hours")

    world.run(services)  # one minute after payment: before the threshold
    assert kinds(services) == Counter()

    world.clock.advance(timedelta(hours=2))
    world.run(services)  # at the threshold
    assert kinds(services)[("notify_customer", "done")] == 1


def test_taking_the_other_variant_edits_the_order_in_shopify(world: World) -> None:
    order_id = world.lamp_order(available=-1)
    services = world.services()
    world.run(services)
    url = choice_url(world.smtp.received[0])
    client: FlaskClient = create_app(services).test_client()

    # when the customer opens the link and chooses the grey lamp
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Tuinlamp - Antraciet" in text_of(page)
    response = client.post(url, data={"csrf_token": csrf(html), line_field(html): "alt1"})
    assert response.status_code == 200
    assert "we sturen je Tuinlamp - Antraciet" in text_of(response)
    world.perform(services)

    # then the order in Shopify has the grey lamp and no black one, through order editing
    lines = {li["sku"]: li["current_quantity"] for li in world.shop.order(order_id)["line_items"]}
    assert lines == {"LAMP-ZW": 0, "LAMP-AN": 1}
    edits = [
        fields for kind, fields in world.shop.operations if kind == "mutation" and fields[0].startswith("orderEdit")
    ]
    assert edits == [("orderEditBegin",), ("orderEditSetQuantity",), ("orderEditAddVariant",), ("orderEditCommit",)]
    assert incident(services).state == "resolved"
    confirmation = world.smtp.received[-1]
    assert "in plaats van Tuinlamp - Zwart sturen we je Tuinlamp - Antraciet" in confirmation.body("plain")


def test_waiting_makes_the_date_a_promise(world: World) -> None:
    world.lamp_order(available=-1)
    services = world.services(back_in_stock={"LAMP-*": "2026-12-01"})
    world.run(services)
    url = choice_url(world.smtp.received[0])
    client = create_app(services).test_client()
    html = client.get(url).get_data(as_text=True)

    response = client.post(url, data={"csrf_token": csrf(html), line_field(html): "wait"})
    assert response.status_code == 200
    world.perform(services)

    # back on Tuesday 1 December, with them one working day later: the promise the follow-up keeps
    with services.sessions() as session:
        promises = [(p.kind, p.promised_on.isoformat(), p.ended) for p in session.scalars(select(PromiseRow))]
    assert promises == [("delivery_by", "2026-12-02", "open")]
    assert "uiterlijk woensdag 2 december" in world.smtp.received[-1].body("plain")
    assert not [f for k, f in world.shop.operations if k == "mutation" and f[0].startswith("orderEdit")]


# --- bad links ---------------------------------------------------------------------------------------------


def _state(services: Services) -> tuple[Any, ...]:
    with services.sessions() as session:
        actions = len(list(session.scalars(select(ActionRow))))
        mails = len(list(session.scalars(select(EmailLog))))
        used = [(s.used_at, s.choice) for s in session.scalars(select(StockLink))]
        state = session.scalars(select(IncidentRow.state)).all()
    return actions, mails, used, state


def test_forged_expired_and_reused_links_change_nothing(world: World) -> None:
    world.lamp_order(available=-1)
    services = world.services(link_valid_days=2)
    world.run(services)
    url = choice_url(world.smtp.received[0])
    client = create_app(services).test_client()
    html = client.get(url).get_data(as_text=True)
    field = line_field(html)
    before = _state(services)

    # a forged link: 404 in the customer's browser language, nothing stored
    forged = url[:-3] + ("abc" if not url.endswith("abc") else "xyz")
    response = client.post(forged, data={"csrf_token": csrf(html), field: "cancel"}, headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "This link does not work" in text_of(response)
    # an address-fix link's signature does not open the choice page
    assert client.get("/stock/" + links.sign("another-secret-key-0123456789abcdef", "x")).status_code == 404
    # no CSRF token: 400, nothing stored
    assert client.post(url, data={field: "cancel"}).status_code == 400
    # a choice that was not offered: 422, the form again
    bad = client.post(url, data={"csrf_token": csrf(html), field: "alt9"})
    assert bad.status_code == 422
    assert "Kies voor elk artikel één mogelijkheid." in text_of(bad)
    assert _state(services) == before

    # used: the first choice counts, a second is refused with the date it was made
    assert client.post(url, data={"csrf_token": csrf(html), field: "cancel"}).status_code == 200
    after = _state(services)
    again = client.post(url, data={"csrf_token": csrf(html), field: "wait"})
    assert again.status_code == 410
    assert "Je hebt je keuze al gemaakt" in text_of(again)
    assert _state(services) == after
    world.perform(services)
    sent = len(world.smtp.received)

    # expired: a second order's link, two days later
    world.shop.orders.clear()
    world.lamp_order(available=-2, email="fleur@example.nl")
    world.run(services)
    second = choice_url(world.smtp.received[-1])
    assert second != url
    world.clock.advance(timedelta(days=2))
    before = _state(services)
    response = client.get(second)
    assert response.status_code == 410
    assert "Deze link is verlopen" in text_of(response)
    assert client.post(second, data={"csrf_token": "x", field: "cancel"}).status_code == 410
    assert _state(services) == before
    assert len(world.smtp.received) == sent + 1


def test_cancelling_leaves_the_refund_to_staff(world: World) -> None:
    order_id = world.lamp_order(available=-1)
    services = world.services()
    world.run(services)
    url = choice_url(world.smtp.received[0])
    client = create_app(services).test_client()
    html = client.get(url).get_data(as_text=True)

    assert client.post(url, data={"csrf_token": csrf(html), line_field(html): "cancel"}).status_code == 200
    world.perform(services)

    assert {li["sku"]: li["current_quantity"] for li in world.shop.order(order_id)["line_items"]} == {"LAMP-ZW": 0}
    with services.sessions() as session:
        reasons = [t.reason for t in session.scalars(select(CallTaskRow).order_by(CallTaskRow.id))]
    assert reasons[-1] == "refund €\xa024,95 for 1× Tuinlamp - Zwart: the customer cancelled the out-of-stock item"
    assert "We betalen je €\xa024,95 terug" in world.smtp.received[-1].body("plain")


# --- WooCommerce -------------------------------------------------------------------------------------------


def test_woocommerce_backordered_meta_and_the_merchants_alternative(world: World) -> None:
    # given a tea that manages stock with backorders allowed (notify), one left, and an order of two
    world.woo.catalog.add(300, "Rooibos Vanille 250 g", sku="ROO-250", price="6.88", stock=1, backorders="notify")
    world.woo.catalog.add(301, "Rooibos Naturel 250 g", sku="ROO-N-250", price="6.88", stock=20)
    order = world.woo.create_order(items=(("Rooibos Vanille 250 g", 2, "6.88"),))
    with world.woo.lock:
        world.woo.catalog.reduce_stock(world.woo.orders[order["id"]])
    services = world.services(alternatives={"SKU-300": [{"product_id": "301", "title": "Rooibos Naturel 250 g"}]})

    world.run(services)

    # then the one unit short is named, from WooCommerce's Backordered meta, with the merchant's alternative
    with services.sessions() as session:
        row = session.scalars(select(IncidentRow).where(IncidentRow.kind == "out_of_stock")).one()
        lines = row.details["lines"]
    assert [(x["title"], x["quantity"], x["backordered"], x["signal"]) for x in lines] == [
        ("Rooibos Vanille 250 g", 2, 1, "backorder_meta")
    ]
    mail = world.smtp.received[-1]
    url = choice_url(mail)
    client = create_app(services).test_client()
    html = client.get(url).get_data(as_text=True)

    # when the customer takes the other tea for the unit that is short
    assert client.post(url, data={"csrf_token": csrf(html), line_field(html): "alt1"}).status_code == 200
    world.perform(services)

    # then the order's line items in WooCommerce say so, and staff got a note
    items = [(i["name"], i["quantity"]) for i in world.woo.order(order["id"])["line_items"]]
    assert items == [("Rooibos Vanille 250 g", 1), ("Rooibos Naturel 250 g", 1)]
    assert any("Rooibos Naturel" in n["note"] for n in world.woo.order_notes(order["id"]))


def test_woocommerce_product_on_backorder_without_meta(world: World) -> None:
    # a product on backorder whose shop does not add the meta (backorders "yes": no notification)
    world.woo.catalog.add(300, "Rooibos Vanille 250 g", sku="ROO-250", price="6.88", stock=0, backorders="yes")
    world.woo.create_order(items=(("Rooibos Vanille 250 g", 1, "6.88"),))
    services = world.services()

    world.run(services)

    with services.sessions() as session:
        row = session.scalars(select(IncidentRow).where(IncidentRow.kind == "out_of_stock")).one()
    assert [(x["backordered"], x["signal"]) for x in row.details["lines"]] == [(1, "onbackorder")]


def test_woocommerce_in_stock_is_quiet(world: World) -> None:
    world.woo.catalog.add(300, "Rooibos Vanille 250 g", sku="ROO-250", price="6.88", stock=5, backorders="notify")
    order = world.woo.create_order(items=(("Rooibos Vanille 250 g", 2, "6.88"),))
    with world.woo.lock:
        world.woo.catalog.reduce_stock(world.woo.orders[order["id"]])
    services = world.services()

    world.run(services)

    assert kinds(services) == Counter()
    assert world.smtp.received == []


def test_one_voice_a_customer_with_another_open_problem_hears_from_staff(world: World) -> None:
    # given the customer's earlier order is held for its address (an open incident on another order)
    address = {**world.shop.create_order()["shipping_address"], "address1": "Hoofdstraat"}
    world.shop.orders.clear()
    world.shop.create_order(shipping_address=address)
    services = world.services()
    world.run(services)
    sent = len(world.smtp.received)

    # when their lamp order turns out to be out of stock
    world.lamp_order(available=-1)
    world.run(services)

    # then staff call them and note why; the customer gets no second e-mail about it
    with services.sessions() as session:
        row = session.scalars(select(IncidentRow).where(IncidentRow.kind == "out_of_stock")).one()
    assert row.details["staff_only"] == "one_voice"
    assert kinds(services) == Counter({("create_call_task", "done"): 1, ("add_tags", "done"): 1,
                                       ("add_note", "done"): 1})  # fmt: skip
    assert len(world.smtp.received) == sent
