"""Observe mode: a shop in observe mode gets nothing written and nothing sent (read off the sandbox shops'
request logs and the mail server), what ordercare would have done is recorded with the rendered message, and
switching to act performs only what is decided after the switch."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from markupsafe import escape
from sqlalchemy import select

from connector.admin.observed import FIX_URL_STAND_IN, observed
from connector.backfill import BackfillRefused, backfill, last_reports, lines
from connector.cli import main
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.policies.engine import run_tick
from connector.reconcile import reconcile_shop
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, SandboxShop, ShopifySandbox
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.store.tables import ActionAttempt, ActionRow, OrderRow
from tests.admin.builders import account
from tests.admin.web import sign_in
from tests.conftest import make_settings
from tests.notify.support import CapturingHandler, smtp_server
from tests.reliability.support import Clock
from webhooks import create_app

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Amsterdam: no quiet hours
DOMAIN = "fietsen-observe.myshopify.com"
TOKEN = "shpat_observe_0123456789abcdef"
SECRET = "shopify-webhook-secret-observe"
# What ordercare may still do to a shop in observe mode: read, and keep its webhook subscriptions
SHOPIFY_ALLOWED_MUTATIONS = {"webhookSubscriptionCreate", "webhookSubscriptionUpdate", "webhookSubscriptionDelete"}


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

    def shops(self, mode: str) -> list[dict[str, Any]]:
        shopify = {
            "id": "fietsen",
            "platform": "shopify",
            "shop_domain": DOMAIN,
            "api_base_url": self.shop.base_url,
            "access_token": TOKEN,
            "webhook_secret": SECRET,
            "mode": mode,
        }
        return [shopify, self.woo.shop_config("theewinkel", mode=mode)]

    def services(self, mode: str) -> Services:
        settings = make_settings(
            self.db_url,
            shops=self.shops(mode),
            email={"smtp_host": "127.0.0.1", "smtp_port": self.smtp_port, "sender": "service@fietsen.example"},
        )
        return Services.build(settings, clock=self.clock)

    def run(self, services: Services) -> None:
        """What the scheduler and the worker do in a round: reconcile each shop, decide, perform."""
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

    def bad_address_orders(self) -> tuple[str, str]:
        """One order in each shop without a house number: the address policy holds it and asks the customer."""
        address = {**self.shop.create_order()["shipping_address"], "address1": "Hoofdstraat"}
        self.shop.orders.clear()
        shopify = str(self.shop.create_order(shipping_address=address)["id"])
        woo = str(self.woo.create_order(street="Laan van Meerdervoort", house_number="")["id"])
        return shopify, woo

    def writes(self) -> dict[str, list[Any]]:
        """Every request that changed something in a shop, besides its webhook subscriptions."""
        shopify = [
            fields
            for kind, fields in self.shop.operations
            if kind == "mutation" and not set(fields) <= SHOPIFY_ALLOWED_MUTATIONS
        ]
        woo = [(method, path) for method, path in self.woo.requests if method != "GET" and "/webhooks" not in path]
        return {"shopify": shopify, "woocommerce": woo}


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


def states(services: Services) -> Counter[tuple[str, str, str]]:
    with services.sessions() as session:
        return Counter((a.shop_id, a.kind, a.state) for a in session.scalars(select(ActionRow)))


def attempts(services: Services) -> Counter[str | None]:
    with services.sessions() as session:
        return Counter(a.outcome for a in session.scalars(select(ActionAttempt)))


def test_a_shop_in_observe_mode_gets_nothing_written_and_nothing_sent(world: World) -> None:
    # given two shops in observe mode, each with an order that has no house number
    shopify_order, woo_order = world.bad_address_orders()
    services = world.services("observe")

    # when ordercare reconciles, decides and runs its outbox
    world.run(services)

    # then it decided as in act mode, and recorded every step as observed
    assert states(services) == Counter(
        {
            ("fietsen", "hold_fulfillment", "observed"): 1,
            ("fietsen", "add_tags", "observed"): 1,
            ("fietsen", "notify_customer", "observed"): 1,
            ("fietsen", "add_note", "observed"): 1,
            ("theewinkel", "hold_fulfillment", "observed"): 1,
            ("theewinkel", "add_tags", "observed"): 1,
            ("theewinkel", "notify_customer", "observed"): 1,
            ("theewinkel", "add_note", "observed"): 1,
        }
    )
    # at once, as it planned them: the worker never claimed one
    assert attempts(services) == Counter()
    # and nothing reached the shops or the mail server
    assert world.writes() == {"shopify": [], "woocommerce": []}
    assert world.shop.holds(shopify_order) == []
    assert world.woo.order(int(woo_order))["status"] == "processing"
    assert world.woo.order_notes(int(woo_order)) == []
    assert world.smtp.received == []
    assert any(kind == "query" for kind, _ in world.shop.operations)  # it did read the shop

    # and what it would have done is there to read, the e-mail as the customer would have got it
    with services.sessions() as session:
        seen = observed(session, services.settings, ["fietsen", "theewinkel"])
    by_kind = {(o.shop_id, o.kind): o for o in seen}
    assert len(seen) == 8
    hold = by_kind[("fietsen", "hold_fulfillment")]
    assert (hold.detail, hold.words.message) == ("hold: incorrect_address", "Would have done: %(action)s")
    mail = by_kind[("theewinkel", "notify_customer")]
    assert mail.message is not None
    assert mail.recipient == "sanne.devries@example.nl"
    assert mail.detail == mail.message.subject
    assert mail.message.locale == "nl"
    assert FIX_URL_STAND_IN in mail.message.text
    assert "huisnummer" in mail.message.text


def test_the_operator_reads_what_would_have_been_done(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a shop in observe mode that decided to hold an order and e-mail its customer
    _, woo_order = world.bad_address_orders()
    services = world.services("observe")
    world.run(services)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(services.settings.model_dump(mode="json", exclude_none=True)))

    # when the operator lists the observed actions of the WooCommerce shop
    assert main(["actions", "--config", str(config), "--observed", "--shop", "theewinkel", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)

    # then there are its four, all observed
    assert sorted((a["kind"], a["state"]) for a in listed) == [
        ("add_note", "observed"),
        ("add_tags", "observed"),
        ("hold_fulfillment", "observed"),
        ("notify_customer", "observed"),
    ]

    # and "show" gives the e-mail as the customer would have got it, in the shop's zone
    mail = next(a["id"] for a in listed if a["kind"] == "notify_customer")
    assert main(["actions", "show", str(mail), "--config", str(config)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert (
        shown[0]
        == f"action {mail} · shop theewinkel · order {woo_order} · notify_customer · planned 2026-11-24 10:00 CET"
    )
    assert shown[1:4] == [
        "state: observed",
        "Would have done: e-mail the customer (observe mode: not performed)",
        "e-mail to sanne.devries@example.nl",
    ]
    with services.sessions() as session:
        (message,) = [o.message for o in observed(session, services.settings, ["theewinkel"]) if o.message]
    assert shown[4] == f"subject: {message.subject}"
    assert shown[6:] == message.text.splitlines()
    assert FIX_URL_STAND_IN in "\n".join(shown[6:])
    hold = next(a["id"] for a in listed if a["kind"] == "hold_fulfillment")
    assert main(["actions", "show", str(hold), "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == [
        "Would have done: hold the shipment (observe mode: not performed)",
        "hold: incorrect_address",
    ]
    # an action of another shop is not there for --shop, and an unknown id is said to be unknown
    assert main(["actions", "show", str(hold), "--shop", "fietsen", "--config", str(config)]) == 1
    assert main(["actions", "show", "99999", "--config", str(config)]) == 1
    assert capsys.readouterr().err == f"action {hold}: no such action\naction 99999: no such action\n"


def test_switching_to_act_performs_only_what_is_decided_after_the_switch(world: World) -> None:
    # given an order decided while the shops were in observe mode
    old_shopify, old_woo = world.bad_address_orders()
    world.run(world.services("observe"))
    observed_before = states(world.services("observe"))

    # when the merchant switches both shops to act and ordercare runs again, an hour later
    world.clock.advance(timedelta(hours=1))
    acting = world.services("act")
    world.run(acting)

    # then nothing observed is replayed: no hold, no note, no e-mail for the old orders
    assert states(acting) == observed_before
    assert world.writes() == {"shopify": [], "woocommerce": []}
    assert world.shop.holds(old_shopify) == []
    assert world.smtp.received == []

    # when a new order without a house number comes in
    world.clock.advance(timedelta(minutes=5))
    address = {**world.shop.order(old_shopify)["shipping_address"]}
    new_shopify = str(world.shop.create_order(shipping_address=address)["id"])
    new_woo = str(world.woo.create_order(house_number="")["id"])
    world.run(acting)

    # then it is held in both shops and each customer gets exactly one e-mail; the old orders stay untouched
    assert len(world.shop.holds(new_shopify)) == 1
    assert world.shop.holds(old_shopify) == []
    assert world.woo.order(int(new_woo))["status"] == "on-hold"
    assert world.woo.order(int(old_woo))["status"] == "processing"
    assert [r.rcpt_tos for r in world.smtp.received] == [["sanne.devries@example.nl"], ["sanne.devries@example.nl"]]
    after = states(acting)
    assert after - observed_before == Counter(
        {
            ("fietsen", "hold_fulfillment", "done"): 1,
            ("fietsen", "add_tags", "done"): 1,
            ("fietsen", "notify_customer", "done"): 1,
            ("fietsen", "add_note", "done"): 1,
            ("theewinkel", "hold_fulfillment", "done"): 1,
            ("theewinkel", "add_tags", "done"): 1,
            ("theewinkel", "notify_customer", "done"): 1,
            ("theewinkel", "add_note", "done"): 1,
        }
    )


def test_an_action_planned_before_the_switch_to_observe_is_observed_not_performed(world: World) -> None:
    # given an order decided in act mode whose actions have not been performed yet
    world.bad_address_orders()
    acting = world.services("act")
    env = OutboxEnv(acting)
    for shop_id in ("fietsen", "theewinkel"):
        shop = acting.shops.get(shop_id)
        assert shop is not None
        reconcile_shop(acting, shop, env.client_for(shop_id), env.worker)
    env.close()
    run_tick(acting, world.clock())
    assert {state for _, _, state in states(acting)} == {"pending"}

    # when the merchant switches to observe before the worker gets to them
    observing = world.services("observe")
    env = OutboxEnv(observing)
    drain(env)
    env.close()

    # then each is recorded as observed, with one attempt that says so, and nothing reached a shop or a customer
    assert {state for _, _, state in states(observing)} == {"observed"}
    assert attempts(observing) == Counter({"observed": 8})
    assert world.writes() == {"shopify": [], "woocommerce": []}
    assert world.smtp.received == []


@pytest.mark.parametrize(
    ("lang", "mode_line", "heading"),
    [
        ("en", "<strong>observe</strong>: ordercare decides as usual", "What ordercare would have done"),
        ("nl", "<strong>kijken</strong>: ordercare beslist zoals altijd", "Wat ordercare zou hebben gedaan"),
    ],
)
def test_the_shops_page_shows_the_mode_and_what_would_have_been_done(
    world: World, lang: str, mode_line: str, heading: str
) -> None:
    # given the WooCommerce shop in observe mode, with an order it would have held
    _, woo_order = world.bad_address_orders()
    services = world.services("observe")
    world.run(services)
    with services.sessions() as session:
        account(session, "anna", ["theewinkel"], START)
        session.commit()
        subject = next(o.message.subject for o in observed(session, services.settings, ["theewinkel"]) if o.message)
    web = create_app(services).test_client()
    sign_in(web, "anna")

    # when staff open the Shops page
    html = web.get(f"/admin/shops?lang={lang}").get_data(as_text=True)

    # then it says the shop only observes, and lists the four steps with the e-mail it would have sent
    assert mode_line in html
    assert f'{heading} <span class="count">4</span>' in html
    assert html.count(f"<td>{woo_order}</td>") == 4
    assert f"“{escape(subject)}”</summary>" in html
    assert FIX_URL_STAND_IN in html
    assert "fietsen" not in html.split("<main", 1)[-1]  # anna's shop only


# --- backfill --------------------------------------------------------------------------------------


def woo_orders_over_time(world: World) -> tuple[str, str, str]:
    """Three WooCommerce orders: one without a house number and one fine, this morning; one fine, 40 days ago."""
    now = world.clock.now
    world.clock.now = now - timedelta(days=40)
    old = str(world.woo.create_order()["id"])
    world.clock.now = now - timedelta(minutes=30)
    fine = str(world.woo.create_order()["id"])
    world.clock.now = now - timedelta(hours=1)
    bad = str(world.woo.create_order(house_number="")["id"])
    world.clock.now = now
    return old, fine, bad


def test_a_backfill_previews_the_recent_orders_and_writes_nothing(world: World) -> None:
    # given a WooCommerce shop in observe mode with three orders, one older than the window
    _old, fine, bad = woo_orders_over_time(world)
    services = world.services("observe")
    shop = services.shops.get("theewinkel")
    assert shop is not None
    env = OutboxEnv(services)
    seen: list[int] = []
    # and the other shop's order stored and due: the scheduler's to decide on, not this backfill's
    address = {**world.shop.create_order()["shipping_address"], "address1": "Hoofdstraat"}
    world.shop.orders.clear()
    world.shop.create_order(shipping_address=address)
    other = services.shops.get("fietsen")
    assert other is not None
    reconcile_shop(services, other, env.client_for("fietsen"), env.worker, check_webhooks=False)

    # when the operator backfills the last 30 days
    report = backfill(services, shop, env.client_for("theewinkel"), 30, progress=seen.append)
    env.close()

    # then the two recent orders were read and decided on, and the old one was not read at all
    assert (report.read, report.stored, report.decided, report.error) == (2, 2, 2, None)
    with services.sessions() as session:
        stored = session.scalars(select(OrderRow.external_id).where(OrderRow.shop_id == "theewinkel"))
        assert sorted(stored) == sorted([fine, bad])
        assert session.scalars(select(ActionRow).where(ActionRow.shop_id == "fietsen")).all() == []
    # and what ordercare would have done is counted by kind, with the one message as a sample
    assert report.by_kind == Counter({"hold_fulfillment": 1, "add_tags": 1, "notify_customer": 1, "add_note": 1})
    assert report.messages == 1
    (sample,) = report.samples
    assert (sample.order, sample.recipient) == (bad, "sanne.devries@example.nl")
    assert sample.message is not None
    assert lines(report) == [
        "theewinkel: read 2 orders changed in the last 30 days (2 new or changed here), decided on 2",
        "ordercare would have done 4 things:",
        "  write a note on the order: 1",
        "  tag the order: 1",
        "  hold the shipment: 1",
        "  e-mail the customer: 1",
        "messages (1 of 1):",
        f"  order {bad} to sanne.devries@example.nl: {sample.message.subject}",
        "every step: ordercare actions --observed --shop theewinkel (show ID for one message), "
        "or the dashboard's Shops page",
    ]
    assert seen == []  # fewer orders than one progress step
    # and nothing was written to the shop or sent (it did not even subscribe webhooks): it read the orders and
    # the stock of their products
    assert world.woo.requests == [("GET", "/wp-json/wc/v3/orders"), ("GET", "/wp-json/wc/v3/products")]
    assert world.smtp.received == []
    with services.sessions() as session:
        assert last_reports(session, ["theewinkel", "fietsen"]) == {"theewinkel": report.as_dict(START)}


def test_a_backfill_of_a_shop_that_acts_is_refused_and_reads_nothing(world: World) -> None:
    woo_orders_over_time(world)
    services = world.services("act")
    shop = services.shops.get("theewinkel")
    assert shop is not None
    env = OutboxEnv(services)
    with pytest.raises(BackfillRefused) as refused:
        backfill(services, shop, env.client_for("theewinkel"), 30)
    env.close()
    assert str(refused.value) == (
        "theewinkel: the shop acts (mode: act); a backfill previews only a shop in observe mode: "
        "set mode: observe for it, run the backfill, then switch back"
    )
    assert world.woo.requests == []
    with services.sessions() as session:
        assert session.scalars(select(OrderRow)).all() == []
        assert last_reports(session, ["theewinkel"]) == {}


@pytest.mark.parametrize("days", [0, 366])
def test_a_backfill_window_outside_one_to_365_days_is_refused(world: World, days: int) -> None:
    services = world.services("observe")
    shop = services.shops.get("theewinkel")
    assert shop is not None
    with pytest.raises(BackfillRefused, match=rf"^--days: give 1 to 365 days, not {days}$"):
        backfill(services, shop, OutboxEnv(services).client_for("theewinkel"), days)
    assert world.woo.requests == []


def test_the_backfill_command_reports_with_progress_and_the_shops_page_shows_it(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the shop in observe mode and its configuration in a file; the command runs on the wall clock,
    # so the shop's orders are placed by it too
    world.clock.now = datetime.now(UTC)
    woo_orders_over_time(world)
    services = world.services("observe")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(services.settings.model_dump(mode="json", exclude_none=True)))
    monkeypatch.setattr("connector.backfill.PROGRESS_EVERY", 1)

    # when the operator runs the command for one day (two orders in it)
    code = main(["backfill", "--shop", "theewinkel", "--days", "1", "--config", str(config)])

    # then it reports on the console, with progress on stderr, and exits 0
    out, err = capsys.readouterr()
    assert code == 0
    assert err == "read 1 orders…\nread 2 orders…\n"
    assert out.splitlines()[:2] == [
        "theewinkel: read 2 orders changed in the last 1 days (2 new or changed here), decided on 2",
        "ordercare would have done 4 things:",
    ]
    assert main(["backfill", "--shop", "nergens", "--config", str(config)]) == 2
    assert capsys.readouterr().err == "--shop: no shop 'nergens'; known: fietsen, theewinkel\n"

    # and the Shops page shows the last backfill
    with services.sessions() as session:
        account(session, "anna", ["theewinkel"], START)
        session.commit()
    web = create_app(services).test_client()
    sign_in(web, "anna")
    html = web.get("/admin/shops?lang=en").get_data(as_text=True)
    assert "2 orders of the last 1 days read, 2 decided on." in html
    assert (
        "ordercare would have done: write a note on the order (1), tag the order (1), hold the shipment (1), "
        "e-mail the customer (1)." in html
    )
