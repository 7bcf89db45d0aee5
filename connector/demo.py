"""``ordercare demo``: a scripted week of orders for a Shopify and a WooCommerce sandbox shop.

Everything runs on loopback through the real code paths: the sandboxes send signed webhooks over HTTP to
ordercare's web server, the policy tick decides on a simulated clock, the outbox writes back through the
real platform clients, and e-mails go over SMTP to a local mail catcher. The story is printed hour by hour;
``--json`` prints only a summary object.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from connector.sandbox.server import free_port

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 11, 23, 8, 0, tzinfo=AMSTERDAM)  # Monday
END = datetime(2026, 11, 30, 12, 0, tzinfo=AMSTERDAM)  # the Monday after
SHOPIFY_DOMAIN = "fietsen-demo.myshopify.com"
SHOPIFY_SECRET = "demo-shopify-app-secret"  # noqa: S105 - a sandbox credential
SHOPIFY_TOKEN = "shpat_demo_token"  # noqa: S105 - a sandbox credential
DHL_KEY = "sandbox-dhl-key"  # the DHL stand-in's key (connector.carriers.dhl.sandbox.API_KEY)
SENDCLOUD_PUBLIC = "sandbox-public-key"  # the Sendcloud stand-in's key pair
SENDCLOUD_SECRET = "sandbox-secret-key-0123456789"  # noqa: S105 - a sandbox credential


class SimClock:
    """The demo's clock: every part of the demo reads it; the script moves it hour by hour, and after the week
    (``run``) it goes on at real speed from where the script left it."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)
        self._running_since: float | None = None

    def __call__(self) -> datetime:
        if self._running_since is None:
            return self.now
        return self.now + timedelta(seconds=time.monotonic() - self._running_since)

    def run(self) -> None:
        """From now on the clock moves with real time."""
        self._running_since = time.monotonic()


class MailCatcher:
    """A local SMTP server that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        catcher = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                parsed = message_from_bytes(envelope.content, policy=policy.default)
                with catcher._lock:
                    catcher.messages.append(parsed)
                return "250 Message accepted"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> MailCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


# --- the script ----------------------------------------------------------------------------------


@dataclass
class Step:
    at: datetime
    say: str
    do: Callable[[Demo], object]


@dataclass
class Demo:
    as_json: bool
    clock: SimClock
    out: list[str] = field(default_factory=list)
    refs: dict[str, Any] = field(default_factory=dict)
    services: Any = None
    env: Any = None
    shopify: Any = None  # SandboxShop
    woo: Any = None  # WooSandbox
    mail: MailCatcher | None = None
    web_url: str = ""
    shopify_url: str = ""
    shopify_versions: dict[str, str] = field(default_factory=dict)
    sendcloud: Any = None  # SendcloudSandbox: labels for the tea shop's parcels, pushing their scans
    dhl: Any = None  # DhlSandbox: the bicycle shop's DHL parcels, read by polling
    poller: Any = None  # connector.carriers.poller.Poller, as the worker runs it

    def say(self, text: str) -> None:
        if not self.as_json:
            print(text, flush=True)

    # shop-side helpers -------------------------------------------------------------------------------

    @property
    def shopify_hook(self) -> str:
        return f"{self.web_url}/webhooks/shopify"

    def shopify_order(self, ref: str, **fields: Any) -> None:
        order = self.shopify.create_order(**fields)
        self.refs[ref] = order["id"]
        self.shopify.emit("orders/create", order)
        self.shopify_versions[str(order["id"])] = order["updated_at"]

    def shopify_ship(self, ref: str, carrier: str = "PostNL", number: str | None = None) -> None:
        fulfilment = self.shopify.fulfil(self.refs[ref], tracking_company=carrier, tracking_number=number)
        self.refs[f"{ref}:fulfilment"] = fulfilment["id"]
        self.shopify.emit("fulfillments/create", fulfilment)
        self.shopify.emit("orders/fulfilled", self.shopify.order(self.refs[ref]))

    def shopify_scan(self, ref: str, status: str, estimate: datetime | None = None) -> None:
        event = self.shopify.add_fulfillment_event(
            self.refs[f"{ref}:fulfilment"], status, estimated_delivery_at=estimate, city="Utrecht"
        )
        self.shopify.emit("fulfillment_events/create", event)

    def sync_shopify_changes(self) -> None:
        """Shopify sends orders/updated when an order changes, our own write-backs included."""
        for order_id, version in list(self.shopify_versions.items()):
            order = self.shopify.order(order_id)
            if order["updated_at"] != version:
                self.shopify_versions[order_id] = order["updated_at"]
                self.shopify.emit("orders/updated", order)

    def dhl_ship(self, ref: str, number: str, postcode: str) -> None:
        """The shop ships with DHL: Shopify gets the tracking number only; DHL scans it at its hub."""
        self.dhl.add_parcel(number, postcode)
        self.shopify_ship(ref, "DHL", number)
        self.dhl.move(number, "PARCEL_SORTED_AT_HUB", self.clock())

    def sendcloud_ship(self, ref: str, number: str) -> None:
        """A Sendcloud label for the tea shop's PostNL parcel: the tracking number reaches WooCommerce (no status),
        and Sendcloud pushes the first scan."""
        order = self.woo.add_tracking(self.refs[ref], number=number)
        postcode = str(order["shipping"]["postcode"])
        self.sendcloud.add_parcel(number, order_number=str(order["number"]), postal_code=postcode)
        self.sendcloud_scan(number, 5)  # sorted

    def sendcloud_scan(self, number: str, status_id: int) -> None:
        """Sendcloud's signed ``parcel_status_changed`` webhook to ordercare (real HTTP)."""
        self.sendcloud.move(number, status_id, self.clock())
        body = self.sendcloud.webhook(number, status_id, self.clock())
        answer = self.sendcloud.deliver(f"{self.web_url}/carriers/sendcloud/theewinkel", body)
        answer.raise_for_status()

    def woo_order(self, ref: str, **fields: Any) -> None:
        order = self.woo.create_order(created_at=self.clock(), **fields)
        self.refs[ref] = order["id"]

    def fix_address(self, email_to: str, **fields: str) -> None:
        """The customer opens the link from the e-mail and corrects the address (real HTTP, with CSRF)."""
        link = self.fix_link(email_to)
        if link is None:
            self.say("    (no fix link found in the e-mails)")
            return
        browser = requests.Session()
        page = browser.get(link, timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        form = {"csrf_token": token.group(1) if token else "", **fields}
        answer = browser.post(link, data=form, timeout=10)
        self.say(f"    the customer opens the link from the e-mail and submits the form: HTTP {answer.status_code}")

    def tracking_link(self, shop_id: str, ref: str) -> str:
        """The order's tracking page, as every e-mail about it links to it."""
        from connector.tracking.links import page_url, token_for

        settings = self.services.settings
        return page_url(settings.public_url, token_for(settings.secret_key, shop_id, str(self.refs[ref])))

    def fix_link(self, email_to: str) -> str | None:
        assert self.mail is not None
        for message in self.mail.messages:
            if email_to in str(message["To"]):
                body = message.get_body(preferencelist=("plain",))
                text = body.get_content() if body is not None else ""
                match = re.search(r"(https?://\S+/fix/\S+)", str(text))
                if match:
                    return match.group(1).rstrip(".,)")
        return None


def _seq(*calls: Callable[[Demo], object]) -> Callable[[Demo], None]:
    """Several things happening in one step, in order."""

    def run(demo: Demo) -> None:
        for call in calls:
            call(demo)

    return run


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return (START + timedelta(days=day)).replace(hour=hour, minute=minute)


def script() -> list[Step]:
    good = {"address1": "Oudegracht 117", "zip": "3511 AZ", "city": "Utrecht"}

    def shopify_address(first: str, last: str, email: str, **address: Any) -> dict[str, Any]:
        return {
            "email": email,
            "contact_email": email,
            "customer": {"id": 7300000000000000000 + len(first) * 7 + len(last), "email": email,
                         "first_name": first, "last_name": last, "phone": "+31612345678"},
            "shipping_address": {"first_name": first, "last_name": last, "name": f"{first} {last}", "company": None,
                                 "address1": "Hoofdstraat 12a", "address2": None, "city": "Utrecht",
                                 "province": "Utrecht", "province_code": "UT", "zip": "3511 AB",
                                 "country": "Netherlands", "country_code": "NL", "phone": "+31612345678", **address},
        }  # fmt: skip

    standard = [{"id": 1, "title": "Standaard (PostNL)", "code": "postnl-standard", "price": "4.95",
                 "source": "shopify", "is_removed": False}]  # fmt: skip
    woo_standard = ("Standaard verzending", "flat_rate")
    return [
        Step(_local(0, 9), "Shopify #1001: Sanne orders a bicycle bell (standard delivery)",
             lambda d: d.shopify_order("A", shipping_lines=standard, buyer_accepts_marketing=True,
                                       **shopify_address("Sanne", "de Vries", "sanne@example.nl", **good))),
        Step(_local(0, 10), "Shopify #1002: Daan orders, but his checkout left out the house number",
             lambda d: d.shopify_order("B", shipping_lines=standard,
                                       **shopify_address("Daan", "Jansen", "daan@example.nl", address1="Kerkstraat",
                                                         zip="3512 GV"))),
        Step(_local(0, 10), "WooCommerce: Fleur orders tea; it will sit in the warehouse",
             lambda d: d.woo_order("C", first_name="Fleur", last_name="Bakker", email="fleur@example.nl",
                                   shipping_method=woo_standard)),
        Step(_local(0, 11), "WooCommerce: Bram orders tea (standard delivery)",
             lambda d: d.woo_order("F", first_name="Bram", last_name="Visser", email="bram@example.nl",
                                   shipping_method=woo_standard)),
        Step(_local(0, 12), "WooCommerce: Emma's split-field checkout sent an empty house number",
             lambda d: d.woo_order("G", first_name="Emma", last_name="Smit", email="emma@example.nl",
                                   house_number="", shipping_method=woo_standard)),
        Step(_local(0, 14), "Daan fixes his address through the link in his e-mail",
             lambda d: d.fix_address("daan@example.nl", postcode="3512 GV", house_number="8", street="Kerkstraat",
                                     city="Utrecht")),
        Step(_local(0, 15), "Shopify #1001 leaves the warehouse with PostNL", lambda d: d.shopify_ship("A")),
        Step(_local(0, 16), "WooCommerce: Bram's tea ships with PostNL on a Sendcloud label; Sendcloud reports a scan",
             lambda d: d.sendcloud_ship("F", "3SDEMO000F")),
        Step(_local(0, 17), "Shopify #1003: Lotte orders at 17:00 with 'Morgen in huis' (cut-off 18:00)",
             lambda d: d.shopify_order("D", **shopify_address("Lotte", "Mulder", "lotte@example.nl", **good))),
        Step(_local(1, 9), "Shopify #1002 ships to Daan's corrected address", lambda d: d.shopify_ship("B")),
        Step(_local(1, 10), "PostNL scans #1001 in transit", lambda d: d.shopify_scan("A", "in_transit")),
        Step(_local(2, 15), "PostNL delivers #1002", _seq(lambda d: d.shopify_scan("B", "in_transit"),
                                                           lambda d: d.shopify_scan("B", "delivered"))),
        Step(_local(1, 11), "Shopify #1003 finally ships with DHL, a day late; ordercare polls DHL for it",
             lambda d: d.dhl_ship("D", "JVGL0DEMO00001003", "3511AZ")),
        Step(_local(1, 11), "WooCommerce: Bram's second order ships; then the parcel goes quiet",
             _seq(lambda d: d.woo_order("E", first_name="Bram", last_name="Visser", email="bram@example.nl",
                                        shipping_method=woo_standard),
                  lambda d: d.sendcloud_ship("E", "3SDEMO000E"))),
        Step(_local(1, 13), "PostNL delivers #1001 and Bram's first order",
             _seq(lambda d: d.shopify_scan("A", "delivered"),
                  lambda d: d.sendcloud_scan("3SDEMO000F", 11))),
        Step(_local(2, 12), "DHL delivers #1003 (ordercare reads it at its next poll)",
             lambda d: d.dhl.move("JVGL0DEMO00001003", "DELIVERED", d.clock())),
    ]  # fmt: skip


# --- wiring ----------------------------------------------------------------------------------------


def _settings(tmp: Path, demo: Demo, web_port: int, woo_shop: dict[str, Any]) -> Any:
    from connector.config import settings_from_mapping

    assert demo.mail is not None
    raw = {
        "database_url": f"sqlite:///{tmp / 'ordercare-demo.db'}",
        "secret_key": secrets.token_urlsafe(24),
        "public_url": f"http://127.0.0.1:{web_port}",
        "log_level": "WARNING",
        "fix_link_days": 14,  # Emma's link must still work when the week is over
        "scheduler": {"max_attempts": 5},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": demo.mail.port,
                  "sender": "Klantenservice <service@fietsenwinkel.example.nl>"},
        "shops": [
            {"id": "fietsen", "name": "Fietsenwinkel", "platform": "shopify", "shop_domain": SHOPIFY_DOMAIN,
             "api_base_url": demo.shopify.base_url, "access_token": SHOPIFY_TOKEN, "webhook_secret": SHOPIFY_SECRET,
             "timezone": "Europe/Amsterdam", "locale": "nl",
             "carriers": {"dhl": {"api_key": DHL_KEY, "api_base_url": demo.dhl.url}}},
            # the tea shop writes as itself, and asks its own customers for reviews on the soft opt-in
            {**woo_shop, "name": "De Theewinkel", "timezone": "Europe/Amsterdam", "locale": "nl",
             "sender": "De Theewinkel <hallo@theewinkel.example.nl>",
             "policies": {"review": {"consent": "existing_customer"}},
             "carriers": {"sendcloud": {"public_key": SENDCLOUD_PUBLIC, "secret_key": SENDCLOUD_SECRET,
                                        "api_base_url": demo.sendcloud.url}}},
        ],
    }  # fmt: skip
    return settings_from_mapping(raw, env={})


_ACTION_WORDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "add_tags": lambda p: "tag " + ", ".join(p.get("tags", [])),
    "add_note": lambda p: "staff note: " + str(p.get("text", "")).splitlines()[0][:90],
    "set_attributes": lambda p: "order attributes " + ", ".join(p.get("attributes", {})),
    "notify_customer": lambda p: f"e-mail to the customer ({p.get('template')})",
    "create_voucher": lambda p: (
        f"voucher {p.get('code')} ({p.get('value')}{'%' if p.get('kind') == 'percentage' else ' EUR'})"
    ),
    "hold_fulfillment": lambda p: "fulfilment put on hold",
    "release_hold": lambda p: "our hold released",
    "update_address": lambda p: "shipping address updated in the shop",
    "create_call_task": lambda p: "call task for staff: " + str(p.get("reason", ""))[:70],
}


def _number(number: str | None) -> str:
    return "" if number is None else number if number.startswith("#") else f"#{number}"


class Reporter:
    """Reads what happened in the database since the last look and tells it."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.seen_actions: set[int] = set()
        self.incident_states: dict[int, tuple[str, int]] = {}
        self.promise_states: dict[int, str] = {}

    def report(self) -> list[str]:
        from connector.store.tables import ActionRow, IncidentRow, OrderRow

        lines: list[str] = []

        with self.demo.services.sessions() as session:
            numbers = dict(session.execute(select(OrderRow.id, OrderRow.number)).all())
            shops = dict(session.execute(select(OrderRow.id, OrderRow.shop_id)).all())
            for incident in session.scalars(select(IncidentRow).order_by(IncidentRow.id)):
                state = (incident.state, incident.level)
                before = self.incident_states.get(incident.id)
                if before == state:
                    continue
                self.incident_states[incident.id] = state
                where = f"{shops.get(incident.order_id)} {_number(numbers.get(incident.order_id))}"
                if before is None:
                    lines.append(f"    ! {where}: {incident.kind} incident opened")
                elif incident.state == "resolved":
                    lines.append(f"    ✓ {where}: {incident.kind} incident resolved ({incident.resolution})")
                else:
                    lines.append(f"    ! {where}: {incident.kind} incident escalated to level {incident.level}")
            for action in session.scalars(
                select(ActionRow).where(ActionRow.state.in_(("done", "failed"))).order_by(ActionRow.id)
            ):
                if action.id in self.seen_actions:
                    continue
                self.seen_actions.add(action.id)
                where = f"{action.shop_id} {_number(numbers.get(action.order_id))}"
                describe = _ACTION_WORDS.get(action.kind)
                words = describe(action.payload) if describe else action.kind
                mark = "→" if action.state == "done" else "✗"
                suffix = "" if action.state == "done" else f" — failed: {action.last_error}"
                lines.append(f"      {mark} {where}: {words}{suffix}")
        lines.extend(self._promises())
        return lines

    def _promises(self) -> list[str]:
        from connector.promises import store

        with self.demo.services.sessions() as session:
            listed = store.listed(session)
        lines = []
        for item in listed:
            promise = item.promise
            assert promise.id is not None
            if self.promise_states.get(promise.id) == promise.ended:
                continue
            self.promise_states[promise.id] = promise.ended
            what = f"{promise.kind.replace('_', ' ')} {promise.promised.strftime('%a %d %b')}"
            where = f"{item.shop_id} {_number(item.order_number)}"
            mark = "◇" if promise.open else "◆"
            lines.append(f"    {mark} {where}: promise {what} — {promise.ended.replace('_', ' ')}")
        return lines


def _settle(demo: Demo) -> None:
    """Deliver what the shops have to say, let the policies decide, perform the actions; until quiet."""
    from connector.outbox.queue import drain
    from connector.policies.engine import run_until_idle

    demo.poller.run(demo.clock())  # the worker's carrier reads (DHL for the bicycle shop)
    for _ in range(4):
        demo.woo.deliver_pending()
        demo.sync_shopify_changes()
        report = run_until_idle(demo.services, demo.clock())
        done = drain(demo.env)
        if report.evaluated == 0 and done.total == 0 and not demo.woo.pending_deliveries():
            break


def _messages(demo: Demo) -> list[dict[str, Any]]:
    """Every customer message that went, with the date it promised (if any), in the order they went."""
    from connector.store.tables import EmailLog, OrderRow, PromiseRow

    with demo.services.sessions() as session:
        promised = dict(
            session.execute(
                select(PromiseRow.action_id, func.min(PromiseRow.promised_on)).group_by(PromiseRow.action_id)
            ).all()
        )
        rows = session.execute(
            select(EmailLog, OrderRow.number)
            .outerjoin(OrderRow, OrderRow.id == EmailLog.order_id)
            .order_by(EmailLog.sent_at, EmailLog.id)
        ).all()
        return [
            {
                "shop": log.shop_id,
                "order": _number(number),
                "template": log.template,
                "sent_at": log.sent_at.astimezone(AMSTERDAM).isoformat(),
                "promised_date": promised[log.action_id].isoformat() if log.action_id in promised else None,
            }
            for log, number in rows
        ]


def _promises(demo: Demo) -> list[dict[str, Any]]:
    """Every date promised and how it ended by the end of the week (a passed open one shows as missed)."""
    from connector.promises import rules, store

    today = demo.clock().astimezone(AMSTERDAM).date()
    with demo.services.sessions() as session:
        listed = store.listed(session)
    return [
        {
            "shop": item.shop_id,
            "order": _number(item.order_number),
            "kind": item.promise.kind,
            "promised_date": item.promise.promised.isoformat(),
            "made_at": item.promise.made_at.astimezone(AMSTERDAM).isoformat(),
            "ended": rules.shown_ended(item.promise, today),
            "ended_at": item.promise.ended_at.astimezone(AMSTERDAM).isoformat() if item.promise.ended_at else None,
        }
        for item in listed
    ]


def _summary(demo: Demo) -> dict[str, Any]:
    from connector.store.tables import ActionRow, CarrierEventRow, IncidentRow, OrderRow, VoucherRow

    with demo.services.sessions() as session:
        orders = session.scalar(select(func.count()).select_from(OrderRow)) or 0
        incidents = dict(session.execute(select(IncidentRow.kind, func.count()).group_by(IncidentRow.kind)).all())
        actions = dict(
            session.execute(
                select(ActionRow.kind, func.count()).where(ActionRow.state == "done").group_by(ActionRow.kind)
            ).all()
        )
        vouchers = session.scalar(select(func.count()).select_from(VoucherRow).where(VoucherRow.state == "issued"))
        carrier_events = dict(
            session.execute(select(CarrierEventRow.source, func.count()).group_by(CarrierEventRow.source)).all()
        )
    assert demo.mail is not None
    notes = demo.shopify.counters.get("notes_written", 0) + demo.woo.counters.get("notes", 0)
    return {
        "orders": int(orders),
        "incidents": {k: int(v) for k, v in sorted(incidents.items())},
        "actions": {k: int(v) for k, v in sorted(actions.items())},
        "notes_written": int(notes),
        "vouchers": int(vouchers or 0),
        "emails": len(demo.mail.messages),
        "carrier_events": {k: int(v) for k, v in sorted(carrier_events.items())},  # by source
        "messages": _messages(demo),
        "promises": _promises(demo),
    }


def run_demo(as_json: bool = False, hold_seconds: float = 0.0, keep: bool = False) -> int:
    """The week, then (``keep``: until Ctrl-C or SIGTERM; ``hold_seconds``: that long) the whole service."""
    from connector.admin.users import ensure_user
    from connector.carriers.dhl.sandbox import DhlSandbox
    from connector.carriers.poller import Poller
    from connector.carriers.sendcloud.sandbox import SendcloudSandbox
    from connector.notify.mailer import describe_email
    from connector.outbox.env import OutboxEnv
    from connector.sandbox.server import BackgroundServer
    from connector.sandbox.shopify import ShopifySandbox
    from connector.sandbox.woocommerce import WooSandbox
    from connector.scheduler import reconcile_all
    from connector.services import Services
    from connector.store.db import make_engine, transaction, upgrade
    from webhooks import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.monotonic()
    clock = SimClock(START)
    demo = Demo(as_json=as_json, clock=clock)
    servers: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="ordercare-demo-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            demo.mail = MailCatcher().start()
            shopify = ShopifySandbox(clock=clock)
            demo.shopify = shopify.add_shop(SHOPIFY_DOMAIN, secret=SHOPIFY_SECRET, access_token=SHOPIFY_TOKEN)
            servers.append(BackgroundServer(shopify).start())
            shopify.url = demo.shopify_url = servers[-1].url
            demo.woo = WooSandbox(clock=clock)
            servers.append(demo.woo.serve().start())
            demo.sendcloud = SendcloudSandbox(clock)
            servers.append(demo.sendcloud.serve().start())
            demo.sendcloud.url = servers[-1].url
            demo.dhl = DhlSandbox(clock)
            servers.append(demo.dhl.serve().start())
            demo.dhl.url = servers[-1].url
            web_port = free_port()
            settings = _settings(tmp, demo, web_port, demo.woo.shop_config("theewinkel"))
            engine = make_engine(settings.database_url)
            upgrade(engine)
            demo.services = Services.build(settings, engine=engine, clock=clock)
            servers.append(BackgroundServer(create_app(demo.services), port=web_port).start())
            demo.web_url = settings.public_url
            demo.env = OutboxEnv(demo.services, worker="demo")
            demo.poller = Poller(demo.services, rng=random.Random(1))
            with transaction(demo.services.sessions) as session:
                _account, password = ensure_user(session, "demo", ["fietsen", "theewinkel"], clock())

            demo.say("ordercare demo — a week of orders at Fietsenwinkel (Shopify) and De Theewinkel (WooCommerce)")
            demo.say(f"  web: {demo.web_url}   dashboard: {demo.web_url}/admin  (sign in: demo / {password})")
            demo.say(f"  sandboxes: Shopify {shopify.url}, WooCommerce {demo.woo.site_url}; mail catcher on port "
                     f"{demo.mail.port}")  # fmt: skip
            for report in reconcile_all(demo.env):  # registers our webhooks in both shops
                demo.say(f"  {report.shop_id}: webhooks registered ({report.webhooks_changed} changes)")
            demo.woo.deliver_pending()

            reporter = Reporter(demo)
            steps = sorted(script(), key=lambda s: s.at)
            hour = START
            day_shown = None
            while hour <= END:
                clock.now = hour.astimezone(UTC)
                due = [s for s in steps if s.at <= hour]
                steps = [s for s in steps if s.at > hour]
                if due and day_shown != hour.date():
                    day_shown = hour.date()
                    demo.say(f"\n{hour.strftime('%A %d %B')}")
                for step in due:
                    demo.say(f"  {step.at.strftime('%H:%M')}  {step.say}")
                    step.do(demo)
                _settle(demo)
                lines = reporter.report()
                if lines and not due:
                    if day_shown != hour.date():
                        day_shown = hour.date()
                        demo.say(f"\n{hour.strftime('%A %d %B')}")
                    demo.say(f"  {hour.strftime('%H:%M')}  scheduler tick")
                for line in lines:
                    demo.say(line)
                hour += timedelta(hours=1)

            summary = _summary(demo)
            if not as_json:
                demo.say(f"\nE-mails sent ({len(demo.mail.messages)}):")
                for message in demo.mail.messages:
                    demo.say("-" * 72)
                    demo.say(describe_email(message).rstrip())
                demo.say("-" * 72)
                link = demo.fix_link("emma@example.nl")
                if link:
                    demo.say(f"\nEmma has not fixed her address yet. Her link works while the demo runs: {link}")
                demo.say(f"Bram's quiet parcel on his tracking page: {demo.tracking_link('theewinkel', 'E')}")
                demo.say(f"Dashboard: {demo.web_url}/admin — sign in as demo / {password}")
                demo.say(f"\nSummary: {json.dumps(summary)}")
                demo.say(f"(finished in {time.monotonic() - started:.1f} s)")
                if not keep and hold_seconds <= 0:
                    demo.say("(ordercare demo --keep keeps the service running after the week)")
            else:
                print(json.dumps(summary), flush=True)
            if keep or hold_seconds > 0:
                _keep_running(demo, reporter, password, None if keep else hold_seconds)
        finally:
            for server in reversed(servers):
                server.stop()
            if demo.mail is not None:
                demo.mail.stop()
            if demo.env is not None:
                demo.env.close()
            if demo.services is not None:
                demo.services.engine.dispose()
    return 0


def _keep_running(demo: Demo, reporter: Reporter, password: str, seconds: float | None) -> None:
    """After the week: the scheduler and the outbox join the web server, the shops go on sending their webhooks,
    and the clock runs on, until Ctrl-C or SIGTERM (or ``seconds``). What ordercare does is told as it happens."""
    from connector.scheduler import Worker

    def tell(text: str) -> None:  # --json keeps standard output for the summary
        print(text, file=sys.stdout if not demo.as_json else sys.stderr, flush=True)

    with _stop_signals() as stopped:
        demo.clock.run()
        worker = Worker(demo.services)  # what `ordercare serve` and `ordercare worker` run
        # both shops were reconciled at the start of the week; the next reconcile is one interval from now
        minutes = demo.services.settings.scheduler.reconcile_minutes
        worker.scheduler.reschedule_job("reconcile", trigger="interval", minutes=minutes)
        worker.start()
        pump_stop = threading.Event()
        pump = threading.Thread(target=_shops_and_story, args=(demo, reporter, tell, pump_stop), name="demo-shops")
        pump.start()
        try:
            since = demo.clock().astimezone(AMSTERDAM).strftime("%A %d %B %H:%M")
            how_long = "until you stop it" if seconds is None else f"for {seconds:g} s"
            tell(f"\nordercare keeps running {how_long}: web, scheduler and outbox, the clock going on from {since}.")
            tell(f"  dashboard: {demo.web_url}/admin  (sign in: demo / {password})")
            link = demo.fix_link("emma@example.nl")
            if link:
                tell(f"  Emma's fix link: {link}")
            tell(f"  Bram's tracking page: {demo.tracking_link('theewinkel', 'E')}")
            tell(f"  sandboxes: Shopify {demo.shopify_url}, WooCommerce {demo.woo.site_url}")
            tell("Press Ctrl-C to stop.")
            stopped.wait(seconds)
        finally:
            pump_stop.set()
            pump.join(timeout=10)
            worker.stop()
    tell("ordercare demo stopped.")


def _shops_and_story(demo: Demo, reporter: Reporter, tell: Callable[[str], None], stop: threading.Event) -> None:
    """Once a second: the shops send what changed (WooCommerce's queued webhooks, Shopify's orders/updated), and
    what ordercare did since the last look is told with the time on the demo's clock."""
    while not stop.wait(1.0):
        try:
            demo.woo.deliver_pending()
            demo.sync_shopify_changes()
            lines = reporter.report()
        except Exception:  # one round that fails must not end the demo; the next round tries again
            logging.getLogger(__name__).exception("the demo's shops could not send their news")
            continue
        if lines and not demo.as_json:
            tell(f"  {demo.clock().astimezone(AMSTERDAM).strftime('%H:%M')}  while running")
            for line in lines:
                tell(line)


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """An event that Ctrl-C or SIGTERM sets while inside; the previous handlers come back after."""
    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield done
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _hold(seconds: float | None) -> None:
    """Wait ``seconds`` (None: until stopped) or until Ctrl-C / SIGTERM."""
    with _stop_signals() as done:
        done.wait(seconds)


def run_sandboxes(port: int) -> int:
    """``ordercare sandbox``: both stand-in shops on fixed ports, with config snippets to point ordercare at."""
    from connector.sandbox.server import BackgroundServer
    from connector.sandbox.shopify import ShopifySandbox
    from connector.sandbox.woocommerce import WooSandbox

    shopify = ShopifySandbox()
    shop = shopify.add_shop(SHOPIFY_DOMAIN, secret=SHOPIFY_SECRET, access_token=SHOPIFY_TOKEN)
    shopify_server = BackgroundServer(shopify, port=port).start()
    shopify.url = shopify_server.url
    woo = WooSandbox()
    woo_server = woo.serve(port=port + 1).start()
    snippet = {
        "shops": [
            {"id": "fietsen", "platform": "shopify", "shop_domain": SHOPIFY_DOMAIN, "api_base_url": shop.base_url,
             "access_token": SHOPIFY_TOKEN, "webhook_secret": SHOPIFY_SECRET},
            woo.shop_config("theewinkel"),
        ]
    }  # fmt: skip
    print(f"Shopify sandbox on {shopify.url}, WooCommerce sandbox on {woo.site_url}. Config for ordercare:")
    print(json.dumps(snippet, indent=2))
    print("Ctrl-C to stop.", flush=True)
    try:
        _hold(None)
    finally:
        shopify_server.stop()
        woo_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(run_demo("--json" in sys.argv))
