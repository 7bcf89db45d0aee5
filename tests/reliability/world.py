"""A small world for worker tests: a Shopify and a WooCommerce sandbox shop and an SMTP catcher on
loopback, orders in both shops, a configuration file pointing at them, 1,000-odd planned actions, and
the counting of what each shop and the mail server received."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from connector.actions import ActionKind, PlannedAction
from connector.outbox.queue import plan
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, ShopifySandbox
from connector.sandbox.shopify import Faults as ShopifyFaults
from connector.sandbox.woocommerce import Faults as WooFaults
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionAttempt, ActionRow
from tests.notify.support import CapturingHandler, context, smtp_server

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "fietsen-crash.myshopify.com"
SHOPIFY_TOKEN = "shpat_crash_0123456789abcdef0123456789"  # a loopback sandbox's token
WOO_KEY = "ck_crash_0123456789abcdef0123456789abcdef012345"
WOO_SECRET = "cs_crash_0123456789abcdef0123456789abcdef012345"
SECRET_KEY = "reliability-secret-key-0123456789abcdef"
KINDS = ("tags", "note", "voucher", "hold", "email")
SENDER = "service@fietsen.example"
UNCERTAIN = "not sent again: the worker stopped while the mail server was accepting this e-mail"


@dataclass
class World:
    shopify: ShopifySandbox
    woo: WooSandbox
    smtp: CapturingHandler
    smtp_port: int
    shopify_url: str
    woo_url: str
    shopify_orders: list[str] = field(default_factory=list)
    woo_orders: list[str] = field(default_factory=list)

    @property
    def shop(self) -> Any:
        return self.shopify.shops[DOMAIN]

    def config(self, database_url: str, **scheduler: Any) -> dict[str, Any]:
        return {
            "database_url": database_url,
            "secret_key": SECRET_KEY,
            "log_level": "INFO",
            "scheduler": {
                "tick_seconds": 3600,
                "reconcile_minutes": 1440,
                "outbox_poll_seconds": 0.05,
                "outbox_batch": 10,
                "lease_seconds": 5,
                **scheduler,
            },
            "email": {"smtp_host": "127.0.0.1", "smtp_port": self.smtp_port, "sender": SENDER},
            # these tests run on the wall clock, at any hour: no quiet hours (their own tests cover them)
            "policies": {"messages": {"quiet_from": "00:00", "quiet_until": "00:00"}},
            "shops": [
                {
                    "id": "fietsen",
                    "platform": "shopify",
                    "shop_domain": DOMAIN,
                    "api_base_url": f"{self.shopify_url}/shops/{DOMAIN}",
                    "access_token": SHOPIFY_TOKEN,
                    "webhook_secret": "shopify-webhook-secret-crash",
                    "name": "Fietsen",
                },
                {
                    "id": "thee",
                    "platform": "woocommerce",
                    "url": self.woo_url,
                    "consumer_key": WOO_KEY,
                    "consumer_secret": WOO_SECRET,
                    "webhook_secret": "woo-webhook-secret-crash",
                    "name": "Thee",
                },
            ],
        }

    def write_config(self, path: Path, database_url: str, **scheduler: Any) -> Path:
        path.write_text(yaml.safe_dump(self.config(database_url, **scheduler)), encoding="utf-8")
        return path


@contextmanager
def world(
    orders_per_shop: int,
    shopify_faults: ShopifyFaults | None = None,
    woo_faults: WooFaults | None = None,
) -> Iterator[World]:
    """Both sandboxes served on loopback (a generous rate bucket: the pacing is not under test here)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per sandbox request is noise here
    shopify = ShopifySandbox(bucket=BucketConfig(maximum=100_000, restore_rate=100_000), faults=shopify_faults)
    shopify.add_shop(DOMAIN, "shopify-webhook-secret-crash", access_token=SHOPIFY_TOKEN)
    woo = WooSandbox(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, faults=woo_faults, ping_on_create=False)
    with smtp_server() as (controller, handler):
        shopify_server = BackgroundServer(shopify).start()
        woo_server = woo.serve().start()
        shopify.url = shopify_server.url
        try:
            w = World(shopify, woo, handler, controller.port, shopify_server.url, woo_server.url)
            for index in range(orders_per_shop):
                w.shopify_orders.append(str(w.shop.create_order()["id"]))
                w.woo_orders.append(str(woo.create_order(email=f"thee.{index}@example.nl")["id"]))
            yield w
        finally:
            shopify_server.stop()
            woo_server.stop()


def plan_actions(services: Services, w: World, now: datetime | None = None, kinds: tuple[str, ...] = KINDS) -> int:
    """Five actions per order in both shops (tags, staff note, voucher, hold, customer e-mail), or ``kinds``."""
    now = now or datetime.now(UTC)
    count = 0
    with transaction(services.sessions) as session:
        for shop_id, orders in (("fietsen", w.shopify_orders), ("thee", w.woo_orders)):
            for index, external_id in enumerate(orders):
                tag = f"oc-test-{shop_id}-{index}"
                steps = [
                    PlannedAction(ActionKind.ADD_TAGS, "stale", "1-tags", {"tags": [tag]}),
                    PlannedAction(ActionKind.ADD_NOTE, "stale", "1-note", {"text": note_text(shop_id, index)}),
                    PlannedAction(
                        ActionKind.CREATE_VOUCHER,
                        "next_day",
                        "1-voucher",
                        {"code": voucher_code(shop_id, index), "kind": "percentage", "value": "10", "currency": "EUR"},
                    ),
                    PlannedAction(ActionKind.HOLD_FULFILLMENT, "address", "1-hold", {"reason": "incorrect_address"}),
                    PlannedAction(
                        ActionKind.NOTIFY_CUSTOMER,
                        "stale",
                        "1-notify",
                        {
                            "template": "stale_update",
                            "to": f"klant.{shop_id}.{index}@example.nl",
                            "locale": "nl",
                            "marketing": False,
                            "context": context(order_number=f"#{external_id}"),
                        },
                    ),
                ]
                for kind, action in zip(KINDS, steps, strict=True):
                    if kind not in kinds:
                        continue
                    plan(
                        session,
                        shop_id=shop_id,
                        order_id=None,
                        order_external_id=external_id,
                        action=action,
                        now=now,
                    )
                    count += 1
    return count


def note_text(shop_id: str, index: int) -> str:
    return f"Pakket {shop_id}-{index} ligt nog in het magazijn."


def voucher_code(shop_id: str, index: int) -> str:
    return f"OC-{shop_id.upper()}-{index:04d}"


def action_states(services: Services) -> Counter[str]:
    with services.sessions() as session:
        return Counter(dict(session.execute(select(ActionRow.state, func.count()).group_by(ActionRow.state)).all()))


def failures(services: Services) -> Counter[str]:
    """The failed actions by kind and error (for an assertion's message)."""
    with services.sessions() as session:
        rows = session.execute(select(ActionRow.kind, ActionRow.last_error).where(ActionRow.state == "failed")).all()
    return Counter(f"{kind}: {error}" for kind, error in rows)


def applied(w: World) -> dict[str, Counter[int]]:
    """Per kind of effect: how many times each one is present in the shops and the mailbox
    (a histogram: {1: n} means every one of n effects is there exactly once)."""
    result: dict[str, Counter[int]] = {kind: Counter() for kind in KINDS}
    shop = w.shop
    discounts = {code.upper() for code in shop.discounts}
    for index, external_id in enumerate(w.shopify_orders):
        order = shop.order(external_id)
        tags = [t.strip() for t in str(order.get("tags") or "").split(",")]
        result["tags"][tags.count(f"oc-test-fietsen-{index}")] += 1
        result["note"][str(order.get("note") or "").count(note_text("fietsen", index))] += 1
        result["voucher"][int(voucher_code("fietsen", index) in discounts)] += 1
        result["hold"][len(shop.holds(external_id))] += 1
    coupons = Counter(c["code"] for c in w.woo.coupons.values())
    for index, external_id in enumerate(w.woo_orders):
        oid = int(external_id)
        tags = [t.strip() for t in str(w.woo.meta(oid).get("ordercare_tags") or "").split(",")]
        result["tags"][tags.count(f"oc-test-thee-{index}")] += 1
        notes = [n["note"] for n in w.woo.order_notes(oid)]
        result["note"][notes.count(note_text("thee", index))] += 1
        result["voucher"][coupons[voucher_code("thee", index).lower()]] += 1
        held = w.woo.order(oid)["status"] == "on-hold" and str(w.woo.meta(oid).get("_ordercare_hold")) == "1"
        result["hold"][int(held)] += 1
    per_message = Counter(message_id(r.raw) for r in w.smtp.received)
    expected = {f"klant.{s}.{i}@example.nl" for s in ("fietsen", "thee") for i in range(len(w.shopify_orders))}
    recipients = Counter(rcpt for r in w.smtp.received for rcpt in r.rcpt_tos)
    result["email"] = Counter(recipients.get(address, 0) for address in expected)
    result["email_ids"] = Counter(per_message.values())
    return result


@dataclass(frozen=True)
class MailOutcome:
    """How the customer e-mails ended: per action, its state and how many copies the mail server got."""

    delivered: dict[int, int]  # notify action id -> copies received under its Message-ID
    states: dict[int, str]  # notify action id -> state
    uncertain: set[int]  # failed because a worker stopped while the server was accepting the message
    errors: dict[int, str | None]  # notify action id -> last error, for the failures
    stopped_in_window: dict[int, set[str]]  # action id -> workers whose attempt stopped marked ``sending``


def mail_outcome(services: Services, w: World) -> MailOutcome:
    from connector.notify.mailer import message_id_for

    with services.sessions() as session:
        rows = session.execute(
            select(ActionRow.id, ActionRow.idempotency_key, ActionRow.state, ActionRow.last_error).where(
                ActionRow.kind == "notify_customer"
            )
        ).all()
        stopped = session.execute(
            select(ActionAttempt.action_id, ActionAttempt.worker).where(
                ActionAttempt.outcome == "sending", ActionAttempt.finished_at.is_(None)
            )
        ).all()
    copies = Counter(message_id(r.raw) for r in w.smtp.received)
    window: dict[int, set[str]] = {}
    for action_id, worker in stopped:
        window.setdefault(action_id, set()).add(str(worker))
    return MailOutcome(
        delivered={aid: copies.get(message_id_for(key, SENDER), 0) for aid, key, _, _ in rows},
        states={aid: state for aid, _, state, _ in rows},
        uncertain={aid for aid, _, state, error in rows if state == "failed" and str(error).startswith(UNCERTAIN)},
        errors={aid: error for aid, _, state, error in rows if state != "done"},
        stopped_in_window=window,
    )


def assert_no_mail_twice(outcome: MailOutcome, killed: set[str]) -> None:
    """No e-mail delivered twice; each one delivered exactly once, or marked uncertain where a killed
    worker really stopped inside the window between the server's "accepted" and our log row."""
    assert max(outcome.delivered.values(), default=0) <= 1, "an e-mail was delivered twice"
    for action_id, state in outcome.states.items():
        if action_id in outcome.uncertain:
            assert outcome.stopped_in_window.get(action_id, set()) & killed, (action_id, outcome.stopped_in_window)
            assert outcome.delivered[action_id] in (0, 1)
        else:
            assert state == "done", (action_id, state, outcome.errors.get(action_id))
            assert outcome.delivered[action_id] == 1, action_id
    assert set(outcome.stopped_in_window) <= set(outcome.states)
    assert all(workers <= killed for workers in outcome.stopped_in_window.values()), outcome.stopped_in_window


def message_id(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=policy.default)["Message-ID"])


def start_worker(config: Path, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``ordercare worker --config FILE`` as its own process (stderr, its JSON log, to ``log``)."""
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "worker", "--config", str(config)],
        cwd=ROOT,
        stdout=handle,
        stderr=handle,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
