"""``ordercare check-connection`` and the start-up check: one line per shop, asked of the sandbox shops over loopback.

The Shopify sandbox and the WooCommerce sandbox site answer as the platforms do (401 for a wrong token or key,
granted scopes, webhooks with their status, 5xx and garbage when told to); the WooCommerce site is served behind
``KeyPermissions``, WooCommerce's own check of what a key may do. The decisions on those answers are tested on
their own below.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.wrappers import Request, Response

from connector.cli import main
from connector.config import settings_from_mapping
from connector.connection import (
    ConnectionCheck,
    Hints,
    Webhooks,
    declared_webhooks,
    failure,
    hints,
    key_permissions,
    shopify_webhooks,
    woocommerce_webhooks,
)
from connector.leases import acquire
from connector.model import Platform
from connector.outbox.env import OutboxEnv
from connector.platforms.base import PermanentError, RetryableError
from connector.platforms.shopify.adapter import SUBSCRIBED_TOPICS as SHOPIFY_TOPICS
from connector.platforms.woocommerce.adapter import SUBSCRIBED_TOPICS as WOOCOMMERCE_TOPICS
from connector.platforms.woocommerce.client import WooCommerceError
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, SandboxShop, ShopifySandbox
from connector.sandbox.shopify import Faults as ShopifyFaults
from connector.sandbox.woocommerce import Faults as WooFaults
from connector.sandbox.woocommerce import WooSandbox
from connector.scheduler import build_scheduler
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ShopRow
from tests.conftest import SHOPIFY_SECRET, WOO_SECRET

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PUBLIC_URL = "http://127.0.0.1:9"  # nothing listens: the sandboxes' webhook deliveries go nowhere
SHOPIFY_CALLBACK = f"{PUBLIC_URL}/webhooks/shopify"
WOO_CALLBACK = f"{PUBLIC_URL}/webhooks/woocommerce"
DOMAIN = "fietsen-test.myshopify.com"
TOKEN = "shpat_connection_check_token"
READ_ONLY_KEY = "ck_read_only_0123456789abcdef0123456789abcdef"
READ_ONLY_SECRET = "cs_read_only_0123456789abcdef0123456789abcdef"

FIETSEN_OK = "fietsen: connected, 14/14 webhooks, 0 missing scopes, no delivery yet"
THEEWINKEL_OK = "theewinkel: connected, 4/4 webhooks, key read_write, no delivery yet"
READ_WRITE_HINT = "(WooCommerce > Settings > Advanced > REST API)"


class KeyPermissions:
    """The sandbox site behind WooCommerce's check of a key's permissions for the request method
    (``WC_REST_Authentication::check_permissions``, run on ``rest_pre_dispatch`` before the route is looked up):
    a read-only key may GET, and any other method answers 401 whatever the route."""

    def __init__(self, site: WooSandbox) -> None:
        self.site = site
        self.requests: list[str] = []  # "POST /wp-json/wc/v3/webhooks"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        self.requests.append(f"{request.method} {request.path}")
        basic = request.authorization.username if request.authorization else None
        key = request.args.get("oauth_consumer_key") or request.args.get("consumer_key") or basic
        if key == READ_ONLY_KEY and request.method not in ("GET", "HEAD", "OPTIONS"):
            body = {
                "code": "woocommerce_rest_authentication_error",
                "message": "The API key provided does not have write permissions.",
                "data": {"status": 401},
            }
            response = Response(json.dumps(body), status=401, mimetype="application/json")
            return response(environ, start_response)
        return self.site(environ, start_response)


@pytest.fixture(scope="module")
def shopify_sandbox() -> Iterator[ShopifySandbox]:
    # a generous rate bucket: the pacing is not under test here
    box = ShopifySandbox(clock=lambda: NOW, bucket=BucketConfig(maximum=100_000, restore_rate=100_000))
    with BackgroundServer(box) as server:
        box.url = server.url
        yield box


@pytest.fixture
def shopify(shopify_sandbox: ShopifySandbox) -> SandboxShop:
    """A fresh ``fietsen-test`` shop: every scope granted, no webhook subscriptions yet."""
    shopify_sandbox.faults = ShopifyFaults()
    return shopify_sandbox.add_shop(DOMAIN, SHOPIFY_SECRET, access_token=TOKEN)


@pytest.fixture
def permissions() -> KeyPermissions:
    sandbox = WooSandbox(ping_on_create=False, webhook_secret=WOO_SECRET)
    sandbox.keys[READ_ONLY_KEY] = READ_ONLY_SECRET
    return KeyPermissions(sandbox)


@pytest.fixture
def site(permissions: KeyPermissions) -> Iterator[WooSandbox]:
    with BackgroundServer(permissions) as server:
        permissions.site.site_url = server.url
        yield permissions.site


@pytest.fixture
def refused_url() -> str:
    """An address on loopback where nothing listens."""
    from connector.sandbox.server import free_port

    return f"http://127.0.0.1:{free_port()}"


def config(db_url: str, shopify: SandboxShop, site: WooSandbox, **changes: dict[str, Any]) -> dict[str, Any]:
    """The two sandbox shops as ordercare's configuration; ``fietsen={...}`` / ``theewinkel={...}`` change one."""
    shops = [
        {
            "id": "fietsen",
            "platform": "shopify",
            "shop_domain": DOMAIN,
            "api_base_url": shopify.base_url,
            "access_token": TOKEN,
            "webhook_secret": SHOPIFY_SECRET,
        },
        {
            "id": "theewinkel",
            "platform": "woocommerce",
            "url": site.site_url,
            "consumer_key": site.consumer_key,
            "consumer_secret": site.consumer_secret,
            "webhook_secret": WOO_SECRET,
        },
    ]
    shops = [{**shop, **changes.get(str(shop["id"]), {})} for shop in shops]
    return {
        "database_url": db_url,
        "secret_key": "connection-check-secret-0123456789abcdef",
        "public_url": PUBLIC_URL,
        "shops": shops,
    }


def subscribe(shop: SandboxShop, *, leave_out: tuple[str, ...] = ()) -> None:
    """Shopify subscriptions to ordercare for every topic but ``leave_out``, as ``ensure_webhooks`` makes them."""
    for n, (topic, enum) in enumerate(SHOPIFY_TOPICS.items()):
        if topic not in leave_out:
            shop.subscriptions.append({"id": f"gid://shopify/WebhookSubscription/{n + 1}", "topic": enum,
                                       "uri": SHOPIFY_CALLBACK})  # fmt: skip


def hook(site: WooSandbox, *, leave_out: tuple[str, ...] = (), status: dict[str, str] | None = None) -> dict[str, int]:
    """WooCommerce webhooks to ordercare for every topic but ``leave_out`` (``status`` per topic, else active)."""
    return {
        topic: site.add_webhook(topic, WOO_CALLBACK, status=(status or {}).get(topic, "active"))
        for topic in WOOCOMMERCE_TOPICS
        if topic not in leave_out
    }


def check_connection(
    tmp_path: Path, raw: dict[str, Any], capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[str]]:
    path = tmp_path / "ordercare.yaml"
    path.write_text(yaml.safe_dump(raw))
    code = main(["check-connection", "--config", str(path), *args])
    return code, capsys.readouterr().out.splitlines()


# --- ordercare check-connection -------------------------------------------------------------------------


def test_healthy_shops_exit_0_with_one_line_each(
    db_url: str, shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subscribe(shopify)
    hook(site)
    code, lines = check_connection(tmp_path, config(db_url, shopify, site), capsys)
    assert lines == [FIETSEN_OK, THEEWINKEL_OK]
    assert code == 0
    # the check changed nothing
    assert [h["status"] for h in site.webhooks.values()] == ["active"] * 4
    assert len(shopify.subscriptions) == 14


def test_only_the_shop_asked_for(
    db_url: str, shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook(site)
    raw = config(db_url, shopify, site)
    assert check_connection(tmp_path, raw, capsys, "--shop", "theewinkel") == (0, [THEEWINKEL_OK])
    assert check_connection(tmp_path, raw, capsys, "--shop", "fiets") == (
        2,
        ["--shop: no shop 'fiets' (known: fietsen, theewinkel)"],
    )


def test_a_wrong_token_and_a_wrong_secret_are_refused_credentials(
    db_url: str, shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = config(
        db_url, shopify, site, fietsen={"access_token": "shpat_wrong"}, theewinkel={"consumer_secret": "cs_wrong"}
    )
    code, lines = check_connection(tmp_path, raw, capsys)
    assert lines == [
        "fietsen: not connected: Shopify refused the credentials (401: [API] Invalid API key or access token "
        "(unrecognized login or wrong password)); check shops[0].access_token",
        "theewinkel: not connected: WooCommerce refused the credentials (401 woocommerce_rest_authentication_error: "
        "Invalid signature - provided signature does not match.); check shops[1].consumer_key and "
        "shops[1].consumer_secret",
    ]
    assert code == 1


def test_a_missing_scope_is_named_with_what_it_stops(
    db_url: str, shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subscribe(shopify)
    shopify.granted.discard("read_products")
    code, lines = check_connection(tmp_path, config(db_url, shopify, site), capsys, "--shop", "fietsen")
    assert lines == [
        "fietsen: connected, 14/14 webhooks, 1 missing scope, no delivery yet; missing access scopes: read_products "
        "(needed for ReconcileOrders, OrdersById, OrderStock, OrderLineVariants)"
    ]
    assert code == 1


def test_missing_and_disabled_webhooks_are_named(
    db_url: str, shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subscribe(shopify, leave_out=("orders/paid", "app/uninstalled"))
    ids = hook(site, leave_out=("order.restored",), status={"order.updated": "disabled"})
    code, lines = check_connection(tmp_path, config(db_url, shopify, site), capsys)
    assert lines == [
        "fietsen: connected, 12/14 webhooks, 0 missing scopes, no delivery yet; no webhook for orders/paid, "
        "app/uninstalled",
        "theewinkel: connected, 2/4 webhooks, key read_write, no delivery yet; no webhook for order.restored; "
        f"webhook {ids['order.updated']} (order.updated) is disabled",
    ]
    assert code == 1
    assert site.webhooks[ids["order.updated"]]["status"] == "disabled"  # the check repairs nothing


def test_a_read_only_key_is_named(
    db_url: str, shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook(site)
    raw = config(db_url, shopify, site, theewinkel={"consumer_key": READ_ONLY_KEY, "consumer_secret": READ_ONLY_SECRET})
    code, lines = check_connection(tmp_path, raw, capsys, "--shop", "theewinkel")
    assert lines == [
        "theewinkel: connected, 4/4 webhooks, key read, no delivery yet; the API key may only read; ordercare "
        "writes notes, tags and coupons and creates its webhooks, so it needs a key with Read/Write permissions "
        f"{READ_WRITE_HINT}"
    ]
    assert code == 1


def test_shops_that_answer_with_a_server_error(
    db_url: str,
    shopify_sandbox: ShopifySandbox,
    shopify: SandboxShop,
    site: WooSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shopify_sandbox.faults = ShopifyFaults(server_error_rate=1.0)
    site.faults = WooFaults(error_rate=1.0)
    code, lines = check_connection(tmp_path, config(db_url, shopify, site), capsys)
    assert lines == [
        "fietsen: not checked: Shopify answered with a server error (502); try again later",
        "theewinkel: not checked: WooCommerce answered with a server error (500 internal_server_error: There has "
        "been a critical error on this website.); try again later",
    ]
    assert code == 1


def test_throttling_garbage_and_a_refused_connection(
    db_url: str,
    shopify: SandboxShop,
    site: WooSandbox,
    refused_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site.faults = WooFaults(burst_429=1)
    raw = config(db_url, shopify, site, fietsen={"api_base_url": refused_url})
    code, lines = check_connection(tmp_path, raw, capsys)
    port = refused_url.rsplit(":", 1)[1]
    assert lines == [
        f"fietsen: not reachable: 127.0.0.1:{port} refused the connection; check shops[0].api_base_url and that "
        "the shop is up",
        "theewinkel: not checked: WooCommerce is limiting ordercare's requests (429 "
        "woocommerce_rest_too_many_requests: Too many requests.); try again in a minute",
    ]
    assert code == 1
    site.faults = WooFaults(garbage_rate=1.0)
    code, lines = check_connection(tmp_path, raw, capsys, "--shop", "theewinkel")
    host = site.site_url.removeprefix("http://")
    assert lines == [
        f"theewinkel: not checked: {host} answered, but not as the WooCommerce API does (not JSON); check shops[1].url"
    ]
    assert code == 1


def test_a_paused_shop_says_why(
    db_url: str, shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shopify.unavailable = 402
    code, lines = check_connection(tmp_path, config(db_url, shopify, site), capsys, "--shop", "fietsen")
    assert lines == [
        "fietsen: paused: Shopify answered 402 Payment Required: the shop is frozen (its Shopify bill is unpaid) "
        "(AppAccessScopes); ordercare makes no calls to it until the next reconcile check finds it open again"
    ]
    assert code == 1


def test_an_unmigrated_database_is_named(
    shopify: SandboxShop, site: WooSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, lines = check_connection(tmp_path, config(url, shopify, site), capsys)
    assert lines == [f"database_url: cannot read the shops from {url} (OperationalError); run ordercare db upgrade"]
    assert code == 2


# --- at start: serve and worker -------------------------------------------------------------------------


def _services(db_url: str, shopify: SandboxShop, site: WooSandbox, **changes: dict[str, Any]) -> Services:
    return Services.build(settings_from_mapping(config(db_url, shopify, site, **changes), env={}), clock=lambda: NOW)


def test_the_first_reconcile_checks_every_shop_first_and_repairs_its_webhooks(
    db_url: str, shopify: SandboxShop, site: WooSandbox
) -> None:
    services = _services(db_url, shopify, site)
    env = OutboxEnv(services)
    said: list[str] = []
    scheduler = build_scheduler(services, env, say=said.append)
    reconcile = next(job for job in scheduler.get_jobs() if job.id == "reconcile")
    try:
        reconcile.func()
        assert said == [FIETSEN_OK, THEEWINKEL_OK]  # webhooks created first, so the lines say what is left
        assert len(shopify.subscriptions) == 14
        assert len(site.webhooks) == 4
        with services.sessions() as session:
            assert [row.last_reconciled_at for row in session.query(ShopRow).order_by(ShopRow.id)] == [NOW, NOW]
        reconcile.func()
        assert said == [FIETSEN_OK, THEEWINKEL_OK]  # later runs only reconcile
    finally:
        env.close()


def test_the_start_up_lines_name_the_problems_and_the_reconcile_still_runs(
    db_url: str, shopify: SandboxShop, site: WooSandbox
) -> None:
    services = _services(db_url, shopify, site, theewinkel={"consumer_secret": "cs_wrong"})
    shopify.granted.discard("read_products")
    env = OutboxEnv(services)
    said: list[str] = []
    try:
        build_scheduler(services, env, say=said.append).get_job("reconcile").func()
    finally:
        env.close()
    assert said == [
        "fietsen: connected, 14/14 webhooks, 1 missing scope, no delivery yet; missing access scopes: read_products "
        "(needed for ReconcileOrders, OrdersById, OrderStock, OrderLineVariants)",
        "theewinkel: not connected: WooCommerce refused the credentials (401 woocommerce_rest_authentication_error: "
        "Invalid signature - provided signature does not match.); check shops[1].consumer_key and "
        "shops[1].consumer_secret",
    ]
    with services.sessions() as session:
        assert session.get(ShopRow, "theewinkel").last_reconciled_at == NOW  # type: ignore[union-attr]


def test_a_shop_another_worker_is_reconciling_is_checked_without_repair(
    db_url: str, shopify: SandboxShop, site: WooSandbox
) -> None:
    services = _services(db_url, shopify, site)
    with transaction(services.sessions) as session:
        assert acquire(session, "reconcile:theewinkel", "other-worker", NOW, 600)
    env = OutboxEnv(services, worker="this-worker")
    said: list[str] = []
    try:
        build_scheduler(services, env, say=said.append).get_job("reconcile").func()
    finally:
        env.close()
    assert said == [FIETSEN_OK, "theewinkel: connected, 0/4 webhooks, key read_write, no delivery yet; no webhook "
                    "for order.created, order.updated, order.deleted, order.restored"]  # fmt: skip
    assert site.webhooks == {}


PROBE = "POST /wp-json/wc/v3/ordercare-connection-check"


def test_without_a_console_the_reconcile_job_checks_nothing(
    db_url: str, shopify: SandboxShop, site: WooSandbox, permissions: KeyPermissions
) -> None:
    services = _services(db_url, shopify, site)
    env = OutboxEnv(services)
    try:
        build_scheduler(services, env).get_job("reconcile").func()
        assert PROBE not in permissions.requests
        assert len(site.webhooks) == 4  # the reconcile's own webhook step
        said: list[str] = []
        build_scheduler(services, env, say=said.append).get_job("reconcile").func()
        assert permissions.requests.count(PROBE) == 1
        assert said == [FIETSEN_OK, THEEWINKEL_OK]
    finally:
        env.close()


# --- the decisions, on what the platform answered ---------------------------------------------------------


HINT = Hints(credentials="check shops[1].consumer_key and shops[1].consumer_secret", address="shops[1].url")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (WooCommerceError("x", code="woocommerce_rest_cannot_view", status=403,
                          platform_message="403 woocommerce_rest_cannot_view: Sorry, you cannot list resources."),
         "not connected: WooCommerce refused access (403 woocommerce_rest_cannot_view: Sorry, you cannot list "
         "resources.); check shops[1].consumer_key and shops[1].consumer_secret"),
        (WooCommerceError("x", code="woocommerce_rest_authentication_error", status=401,
                          platform_message="401 woocommerce_rest_authentication_error: The API key provided does not "
                          "have read permissions."),
         "not connected: the API key may not read (WooCommerce: 401 woocommerce_rest_authentication_error: The API "
         f"key provided does not have read permissions.); ordercare needs a key with Read/Write permissions "
         f"{READ_WRITE_HINT}"),
        (RetryableError("WooCommerce GET /webhooks: 503: ", status=503, platform_message="503: "),
         "not checked: WooCommerce answered with a server error (503); try again later"),
        (PermanentError("shop 'theewinkel' has no consumer_key/consumer_secret"),
         "not checked: shop 'theewinkel' has no consumer_key/consumer_secret"),
    ],
)  # fmt: skip
def test_why_a_shop_could_not_be_asked(error: Exception, words: str) -> None:
    assert isinstance(error, RetryableError | PermanentError)
    assert failure(error, Platform.WOOCOMMERCE, "thee.example.nl", HINT) == words


def test_a_timeout_is_not_reachable() -> None:
    import requests

    try:
        try:
            raise requests.ConnectTimeout("connect timed out")
        except requests.RequestException:
            raise RetryableError("AppAccessScopes: Shopify did not answer in time") from None
    except RetryableError as exc:
        error = exc
    hint = Hints(credentials="check shops[0].access_token", address="shops[0].shop_domain")
    assert failure(error, Platform.SHOPIFY, "fietsen-test.myshopify.com", hint) == (
        "not reachable: fietsen-test.myshopify.com did not answer in time; check shops[0].shop_domain and that the "
        "shop is up"
    )


def test_woocommerce_webhooks_work_when_active_without_failures() -> None:
    def one(topic: str, **changes: Any) -> dict[str, Any]:
        return {"id": len(topic), "topic": topic, "delivery_url": WOO_CALLBACK, "status": "active",
                "failure_count": 0, **changes}  # fmt: skip

    healthy = [one(topic) for topic in WOOCOMMERCE_TOPICS]
    assert woocommerce_webhooks(healthy, WOO_CALLBACK) == Webhooks(4, 4)
    elsewhere = [one(topic, delivery_url="https://old.example.nl/webhooks/woocommerce") for topic in WOOCOMMERCE_TOPICS]
    assert woocommerce_webhooks(elsewhere, WOO_CALLBACK) == Webhooks(
        0, 4, ("no webhook for order.created, order.updated, order.deleted, order.restored",)
    )
    failing = [*healthy[:3], one("order.restored", id=31, failure_count=3)]
    assert woocommerce_webhooks(failing, WOO_CALLBACK) == Webhooks(
        3, 4, ("webhook 31 (order.restored): its last 3 deliveries failed",)
    )
    paused_and_working = [*healthy, one("order.created", id=40, status="paused")]
    assert woocommerce_webhooks(paused_and_working, WOO_CALLBACK) == Webhooks(4, 4)  # one working is enough
    assert woocommerce_webhooks(healthy, WOO_CALLBACK, signature_failures=1) == Webhooks(
        4, 4, ("1 delivery failed the signature check since the last webhook check (signed with a secret ordercare "
               "does not have)",)
    )  # fmt: skip


def test_shopify_webhooks_count_the_topics_subscribed_at_our_url() -> None:
    subscriptions = [{"topic": enum, "uri": SHOPIFY_CALLBACK} for enum in SHOPIFY_TOPICS.values()]
    assert shopify_webhooks(subscriptions, SHOPIFY_CALLBACK) == Webhooks(14, 14)
    assert shopify_webhooks(subscriptions, "https://new.example.nl/webhooks/shopify").working == 0
    without_paid = [s for s in subscriptions if s["topic"] != "ORDERS_PAID"]
    reasons = {"orders/paid": "Access denied for webhookSubscriptionCreate field. (needs read_orders)"}
    assert shopify_webhooks(without_paid, SHOPIFY_CALLBACK, reasons) == Webhooks(
        13, 14, ("no webhook for orders/paid: Access denied for webhookSubscriptionCreate field. (needs read_orders)",)
    )


def test_declared_webhooks_need_their_scopes() -> None:
    from connector.platforms.shopify.scopes import REQUIRED_SCOPES

    assert declared_webhooks(REQUIRED_SCOPES) == Webhooks(14, 14)
    without = declared_webhooks([s for s in REQUIRED_SCOPES if s != "read_fulfillments"])
    assert (without.working, without.expected) == (11, 14)  # fulfillments/create, /update, events
    assert without.problems[0] == (
        "no webhook for fulfillments/create: declared in shopify.app.toml, but Shopify delivers it only with "
        "read_fulfillments, which is not granted"
    )


def test_key_permissions_from_the_write_probe() -> None:
    no_route = WooCommerceError("x", code="rest_no_route", status=404, platform_message="404 rest_no_route: No route")
    assert key_permissions(no_route) == "read_write"
    read_only = WooCommerceError("x", code="woocommerce_rest_authentication_error", status=401,
                                 platform_message="401 woocommerce_rest_authentication_error: The API key provided "
                                 "does not have write permissions.")  # fmt: skip
    assert key_permissions(read_only) == "read"
    assert key_permissions(RetryableError("x", status=500, platform_message="500: down")) is None


def test_the_line_names_the_last_delivery_in_the_shops_time_zone() -> None:
    check = ConnectionCheck(
        "fietsen",
        Platform.SHOPIFY,
        "Europe/Amsterdam",
        webhooks=Webhooks(14, 14),
        last_delivery_at=NOW - timedelta(minutes=5),
    )
    assert check.line() == "fietsen: connected, 14/14 webhooks, 0 missing scopes, last delivery 2026-11-24 09:55 CET"
    assert check.ok
    hooks = Webhooks(3, 4, ("no webhook for order.restored",))
    troubled = ConnectionCheck(
        "thee", Platform.WOOCOMMERCE, webhooks=hooks, key_permissions="read", problems=("the API key may only read",)
    )
    assert troubled.line() == (
        "thee: connected, 3/4 webhooks, key read, no delivery yet; the API key may only read; no webhook for "
        "order.restored"
    )
    assert not troubled.ok
    assert not ConnectionCheck("thee", Platform.WOOCOMMERCE, webhooks=Webhooks(3, 4, ("no webhook for x",))).ok


def test_the_hints_name_the_keys_to_check() -> None:
    from connector.config import Settings
    from connector.shops import Shop

    raw = {
        "secret_key": "connection-check-secret-0123456789abcdef",
        "shops": [
            {"id": "legacy", "platform": "shopify", "shop_domain": "legacy.myshopify.com", "access_token": "t",
             "webhook_secret": "s"},
            {"id": "own", "platform": "shopify", "shop_domain": "own.myshopify.com", "client_id": "c",
             "client_secret": "s", "api_base_url": "https://proxy.example.nl"},
            {"id": "thee", "platform": "woocommerce", "url": "https://thee.example.nl", "consumer_key": "ck",
             "consumer_secret": "cs", "webhook_secret": "w"},
        ],
    }  # fmt: skip
    settings: Settings = settings_from_mapping(raw, env={})

    def shop(shop_id: str, platform: Platform, source: str = "config") -> Shop:
        return Shop(shop_id, platform, shop_id, shop_id, "active", "Europe/Amsterdam", "nl", "NL", source)

    assert hints(shop("legacy", Platform.SHOPIFY), settings) == Hints(
        "check shops[0].access_token", "shops[0].shop_domain"
    )
    assert hints(shop("own", Platform.SHOPIFY), settings) == Hints(
        "check shops[1].client_id and shops[1].client_secret", "shops[1].api_base_url"
    )
    assert hints(shop("thee", Platform.WOOCOMMERCE), settings) == Hints(
        "check shops[2].consumer_key and shops[2].consumer_secret", "shops[2].url"
    )
    assert hints(shop("installed", Platform.SHOPIFY, "installed"), settings) == Hints(
        "install the app in the shop again", "the shop's address"
    )
    assert hints(shop("installed", Platform.WOOCOMMERCE, "installed"), settings).credentials == "connect the shop again"
