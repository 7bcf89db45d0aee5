"""Reconcile end to end: ``reconcile_shop`` against the Shopify and the WooCommerce sandbox over loopback HTTP.

Webhooks are hints, the platform is the truth. For each platform: an order whose webhook never reached us
is read back from the shop by the next reconcile; a reconcile with nothing new changes nothing; a later
change in the shop is picked up by the following reconcile; a listing older than the version we hold does
not overwrite it; and the window reaches back from the cursor (the newest platform ``updated_at`` seen)
by ``OVERLAP`` and no further. Reconcile only ingests: it plans no actions (policies run on the next
tick), so the outbox stays empty throughout.

One simulated clock (fixed at START, moved on only by the tests) drives ordercare and both sandboxes; every
test runs on SQLite and PostgreSQL. In those tests the WooCommerce site runs with HPOS, where every change
moves ``date_modified``. The last tests run it with the legacy post storage (WooCommerce 7.9's default), whose
address and meta-only saves keep ``date_modified``, so ``modified_after`` cannot list them: reconcile reads
the orders it watches (an open incident, a hold of ours) again by id.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector import codec
from connector.ingest import Outcome, ingest
from connector.leases import acquire
from connector.model import Address, Order, OrderStatus, Platform
from connector.notify.mailer import MemoryMailer
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.platforms.base import RereadsOrders, is_content_key
from connector.policies.engine import run_until_idle
from connector.reconcile import ReconcileReport, reconcile_shop, watched_orders
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, SandboxShop, ShopifySandbox
from connector.sandbox.shopify import Faults as ShopifyFaults
from connector.sandbox.woocommerce import Faults as WooFaults
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import (
    ActionRow,
    IncidentRow,
    Lease,
    OrderRow,
    PendingEvent,
    RawEvent,
    ShopRow,
    WebhookReceipt,
)
from tests.builders import order, order_event, with_merchant_hold, with_our_hold
from tests.conftest import make_settings
from tests.reliability.support import Clock
from webhooks import create_app

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Amsterdam
PUBLIC_URL = "http://127.0.0.1:8000"  # ordercare's address as the shops know it; nothing is delivered there
DOMAIN = "fietsen-reconcile.myshopify.com"
SHOPIFY_TOKEN = "shpat_reconcile_0123456789abcdef"
SHOPIFY_WEBHOOK_SECRET = "shopify-webhook-secret-reconcile"

# reconcile.OVERLAP, written out: widening or narrowing the window is a change these tests should notice
OVERLAP = timedelta(minutes=2)

MOVED = {"street": "Keizersgracht", "house_number": "221", "postcode": "1016 DV", "city": "Amsterdam"}


# --- the two shops ---------------------------------------------------------------------------------


class Router:
    """One loopback server per platform for the module; each test puts fresh sandboxes behind them."""

    def __init__(self) -> None:
        self.target: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.target is not None
        return self.target(environ, start_response)


class Side(Protocol):
    """One platform's sandbox shop as these tests drive it, and what ordercare should make of its orders."""

    shop_id: str
    webhook_changes: int  # what the first reconcile does to the shop's webhook subscriptions
    placed_status: OrderStatus
    placed_platform_status: str
    placed_address: Address
    moved_address: Address
    cancelled_platform_status: str

    def config(self) -> dict[str, Any]: ...
    def place_order(self) -> str: ...
    def move(self, external_id: str) -> None: ...
    def cancel(self, external_id: str) -> None: ...
    def record(self, external_id: str) -> Any: ...
    def serve_stale(self, external_id: str, record: Any) -> None: ...
    def assert_webhook_lost(self, change: str, external_id: str) -> None: ...
    def receipt_key(self, external_id: str, updated_at: datetime) -> str: ...
    def fail_every_call(self, failing: bool) -> str: ...


class ShopifySide:
    shop_id = "fietsen"
    webhook_changes = 14  # every subscribed topic, created
    placed_status = OrderStatus.PAID
    placed_platform_status = "paid/unfulfilled"
    cancelled_platform_status = "refunded/unfulfilled/cancelled"
    placed_address = Address(
        first_name="Sanne", last_name="de Vries", address1="Hoofdstraat 12a", postcode="3511 AB", city="Utrecht",
        province_code="UT", country_code="NL", phone="+31612345678", street="Hoofdstraat", house_number="12",
        house_number_addition="a",
    )  # fmt: skip
    moved_address = Address(
        first_name="Sanne", last_name="de Vries", address1="Keizersgracht 221", postcode="1016 DV", city="Amsterdam",
        province_code="NH", country_code="NL", phone="+31612345678", street="Keizersgracht", house_number="221",
    )  # fmt: skip
    _topics = {"placed": "ORDERS_CREATE", "changed": "ORDERS_UPDATED"}

    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.sandbox = sandbox
        self.shop: SandboxShop = sandbox.add_shop(DOMAIN, SHOPIFY_WEBHOOK_SECRET, access_token=SHOPIFY_TOKEN)

    def config(self) -> dict[str, Any]:
        return {
            "id": self.shop_id,
            "platform": "shopify",
            "shop_domain": DOMAIN,
            "api_base_url": self.shop.base_url,
            "access_token": SHOPIFY_TOKEN,
            "webhook_secret": SHOPIFY_WEBHOOK_SECRET,
        }

    def place_order(self) -> str:
        return str(self.shop.create_order()["id"])

    def move(self, external_id: str) -> None:
        address = dict(self.shop.order(external_id)["shipping_address"])
        address.update(address1=f"{MOVED['street']} {MOVED['house_number']}", zip=MOVED["postcode"],
                       city=MOVED["city"], province="Noord-Holland", province_code="NH")  # fmt: skip
        self.shop.update_order(external_id, shipping_address=address)

    def cancel(self, external_id: str) -> None:
        self.shop.update_order(external_id, cancelled_at=self.shop.now_text(), financial_status="refunded")

    def record(self, external_id: str) -> Any:
        return self.shop.order(external_id)

    def serve_stale(self, external_id: str, record: Any) -> None:
        with self.sandbox.lock:
            self.shop.orders[external_id] = copy.deepcopy(record)

    def assert_webhook_lost(self, change: str, external_id: str) -> None:
        # we are subscribed, and the shop sent nothing: Shopify fires on its own, the sandbox only on ``emit``
        subscribed = {(s["topic"], s["uri"]) for s in self.shop.subscriptions}
        assert (self._topics[change], f"{PUBLIC_URL}/webhooks/shopify") in subscribed
        assert self.shop.deliveries == []

    def receipt_key(self, external_id: str, updated_at: datetime) -> str:
        return f"reconcile:{external_id}:{updated_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"

    def fail_every_call(self, failing: bool) -> str:
        self.sandbox.faults = ShopifyFaults(server_error_rate=1.0 if failing else 0.0)
        return "AppAccessScopes: Shopify answered 502"  # the run's first call: the granted scopes


class WooSide:
    shop_id = "theewinkel"
    webhook_changes = 4  # order.created, .updated, .deleted, .restored, created
    placed_status = OrderStatus.PROCESSING
    placed_platform_status = "processing"
    cancelled_platform_status = "cancelled"
    placed_address = Address(
        first_name="Sanne", last_name="de Vries", address1="Laan van Meerdervoort 1001", postcode="2564 AZ",
        city="Den Haag", country_code="NL", phone="0612345678", street="Laan van Meerdervoort", house_number="1001",
    )  # fmt: skip
    moved_address = Address(
        first_name="Sanne", last_name="de Vries", address1="Keizersgracht 221", postcode="1016 DV",
        city="Amsterdam", country_code="NL", phone="0612345678", street="Keizersgracht", house_number="221",
    )  # fmt: skip
    _topics = {"placed": "order.created", "changed": "order.updated"}

    def __init__(self, site: WooSandbox) -> None:
        self.site = site

    def config(self) -> dict[str, Any]:
        return self.site.shop_config(self.shop_id)

    def place_order(self) -> str:
        return str(self.site.create_order()["id"])

    def move(self, external_id: str) -> None:
        self.site.update_order(
            int(external_id),
            shipping={"address_1": f"{MOVED['street']} {MOVED['house_number']}", "postcode": MOVED["postcode"],
                      "city": MOVED["city"]},
            meta={"_shipping_street_name": MOVED["street"], "_shipping_house_number": MOVED["house_number"]},
        )  # fmt: skip

    def cancel(self, external_id: str) -> None:
        self.site.update_order(int(external_id), status="cancelled")

    def record(self, external_id: str) -> Any:
        with self.site.lock:
            return copy.deepcopy(self.site.orders[int(external_id)])

    def serve_stale(self, external_id: str, record: Any) -> None:
        with self.site.lock:
            self.site.orders[int(external_id)] = copy.deepcopy(record)

    def assert_webhook_lost(self, change: str, external_id: str) -> None:
        # the site queued the delivery for our webhook, and it never went out
        assert (self._topics[change], int(external_id)) in self.site.pending_deliveries()
        assert self.site.deliveries == []

    def receipt_key(self, external_id: str, updated_at: datetime) -> str:
        # the same key as the webhook's, without its content digest (``version``)
        return f"content:{external_id}:{updated_at.strftime('%Y-%m-%dT%H:%M:%S')}"

    def fail_every_call(self, failing: bool) -> str:
        self.site.faults = WooFaults(error_rate=1.0 if failing else 0.0)
        return "500 internal_server_error: There has been a critical error on this website."


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Router, str, Router, str]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per sandbox request is noise here
    shopify, woo = Router(), Router()
    with BackgroundServer(shopify) as shopify_server, BackgroundServer(woo) as woo_server:
        yield shopify, shopify_server.url, woo, woo_server.url


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@dataclass
class World:
    side: Side
    services: Services
    env: OutboxEnv
    clock: Clock

    @property
    def shop_id(self) -> str:
        return self.side.shop_id

    def reconcile(self) -> ReconcileReport:
        """One run of the job, as ``reconcile_all`` makes it for this shop."""
        shop = self.services.shops.get(self.shop_id)
        assert shop is not None
        return reconcile_shop(self.services, shop, self.env.client_for(self.shop_id), self.env.worker)

    @contextmanager
    def shop_clock_at(self, moment: datetime) -> Iterator[None]:
        """A change the shop commits with an earlier timestamp than its neighbours (another app server's
        clock, a transaction that committed late): only the sandbox acts while the clock reads ``moment``."""
        now = self.clock.now
        self.clock.now = moment
        try:
            yield
        finally:
            self.clock.now = now


@pytest.fixture(params=["shopify", "woocommerce"])
def world(
    request: pytest.FixtureRequest, db_url: str, clock: Clock, servers: tuple[Router, str, Router, str]
) -> Iterator[World]:
    shopify_router, shopify_url, woo_router, woo_url = servers
    shopify = ShopifySandbox(clock=clock, bucket=BucketConfig(maximum=100_000, restore_rate=100_000))
    shopify.url = shopify_url
    shopify_router.target = shopify
    woo = WooSandbox(clock=clock, ping_on_create=False, site_url=woo_url, hpos=True)
    woo_router.target = woo
    shopify_side, woo_side = ShopifySide(shopify), WooSide(woo)
    side: Side = shopify_side if request.param == "shopify" else woo_side
    # both shops are configured: reconciling one must leave the other alone
    settings = make_settings(db_url, public_url=PUBLIC_URL, shops=[shopify_side.config(), woo_side.config()])
    services = Services.build(settings, clock=clock)
    env = OutboxEnv(services)
    yield World(side, services, env, clock)
    env.close()
    services.engine.dispose()


# --- the store, as a comparable value ------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    orders: dict[tuple[str, str], dict[str, Any]]
    receipts: frozenset[tuple[str, str]]
    cursors: dict[str, datetime | None]
    raw_events: int
    pending_events: int
    actions: int
    incidents: int
    leases: frozenset[tuple[str, str]]


ORDER_COLUMNS = (
    "number", "status", "platform_status", "channel", "customer_email", "created_at", "platform_updated_at",
    "ingested_at", "next_check_at", "deleted", "data",
)  # fmt: skip


def version(key: str) -> str:
    """A receipt's key without the digest a content key ends in: which version of which order was read."""
    return key.rsplit(":", 1)[0] if is_content_key(key) else key


def store(sessions: sessionmaker[Session]) -> Store:
    with sessions() as session:
        orders = {
            (r.shop_id, r.external_id): {column: getattr(r, column) for column in ORDER_COLUMNS}
            for r in session.scalars(select(OrderRow))
        }
        return Store(
            orders=orders,
            receipts=frozenset(
                (shop_id, version(key))
                for shop_id, key in session.execute(select(WebhookReceipt.shop_id, WebhookReceipt.dedupe_key))
            ),
            cursors={s.id: s.reconcile_cursor for s in session.scalars(select(ShopRow))},
            raw_events=len(session.scalars(select(RawEvent.id)).all()),
            pending_events=len(session.scalars(select(PendingEvent.id)).all()),
            actions=len(session.scalars(select(ActionRow.id)).all()),
            incidents=len(session.scalars(select(IncidentRow.id)).all()),
            leases=frozenset((name, owner) for name, owner in session.execute(select(Lease.name, Lease.owner))),
        )


def assert_nothing_else(after: Store) -> None:
    """No webhook reached us, nothing waits, reconcile planned no action and opened no incident (the
    policy tick does that, and it has not run), and the reconcile lease is given back."""
    assert (after.raw_events, after.pending_events, after.actions, after.incidents, after.leases) == (
        0, 0, 0, 0, frozenset()
    )  # fmt: skip


def stored_order(w: World, external_id: str) -> Order:
    with w.services.sessions() as session:
        row = session.scalars(
            select(OrderRow).where(OrderRow.shop_id == w.shop_id, OrderRow.external_id == external_id)
        ).one()
        return codec.load_order(row.data)


def last_reconciled_at(w: World) -> datetime | None:
    with w.services.sessions() as session:
        row = session.get(ShopRow, w.shop_id)
        assert row is not None
        return row.last_reconciled_at


def receipt(w: World, external_id: str, updated_at: datetime) -> tuple[str, str]:
    """The receipt a listed version leaves behind (each platform's client names it its own way)."""
    return w.shop_id, w.side.receipt_key(external_id, updated_at)


def report(w: World, seen: int, applied: int, webhooks_changed: int = 0) -> ReconcileReport:
    return ReconcileReport(w.shop_id, seen=seen, applied=applied, webhooks_changed=webhooks_changed)


def assert_placed(w: World, external_id: str, updated_at: datetime) -> None:
    order = stored_order(w, external_id)
    assert (order.shop_id, order.external_id) == (w.shop_id, external_id)
    assert (order.status, order.platform_status) == (w.side.placed_status, w.side.placed_platform_status)
    assert order.shipping_address == w.side.placed_address
    assert order.updated_at == updated_at


def first_sync(w: World) -> str:
    """Given: ordercare set up at START with one order in the shop; the first reconcile (no cursor yet)."""
    first = w.side.place_order()
    assert w.reconcile() == report(w, seen=1, applied=1, webhooks_changed=w.side.webhook_changes)
    return first


def recover_lost_order(w: World) -> str:
    """Given: an hour after the first sync, an order is placed and its webhook is lost; reconcile runs."""
    w.clock.advance(timedelta(hours=1))
    lost = w.side.place_order()
    w.side.assert_webhook_lost("placed", lost)
    assert w.reconcile() == report(w, seen=2, applied=1)  # the first order, at the cursor, is read again
    return lost


# --- the tests -----------------------------------------------------------------------------------


def test_the_first_reconcile_reads_every_order_and_subscribes_our_webhooks(world: World) -> None:
    w = world
    # given: two orders in the shop that ordercare never heard of, and no cursor yet
    first, second = w.side.place_order(), w.side.place_order()
    assert store(w.services.sessions).cursors == {"fietsen": None, "theewinkel": None}

    # when
    got = w.reconcile()

    # then: everything listed and stored, webhooks registered, the cursor at the newest platform timestamp
    assert got == report(w, seen=2, applied=2, webhooks_changed=w.side.webhook_changes)
    assert_placed(w, first, START)
    assert_placed(w, second, START)
    after = store(w.services.sessions)
    assert set(after.orders) == {(w.shop_id, first), (w.shop_id, second)}
    assert after.receipts == {receipt(w, first, START), receipt(w, second, START)}
    assert after.cursors == {"fietsen": None, "theewinkel": None, w.shop_id: START}
    assert_nothing_else(after)
    assert last_reconciled_at(w) == START


def test_a_lost_webhook_is_recovered_by_the_next_reconcile(world: World) -> None:
    w = world
    # given: a synced shop, then a new order whose webhook never arrives
    first_sync(w)
    before = store(w.services.sessions)
    w.clock.advance(timedelta(hours=1))
    placed_at = w.clock.now
    lost = w.side.place_order()
    w.side.assert_webhook_lost("placed", lost)

    # when
    got = w.reconcile()

    # then: the new order is stored as the shop has it; the first one, at the cursor, is read again and recognised
    assert got == report(w, seen=2, applied=1)
    assert_placed(w, lost, placed_at)
    after = store(w.services.sessions)
    new_row = after.orders[(w.shop_id, lost)]
    assert (new_row["ingested_at"], new_row["next_check_at"]) == (placed_at, placed_at)  # policies look next tick
    assert after.orders == {**before.orders, (w.shop_id, lost): new_row}  # the first order is untouched
    assert after.receipts == before.receipts | {receipt(w, lost, placed_at)}
    assert after.cursors == {**before.cursors, w.shop_id: placed_at}
    assert_nothing_else(after)
    assert last_reconciled_at(w) == placed_at


def test_a_second_reconcile_with_nothing_new_is_a_no_op(world: World) -> None:
    w = world
    # given: the lost order recovered
    first_sync(w)
    lost = recover_lost_order(w)
    before = store(w.services.sessions)

    # when: ten minutes later, nothing happened in the shop
    w.clock.advance(timedelta(minutes=10))
    got = w.reconcile()

    # then: the order inside the overlap is read again, recognised, and nothing is written
    assert got == report(w, seen=1, applied=0)
    after = store(w.services.sessions)
    assert after == before
    assert_nothing_else(after)
    assert last_reconciled_at(w) == w.clock.now
    assert_placed(w, lost, START + timedelta(hours=1))


def test_later_changes_in_the_shop_are_picked_up_by_the_following_reconcile(world: World) -> None:
    w = world
    first = first_sync(w)
    lost = recover_lost_order(w)
    before = store(w.services.sessions)

    # given: the customer moves, the shop changes the address, and the webhook is lost
    w.clock.advance(timedelta(hours=1))
    moved_at = w.clock.now
    w.side.move(lost)
    w.side.assert_webhook_lost("changed", lost)
    # when
    assert w.reconcile() == report(w, seen=1, applied=1)
    # then: the new address, everything else as it was
    order = stored_order(w, lost)
    assert order.shipping_address == w.side.moved_address
    assert (order.status, order.platform_status, order.updated_at) == (
        w.side.placed_status, w.side.placed_platform_status, moved_at
    )  # fmt: skip
    moved = store(w.services.sessions)
    assert moved.cursors == {**before.cursors, w.shop_id: moved_at}
    assert moved.receipts == before.receipts | {receipt(w, lost, moved_at)}

    # given: the next day the shop cancels the order; that webhook is lost too
    w.clock.advance(timedelta(days=1))
    cancelled_at = w.clock.now
    w.side.cancel(lost)
    # when
    assert w.reconcile() == report(w, seen=1, applied=1)
    # then
    order = stored_order(w, lost)
    assert (order.status, order.platform_status, order.updated_at) == (
        OrderStatus.CANCELLED, w.side.cancelled_platform_status, cancelled_at
    )  # fmt: skip
    assert order.shipping_address == w.side.moved_address
    after = store(w.services.sessions)
    assert after.cursors == {**before.cursors, w.shop_id: cancelled_at}
    assert set(after.orders) == {(w.shop_id, first), (w.shop_id, lost)}
    assert after.orders[(w.shop_id, first)] == before.orders[(w.shop_id, first)]
    assert_nothing_else(after)


def test_an_older_listing_does_not_overwrite_the_newer_version_we_hold(world: World) -> None:
    w = world
    first_sync(w)
    # given: an order placed (webhook lost), cancelled a minute later (webhook lost), and reconciled then
    w.clock.advance(timedelta(hours=1))
    placed_at = w.clock.now
    lost = w.side.place_order()
    as_placed = w.side.record(lost)
    w.clock.advance(timedelta(minutes=1))
    cancelled_at = w.clock.now
    w.side.cancel(lost)
    assert w.reconcile() == report(w, seen=2, applied=1)
    before = store(w.services.sessions)
    assert before.orders[(w.shop_id, lost)]["status"] == OrderStatus.CANCELLED

    # when: the shop's listing lags (a read replica still has the order as placed, within the overlap)
    w.side.serve_stale(lost, as_placed)
    w.clock.advance(timedelta(seconds=30))
    got = w.reconcile()

    # then: the old version is read but loses the merge; the order and the cursor stay where they were
    assert got == report(w, seen=1, applied=0)
    after = store(w.services.sessions)
    assert after.orders == before.orders
    order = stored_order(w, lost)
    assert (order.status, order.updated_at) == (OrderStatus.CANCELLED, cancelled_at)
    assert after.cursors == before.cursors == {**before.cursors, w.shop_id: cancelled_at}
    assert after.receipts == before.receipts | {receipt(w, lost, placed_at)}  # seen once, never again
    assert_nothing_else(after)


def test_the_window_reaches_back_from_the_cursor_by_the_overlap_and_no_further(world: World) -> None:
    w = world
    first_sync(w)
    recover_lost_order(w)
    cursor = START + timedelta(hours=1)
    assert store(w.services.sessions).cursors[w.shop_id] == cursor
    before = store(w.services.sessions)

    # given: two orders that show up late, stamped before the cursor: one a second inside the overlap,
    # one a second outside it
    inside_at, outside_at = cursor - OVERLAP + timedelta(seconds=1), cursor - OVERLAP - timedelta(seconds=1)
    w.clock.advance(timedelta(minutes=10))
    with w.shop_clock_at(inside_at):
        inside = w.side.place_order()
    with w.shop_clock_at(outside_at):
        outside = w.side.place_order()

    # when
    got = w.reconcile()

    # then: the order inside the window is fetched (with the recovered one, re-read), the one outside is not
    assert got == report(w, seen=2, applied=1)
    assert_placed(w, inside, inside_at)
    after = store(w.services.sessions)
    assert set(after.orders) == set(before.orders) | {(w.shop_id, inside)}
    assert (w.shop_id, outside) not in after.orders
    assert after.cursors == before.cursors  # an older timestamp never moves the cursor back
    assert after.receipts == before.receipts | {receipt(w, inside, inside_at)}
    assert_nothing_else(after)


def test_a_failed_listing_keeps_the_cursor_and_the_next_reconcile_catches_up(world: World) -> None:
    w = world
    first_sync(w)
    before = store(w.services.sessions)
    w.clock.advance(timedelta(hours=1))
    placed_at = w.clock.now
    lost = w.side.place_order()

    # given: the shop answers every call with a server error
    message = w.side.fail_every_call(True)
    # when
    got = w.reconcile()
    # then: the error is reported, nothing is stored, the cursor stays, the lease is given back
    assert got == ReconcileReport(w.shop_id, error=message)
    assert store(w.services.sessions) == before
    assert last_reconciled_at(w) == placed_at

    # when: the shop is back
    w.side.fail_every_call(False)
    w.clock.advance(timedelta(minutes=5))
    # then: read from the old cursor again, the first order included
    assert w.reconcile() == report(w, seen=2, applied=1)
    assert_placed(w, lost, placed_at)
    assert store(w.services.sessions).cursors == {**before.cursors, w.shop_id: placed_at}


def test_a_reconcile_already_running_elsewhere_is_skipped(world: World) -> None:
    w = world
    first_sync(w)
    w.clock.advance(timedelta(hours=1))
    w.side.place_order()
    # given: another worker holds this shop's reconcile lease
    with transaction(w.services.sessions) as session:
        assert acquire(session, f"reconcile:{w.shop_id}", "other-worker", w.clock.now, 15 * 60)
    before = store(w.services.sessions)
    assert before.leases == {(f"reconcile:{w.shop_id}", "other-worker")}
    # when / then: this worker does nothing at all, and leaves the other's lease alone
    assert w.reconcile() == report(w, seen=0, applied=0)
    assert store(w.services.sessions) == before
    assert last_reconciled_at(w) == START


class BreaksAfterFirst:
    """A platform client whose listing hands out its first order and then raises, as a bug in a mapper would."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def changed_orders(self, since: datetime | None) -> Iterator[Any]:
        for index, event in enumerate(self.client.changed_orders(since)):
            if index == 1:
                raise ValueError("line_items[0].quantity: not a number")
            yield event

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_an_order_that_cannot_be_read_ends_this_shops_run_and_keeps_what_was_stored(world: World) -> None:
    w = world
    first = first_sync(w)
    w.clock.advance(timedelta(hours=1))
    placed_at = w.clock.now
    w.side.place_order()
    before = store(w.services.sessions)
    shop = w.services.shops.get(w.shop_id)
    assert shop is not None

    client = BreaksAfterFirst(w.env.client_for(w.shop_id))
    got = reconcile_shop(w.services, shop, client, w.env.worker)

    assert got == ReconcileReport(
        w.shop_id, seen=1, applied=0, error="ValueError: line_items[0].quantity: not a number"
    )
    after = store(w.services.sessions)
    assert after.orders == before.orders
    assert after.cursors == before.cursors
    assert_nothing_else(after)  # the lease is given back
    assert last_reconciled_at(w) == placed_at
    assert (w.shop_id, first) in after.orders


# --- WooCommerce with the legacy post storage: changes the listing cannot see -------------------------


class Switch:
    """ordercare's web app behind a loopback server that can be taken down (a delivery then fails, and
    WooCommerce never retries it: the webhook is lost)."""

    def __init__(self) -> None:
        self.app: Any = None
        self.up = True

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not self.up:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        return self.app(environ, start_response)


@dataclass
class Legacy:
    """A WooCommerce site with the legacy post storage (the sandbox's default), whose webhooks reach ordercare
    (or are lost), ordercare's ticks and outbox against it, and one reconcile job."""

    site: WooSandbox
    services: Services
    env: OutboxEnv
    clock: Clock
    web: Switch
    shop_id: str = "theewinkel"

    def reconcile(self) -> ReconcileReport:
        shop = self.services.shops.get(self.shop_id)
        assert shop is not None
        return reconcile_shop(self.services, shop, self.env.client_for(self.shop_id), self.env.worker)

    def deliver(self) -> list[int | None]:
        """WooCommerce's delivery queue runs (bodies built now): the answers ordercare gave."""
        return [d.status for d in self.site.deliver_pending()]

    def lose(self) -> None:
        """The queued deliveries go out while ordercare is down: gone."""
        self.web.up = False
        try:
            assert {status for status in self.deliver()} == {503}
        finally:
            self.web.up = True

    def tick(self) -> None:
        """The policies decide, and the outbox carries out what they planned in the shop."""
        run_until_idle(self.services, self.clock.now)
        drain(self.env)

    def incident(self, order_id: int, kind: str) -> tuple[str, str | None]:
        with self.services.sessions() as session:
            row = session.execute(
                select(IncidentRow.state, IncidentRow.resolution)
                .join(OrderRow, OrderRow.id == IncidentRow.order_id)
                .where(OrderRow.external_id == str(order_id), IncidentRow.kind == kind)
            ).one()
            return row.state, row.resolution

    def outcomes(self, order_id: int) -> list[tuple[str, str]]:
        """(topic, outcome) of the deliveries for the order ordercare stored (a duplicate leaves no raw event)."""
        with self.services.sessions() as session:
            return [
                (topic, outcome)
                for topic, outcome in session.execute(
                    select(RawEvent.topic, RawEvent.outcome)
                    .where(RawEvent.order_external_id == str(order_id))
                    .order_by(RawEvent.id)
                )
            ]

    def stored(self, order_id: int) -> Order:
        with self.services.sessions() as session:
            row = session.scalars(select(OrderRow).where(OrderRow.external_id == str(order_id))).one()
            return codec.load_order(row.data)

    def busy_shop(self) -> None:
        """Ten minutes on another order comes in and the next reconcile lists it: the cursor moves past every
        earlier version, so ``modified_after`` no longer reaches the orders before it."""
        self.clock.advance(timedelta(minutes=10))
        self.site.create_order(email="pieter@example.nl")
        assert self.deliver() == [200]
        self.reconcile()
        with self.services.sessions() as session:
            row = session.get(ShopRow, self.shop_id)
            assert row is not None
            assert row.reconcile_cursor == self.clock.now


@pytest.fixture
def legacy(db_url: str, clock: Clock, servers: tuple[Router, str, Router, str]) -> Iterator[Legacy]:
    _, _, woo_router, woo_url = servers
    site = WooSandbox(clock=clock, ping_on_create=False, site_url=woo_url)  # hpos=False: the legacy post storage
    woo_router.target = site
    web = Switch()
    with BackgroundServer(web) as ours:
        settings = make_settings(db_url, public_url=ours.url, shops=[site.shop_config("theewinkel")])
        services = Services.build(settings, clock=clock)
        web.app = create_app(services)
        env = OutboxEnv(services, mailer=MemoryMailer())
        w = Legacy(site, services, env, clock, web)
        assert w.reconcile() == ReconcileReport("theewinkel", webhooks_changed=4)  # our webhooks, no orders yet
        yield w
        env.close()
        services.engine.dispose()


def staff_fix_over_rest(site: WooSandbox, order_id: int) -> requests.Response:
    """An integration (an ERP, a support tool) corrects the address through the REST API, as staff do."""
    return requests.put(
        f"{site.site_url}/wp-json/wc/v3/orders/{order_id}",
        json={
            "shipping": {"address_1": "Kerkstraat 12"},
            "meta_data": [{"key": "_shipping_house_number", "value": "12"}],
        },
        auth=(site.consumer_key, site.consumer_secret),
        timeout=10,
    )


@pytest.mark.parametrize("path", ["webhook", "reconcile"])
def test_a_staff_address_fix_over_rest_releases_our_hold_though_date_modified_stays(legacy: Legacy, path: str) -> None:
    """WooCommerce 7.9 (legacy post storage) sends the fixed address with the old ``date_modified_gmt``. Before,
    the webhook was answered ``duplicate`` (key: id + date) and ``modified_after`` never listed the order, so
    the hold stayed and the incident open; both paths failed here (no "applied" delivery; ``applied=0``)."""
    w = legacy
    # given: an order without a house number, held by ordercare (its hold, a status change, moves the date)
    oid = int(w.site.create_order(street="Kerkstraat", house_number="", postcode="1017 GC", city="Amsterdam")["id"])
    assert w.deliver() == [200]
    w.tick()
    assert w.incident(oid, "address") == ("open", None)
    assert (w.site.order(oid)["status"], w.site.meta(oid)["_ordercare_hold"]) == ("on-hold", "1")
    assert set(w.deliver()) == {200}
    held = w.site.order(oid)["date_modified_gmt"]
    w.busy_shop()

    # when: ten minutes later staff fix the address over REST
    w.clock.advance(timedelta(minutes=10))
    assert staff_fix_over_rest(w.site, oid).status_code == 200
    assert w.site.order(oid)["date_modified_gmt"] == held
    assert ("order.updated", oid) in w.site.pending_deliveries()
    before = w.outcomes(oid)
    if path == "webhook":
        assert w.deliver() == [200]
        assert w.outcomes(oid) == [*before, ("order.updated", "applied")]
    else:
        w.lose()
        assert w.reconcile() == ReconcileReport(w.shop_id, seen=1, applied=1, reread=1)  # the other order: seen
        assert w.outcomes(oid) == before  # (reconcile keeps no raw events)

    # then: ordercare has the new address, and the next tick resolves the incident and releases our hold
    address = w.stored(oid).shipping_address
    assert address is not None
    assert (address.street, address.house_number) == ("Kerkstraat", "12")
    w.tick()
    assert w.incident(oid, "address") == ("resolved", "address corrected in the shop")
    assert w.site.order(oid)["status"] == "processing"


@pytest.mark.parametrize("path", ["webhook", "reconcile"])
def test_a_carrier_status_saved_as_meta_ends_the_delay_ladder(legacy: Legacy, path: str) -> None:
    """TrackShip writes "delivered" with ``update_meta_data`` + ``save``: ``order.updated`` with the old
    ``date_modified_gmt``. Before, it was a duplicate and invisible to the listing, and the ladder went on."""
    w = legacy
    # given: a parcel expected on Wednesday, still in transit on Friday: the delay ladder has started
    oid = int(w.site.create_order()["id"])
    w.site.add_tracking(oid, number="3SDEMO0001", status="in_transit", estimated_delivery="2026-11-25")
    assert set(w.deliver()) == {200}
    w.clock.now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    w.busy_shop()
    w.tick()
    assert w.incident(oid, "shipment_delay")[0] in ("open", "escalated")
    assert set(w.deliver()) <= {200}  # our tags, meta only: the same date, and applied
    shipped = w.site.order(oid)["date_modified_gmt"]

    # when: ten minutes later the carrier reports the parcel delivered
    w.clock.advance(timedelta(minutes=10))
    w.site.set_shipment_status(oid, 0, "delivered")
    assert w.site.order(oid)["date_modified_gmt"] == shipped
    if path == "webhook":
        assert w.deliver() == [200]
        assert w.outcomes(oid)[-1] == ("order.updated", "applied")
    else:
        w.lose()
        assert w.reconcile() == ReconcileReport(w.shop_id, seen=1, applied=1, reread=1)

    # then
    assert w.stored(oid).status is OrderStatus.DELIVERED
    w.tick()
    assert w.incident(oid, "shipment_delay")[0] == "resolved"


def test_reconcile_reads_again_only_the_orders_it_watches(legacy: Legacy) -> None:
    """Watched: an open incident, or an active hold of ours. Not: a quiet order, a resolved incident."""
    w = legacy
    quiet = int(w.site.create_order()["id"])
    flagged = int(w.site.create_order(street="Kerkstraat", house_number="", postcode="1017 GC")["id"])
    assert set(w.deliver()) == {200}
    w.tick()
    assert set(w.deliver()) == {200}
    w.busy_shop()
    with w.services.sessions() as session:
        assert watched_orders(session, w.shop_id) == [str(flagged)]
        assert watched_orders(session, w.shop_id, limit=0) == []
    client = w.env.client_for(w.shop_id)
    assert isinstance(client, RereadsOrders)
    before = w.site.counters["requests"]
    read = [str(e.order_external_id) for e in client.read_orders([str(flagged), str(quiet), str(flagged), "999999"])]
    assert sorted(read) == sorted([str(flagged), str(quiet)])  # once each; an id the shop does not have: skipped
    assert w.site.counters["requests"] - before == 2  # one page of ids, one read of their products' stock
    w.clock.advance(timedelta(minutes=10))
    # the listing's overlap shows the newest order again; the watched one is read again: nothing new in either
    assert w.reconcile() == ReconcileReport(w.shop_id, seen=1, applied=0, reread=1)
    # once the incident is resolved and our hold released, the order is no longer watched
    assert staff_fix_over_rest(w.site, flagged).status_code == 200
    assert w.deliver() == [200]
    w.tick()
    assert w.incident(flagged, "address")[0] == "resolved"
    assert set(w.deliver()) == {200}
    with w.services.sessions() as session:
        assert watched_orders(session, w.shop_id) == []


def test_an_order_on_a_hold_of_ours_is_watched_without_an_incident_and_one_on_a_staff_hold_is_not(
    legacy: Legacy,
) -> None:
    """Our hold can outlive its incident (the release failed, or waits): the re-read shows a staff release."""
    w = legacy
    shop = w.services.shops.get(w.shop_id)
    assert shop is not None
    held: dict[str, Any] = {"shop_id": w.shop_id, "platform": Platform.WOOCOMMERCE, "status": OrderStatus.ON_HOLD}
    ours, staff = with_our_hold(order("7001", **held)), with_merchant_hold(order("7002", **held))
    released = with_our_hold(order("7003", shop_id=w.shop_id, platform=Platform.WOOCOMMERCE))
    released = released.with_changes(holds=tuple(replace(h, released=True) for h in released.holds))
    with transaction(w.services.sessions) as session:
        for version in (ours, staff, released):
            assert ingest(session, shop, order_event(version), w.clock.now) is Outcome.APPLIED
    with w.services.sessions() as session:
        assert watched_orders(session, w.shop_id) == ["7001"]
