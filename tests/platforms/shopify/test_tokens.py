"""Tokens as shared state: read from the store on every call, one refresh per shop at a time, reloaded on a 401,
a failed renewal confined to its shop; the client credentials grant for a Dev Dashboard app on its own store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from connector import platforms
from connector.crypto import SecretBox
from connector.outbox.env import OutboxEnv
from connector.platforms.base import PermanentError, RetryableError
from connector.platforms.shopify import auth, install, mapper
from connector.platforms.shopify.client import ShopifyClient
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, SandboxShop, ShopifySandbox
from connector.scheduler import reconcile_all
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ShopRow
from tests.admin.builders import Clock
from tests.conftest import make_settings

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
APP = install.AppCredentials("partner-app-key", "partner-app-secret-0123456789")
OWN = install.AppCredentials("dev-dashboard-client-id", "shpss_dev_dashboard_secret_0123456789")
INSTALLED = "bakkerij.myshopify.com"
OWN_DOMAIN = "eigen-winkel.myshopify.com"


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[ShopifySandbox]:
    box = ShopifySandbox(clock=clock)
    box.register_app(APP.api_key, APP.api_secret)
    with BackgroundServer(box) as server:
        box.url = server.url
        yield box


def fietsen(base_url: str) -> dict[str, Any]:
    """The test settings' config shop with a legacy static token, served by the sandbox at ``base_url``."""
    return {"id": "fietsen", "platform": "shopify", "shop_domain": "fietsen-test.myshopify.com",
            "access_token": "shpat_test_token", "webhook_secret": "x", "api_base_url": base_url}  # fmt: skip


def _services(db_url: str, clock: Clock, sandbox: ShopifySandbox, **overrides: Any) -> Services:
    settings = make_settings(db_url, shopify_app={"api_key": APP.api_key, "api_secret": APP.api_secret}, **overrides)
    return Services.build(settings, clock=clock)


def _install(services: Services, sandbox: ShopifySandbox, clock: Clock) -> SandboxShop:
    """An installed shop whose expiring offline token (1 h) the sandbox knows, with its refresh token."""
    shop = sandbox.add_shop(INSTALLED, APP.api_secret, access_token="shpat_first_0123456789abcdef")
    shop.tokens["shpat_first_0123456789abcdef"] = clock() + timedelta(hours=1)
    shop.refresh_tokens.add("shprt_first_0123456789abcdef")
    tokens = install.TokenSet(
        "shpat_first_0123456789abcdef", "read_orders", clock() + timedelta(hours=1), "shprt_first_0123456789abcdef"
    )
    with transaction(services.sessions) as session:
        install.store_installation(
            session, INSTALLED, tokens, SecretBox(services.settings.secret_key), clock(), shop.base_url
        )
    services.shops.invalidate()
    return shop


def _stored(services: Services, shop_id: str) -> dict[str, Any]:
    with services.sessions() as session:
        row = session.get(ShopRow, shop_id)
        assert row is not None
        return SecretBox(services.settings.secret_key).open(row.credentials) if row.credentials else {}


def _client(services: Services, shop_id: str) -> ShopifyClient:
    shop = services.shops.get(shop_id)
    assert shop is not None
    client = platforms.make_client(shop, services.settings, clock=services.now)
    assert isinstance(client, ShopifyClient)
    return client


def _tags(client: ShopifyClient, sandbox_shop: SandboxShop, order_id: str) -> Any:
    return client.execute("OrderTags", {"id": mapper.to_gid("Order", order_id)})


class GatedSession(requests.Session):
    """Holds a token request until ``gate`` is set, so a second process arrives while the first refreshes."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if str(url).endswith("/admin/oauth/access_token"):
            self.entered.set()
            assert self.gate.wait(10)
        return super().post(url, *args, **kwargs)


def test_two_processes_refresh_once_and_both_use_the_new_token(
    db_url: str, clock: Clock, sandbox: ShopifySandbox
) -> None:
    one = _services(db_url, clock, sandbox)
    two = _services(db_url, clock, sandbox)  # a second worker: its own engine on the same database
    shop = _install(one, sandbox, clock)
    order = str(shop.create_order()["id"])
    gated = GatedSession()
    clients = [
        ShopifyClient(
            s.context,
            shop_key=INSTALLED,
            base_url=shop.base_url,
            credentials={},
            app=APP,
            clock=svc.now,
            tokens=auth.StoredTokens(svc.sessions, SecretBox(svc.settings.secret_key), s.id),
            http=http,
        )
        for svc, s, http in (
            (one, one.shops.get("bakkerij"), gated),
            (two, two.shops.get("bakkerij"), requests.Session()),
        )
        if s is not None
    ]
    assert len(clients) == 2
    assert _tags(clients[0], shop, order) is not None  # far from expiry: no refresh
    assert shop.counters["tokens_issued"] == 0
    clock.now = START + timedelta(minutes=55)  # inside the 300 s margin before the 1 h expiry
    errors: list[Exception] = []

    def call(client: ShopifyClient) -> None:
        try:
            _tags(client, shop, order)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below, in the test's thread)
            errors.append(exc)

    first = threading.Thread(target=call, args=(clients[0],))
    first.start()
    assert gated.entered.wait(10)  # the first process holds the lock and is talking to Shopify
    second = threading.Thread(target=call, args=(clients[1],))
    second.start()
    time.sleep(0.5)  # the second process reaches the lock and waits on it
    assert second.is_alive()
    gated.gate.set()
    first.join(10)
    second.join(10)
    assert errors == []
    assert shop.counters["tokens_issued"] == 1  # one refresh: the second process took the first one's token
    stored = _stored(one, "bakkerij")
    assert stored["access_token"] == shop.access_token != "shpat_first_0123456789abcdef"
    assert stored["refresh_token"] != "shprt_first_0123456789abcdef"
    assert stored["api_base_url"] == shop.base_url  # the row keeps what is not a token
    assert [c.tokens.current() for c in clients] == [shop.access_token, shop.access_token]
    assert shop.counters["unauthorized"] == 0
    for c in clients:
        c.close()
    one.engine.dispose()
    two.engine.dispose()


class StaleFirstRead(auth.StoredTokens):
    """A process that read the row just before another one renewed: its first read returns that old copy."""

    def __init__(self, store: auth.StoredTokens, stale: dict[str, Any]) -> None:
        super().__init__(store.sessions, store.box, store.shop_id)
        self.stale: dict[str, Any] | None = stale

    def load(self) -> dict[str, Any]:
        if self.stale is not None:
            copy, self.stale = self.stale, None
            return copy
        return super().load()


def test_a_process_that_read_before_the_refresh_takes_the_new_token_under_the_lock(
    db_url: str, clock: Clock, sandbox: ShopifySandbox
) -> None:
    services = _services(db_url, clock, sandbox)
    shop = _install(services, sandbox, clock)
    order = str(shop.create_order()["id"])
    store = auth.StoredTokens(services.sessions, SecretBox(services.settings.secret_key), "bakkerij")
    clock.now = START + timedelta(minutes=56)
    before = store.load()  # the second process's read, before the first one refreshes
    first = _client(services, "bakkerij")
    _tags(first, shop, order)
    assert shop.counters["tokens_issued"] == 1
    context = services.shops.get("bakkerij")
    assert context is not None
    second = ShopifyClient(
        context.context, shop_key=INSTALLED, base_url=shop.base_url, credentials={}, app=APP, clock=services.now,
        tokens=StaleFirstRead(store, before),
    )  # fmt: skip
    _tags(second, shop, order)
    assert shop.counters["tokens_issued"] == 1  # it re-read under the lock and did not spend the refresh token
    assert second.tokens.current() == first.tokens.current() == shop.access_token
    assert shop.counters["unauthorized"] == 0
    first.close()
    second.close()
    services.engine.dispose()


def test_a_rotated_refresh_token_is_refused_once_its_replacement_was_used(
    clock: Clock, sandbox: ShopifySandbox
) -> None:
    shop = sandbox.add_shop(INSTALLED, APP.api_secret)
    shop.refresh_tokens.add("shprt_r0_0123456789")
    with requests.Session() as http:
        r1 = install.refresh_access_token(http, shop.base_url, APP, "shprt_r0_0123456789", clock())
        # the answer was lost: the used token may be tried again until its replacement is used
        again = install.refresh_access_token(http, shop.base_url, APP, "shprt_r0_0123456789", clock())
        assert r1.refresh_token is not None
        assert again.refresh_token not in (None, r1.refresh_token)
        r2 = install.refresh_access_token(http, shop.base_url, APP, r1.refresh_token, clock())
        refused = "401 \\(invalid_request: This request requires an active refresh_token\\)"
        with pytest.raises(install.InstallError, match=refused) as err:
            install.refresh_access_token(http, shop.base_url, APP, "shprt_r0_0123456789", clock())
        assert (err.value.status, err.value.retryable) == (401, False)
        assert r2.refresh_token is not None
        # the recovery window ends 30 days after the first use
        clock.now = START + timedelta(days=30) - timedelta(seconds=1)
        r3 = install.refresh_access_token(http, shop.base_url, APP, r2.refresh_token, clock())
        clock.now = START + timedelta(days=30)
        with pytest.raises(install.InstallError, match="401"):
            install.refresh_access_token(http, shop.base_url, APP, r1.refresh_token, clock())
        assert r3.access_token in shop.tokens


def test_a_stale_copy_of_the_refresh_token_fails_for_its_shop_only(
    db_url: str, clock: Clock, sandbox: ShopifySandbox
) -> None:
    # a full reconcile (orders, scopes, webhooks) costs more than one bucket: pacing is test_client.py's subject
    sandbox.bucket = BucketConfig(maximum=100_000.0, restore_rate=100_000.0)
    other = sandbox.add_shop("fietsen-test.myshopify.com", "x", access_token="shpat_test_token")
    other.create_order()
    services = _services(db_url, clock, sandbox, shops=[fietsen(other.base_url)])
    shop = _install(services, sandbox, clock)
    # another installation of ordercare rotated the pair twice; this one still has the first refresh token
    with requests.Session() as http:
        r1 = install.refresh_access_token(http, shop.base_url, APP, "shprt_first_0123456789abcdef", clock())
        assert r1.refresh_token is not None
        install.refresh_access_token(http, shop.base_url, APP, r1.refresh_token, clock())
    clock.now = START + timedelta(hours=2)  # the stored access token has expired
    env = OutboxEnv(services)
    reports = {r.shop_id: r for r in reconcile_all(env)}
    env.close()
    assert list(reports) == ["bakkerij", "fietsen"]  # the failing shop first: the other one still runs
    error = reports["bakkerij"].error or ""
    assert "Shopify access token (refresh) not renewed" in error
    assert "This request requires an active refresh_token" in error
    assert "shprt_" not in error
    assert APP.api_secret not in error
    assert reports["fietsen"].error is None
    assert reports["fietsen"].seen == 1
    assert _stored(services, "bakkerij")["refresh_token"] == "shprt_first_0123456789abcdef"  # nothing written
    services.engine.dispose()


def test_after_a_reinstall_the_next_call_uses_the_new_token(db_url: str, clock: Clock, sandbox: ShopifySandbox) -> None:
    services = _services(db_url, clock, sandbox)
    shop = _install(services, sandbox, clock)
    order = str(shop.create_order()["id"])
    client = _client(services, "bakkerij")
    _tags(client, shop, order)
    # uninstall revokes the token; the reinstall stores a new pair
    del shop.tokens["shpat_first_0123456789abcdef"]
    shop.tokens["shpat_second_0123456789abcdef"] = clock() + timedelta(hours=1)
    tokens = install.TokenSet("shpat_second_0123456789abcdef", "read_orders", clock() + timedelta(hours=1), "shprt_x")
    with transaction(services.sessions) as session:
        install.store_installation(
            session, INSTALLED, tokens, SecretBox(services.settings.secret_key), clock(), shop.base_url
        )
    calls = shop.counters["calls"]
    _tags(client, shop, order)
    assert shop.counters["calls"] == calls + 1
    assert shop.counters["unauthorized"] == 0  # not a 401 first: the token was read from the store
    assert client.tokens.current() == "shpat_second_0123456789abcdef"
    client.close()
    services.engine.dispose()


def test_a_401_reloads_or_renews_once_then_is_a_platform_error(
    db_url: str, clock: Clock, sandbox: ShopifySandbox
) -> None:
    services = _services(db_url, clock, sandbox)
    shop = _install(services, sandbox, clock)
    order = str(shop.create_order()["id"])
    client = _client(services, "bakkerij")
    del shop.tokens["shpat_first_0123456789abcdef"]  # revoked before its expiry
    _tags(client, shop, order)
    assert (shop.counters["unauthorized"], shop.counters["tokens_issued"]) == (1, 1)
    assert _stored(services, "bakkerij")["access_token"] == shop.access_token
    # the renewed token is refused too: a platform error after one renewal, not a loop
    shop.tokens.clear()
    original = sandbox._issue

    def dead_tokens(s: SandboxShop, *, expires_in: int | None) -> str:
        token = original(s, expires_in=expires_in)
        s.tokens.pop(token)
        return token

    sandbox._issue = dead_tokens  # type: ignore[method-assign,assignment]
    with pytest.raises(PermanentError, match="refused the access token \\(401\\)"):
        _tags(client, shop, order)
    assert (shop.counters["unauthorized"], shop.counters["tokens_issued"]) == (3, 2)
    client.close()
    services.engine.dispose()


def test_a_401_on_a_legacy_static_token_is_not_retried(db_url: str, clock: Clock, sandbox: ShopifySandbox) -> None:
    shop = sandbox.add_shop("fietsen-test.myshopify.com", "x", access_token="shpat_other")
    services = _services(db_url, clock, sandbox, shops=[fietsen(shop.base_url)])
    client = _client(services, "fietsen")
    with pytest.raises(PermanentError, match="401"):
        _tags(client, shop, "1")
    assert (shop.counters["unauthorized"], shop.counters["tokens_issued"]) == (1, 0)
    client.close()
    services.engine.dispose()


# --- the client credentials grant --------------------------------------------------------------------


def _own_shop_settings(db_url: str, sandbox: ShopifySandbox, secret: str = OWN.api_secret) -> dict[str, Any]:
    shop = sandbox.shops[OWN_DOMAIN]
    config = {"id": "eigen", "platform": "shopify", "shop_domain": OWN_DOMAIN, "api_base_url": shop.base_url,
              "client_id": OWN.api_key, "client_secret": secret}  # fmt: skip
    base = make_settings(db_url)
    return {"shops": [config, base.shops[1].model_dump(exclude_none=True)]}


@pytest.fixture
def own_shop(sandbox: ShopifySandbox) -> SandboxShop:
    shop = sandbox.add_shop(OWN_DOMAIN, OWN.api_secret, access_token="shpat_never_handed_out")
    sandbox.install_own_app(OWN_DOMAIN, OWN.api_key, OWN.api_secret)
    return shop


@pytest.fixture
def own(
    db_url: str, clock: Clock, sandbox: ShopifySandbox, own_shop: SandboxShop
) -> Iterator[tuple[Services, ShopifyClient, str]]:
    """The config shop "eigen" (client id and secret), its client after one call, and an order in the shop."""
    services = _services(db_url, clock, sandbox, **_own_shop_settings(db_url, sandbox))
    order = str(own_shop.create_order()["id"])
    client = _client(services, "eigen")
    _tags(client, own_shop, order)
    yield services, client, order
    client.close()
    services.engine.dispose()


def test_client_credentials_token_is_obtained_sealed_and_renewed_before_expiry(
    clock: Clock, own_shop: SandboxShop, own: tuple[Services, ShopifyClient, str]
) -> None:
    services, client, order = own
    assert own_shop.counters["tokens_issued"] == 1
    stored = _stored(services, "eigen")
    first = stored["access_token"]
    assert first == own_shop.access_token
    assert stored["expires_at"] == (START + timedelta(seconds=86399)).isoformat()
    assert "refresh_token" not in stored
    with services.sessions() as session:
        sealed = session.scalars(select(ShopRow.credentials).where(ShopRow.id == "eigen")).one()
    assert sealed is not None
    assert first not in sealed
    assert OWN.api_secret not in sealed
    # a second process reads the same token instead of asking for its own
    other = _client(services, "eigen")
    _tags(other, own_shop, order)
    assert own_shop.counters["tokens_issued"] == 1
    # renewal: one second before the margin nothing happens; at the margin a new token is obtained
    clock.now = START + timedelta(seconds=86399 - auth.RENEW_MARGIN_SECONDS - 1)
    _tags(client, own_shop, order)
    assert own_shop.counters["tokens_issued"] == 1
    clock.now = START + timedelta(seconds=86399 - auth.RENEW_MARGIN_SECONDS)
    _tags(client, own_shop, order)
    assert own_shop.counters["tokens_issued"] == 2
    assert _stored(services, "eigen")["access_token"] == own_shop.access_token != first
    _tags(other, own_shop, order)
    assert own_shop.counters["tokens_issued"] == 2
    assert own_shop.counters["unauthorized"] == 0
    other.close()


def test_an_expired_client_credentials_token_is_replaced_after_the_401(
    clock: Clock, own_shop: SandboxShop, own: tuple[Services, ShopifyClient, str]
) -> None:
    services, client, order = own
    # the stored expiry says "valid" but Shopify's clock says otherwise (the token stops at 86399 s)
    with transaction(services.sessions) as session:
        row = session.get(ShopRow, "eigen")
        assert row is not None
        box = SecretBox(services.settings.secret_key)
        row.credentials = box.seal({**box.open(row.credentials or ""), "expires_at": "2026-11-26T09:00:00+00:00"})
    clock.now = START + timedelta(seconds=86399)
    _tags(client, own_shop, order)
    assert (own_shop.counters["unauthorized"], own_shop.counters["tokens_issued"]) == (1, 2)


def test_a_refused_client_secret_is_a_platform_error_without_the_secret(
    db_url: str, clock: Clock, sandbox: ShopifySandbox, own_shop: SandboxShop
) -> None:
    wrong = "shpss_wrong_secret_9876543210"
    services = _services(db_url, clock, sandbox, **_own_shop_settings(db_url, sandbox, secret=wrong))
    client = _client(services, "eigen")
    with pytest.raises(PermanentError) as err:
        _tags(client, own_shop, "1")
    message = str(err.value)
    assert message == "shop 'eigen': Shopify access token (client credentials) not renewed: " \
                      "access token request refused: 401 (invalid_client)"  # fmt: skip
    assert wrong not in message
    assert own_shop.counters["tokens_issued"] == 0
    assert own_shop.counters["calls"] == 0  # no GraphQL call without a token
    assert _stored(services, "eigen") == {}  # nothing written
    client.close()
    services.engine.dispose()


def test_a_renewal_that_cannot_reach_shopify_is_retryable(clock: Clock) -> None:
    tokens = auth.AccessTokens(
        auth.MemoryTokens({}), shop_id="eigen", base_url="http://127.0.0.1:9", http=requests.Session(),
        clock=clock, own_app=OWN,
    )  # fmt: skip
    with pytest.raises(RetryableError, match="not renewed: access token request failed: ConnectionError"):
        tokens.current()


def test_client_credentials_grant_in_the_sandbox(clock: Clock, sandbox: ShopifySandbox, own_shop: SandboxShop) -> None:
    other = sandbox.add_shop("andere-winkel.myshopify.com", "x")
    with requests.Session() as http:
        token = install.client_credentials_token(http, own_shop.base_url, OWN, clock())
        assert token.expires_at == START + timedelta(seconds=86399)
        assert token.refresh_token is None
        wrong = install.AppCredentials(OWN.api_key, "nope-0123456789")
        with pytest.raises(install.InstallError, match="401 \\(invalid_client\\)"):
            install.client_credentials_token(http, own_shop.base_url, wrong, clock())
        with pytest.raises(install.InstallError, match="400 \\(unauthorized_client\\)"):
            install.client_credentials_token(http, other.base_url, OWN, clock())  # not a store of its own
    assert own_shop.tokens[token.access_token] == START + timedelta(seconds=86399)
    assert token.access_token not in repr(token)  # never in a log line by accident
