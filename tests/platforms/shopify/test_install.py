"""The OAuth install flow: forged and replayed parameters are refused; the happy path against the sandbox."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import shopify
from flask.testing import FlaskClient

from connector.crypto import SecretBox
from connector.platforms.shopify import install
from connector.platforms.shopify.adapter import COMPLIANCE_TOPICS, SUBSCRIBED_TOPICS
from connector.platforms.shopify.scopes import REQUIRED_SCOPES
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import ShopifySandbox
from connector.services import Services
from connector.store.tables import ShopRow
from tests.conftest import make_settings
from webhooks import create_app
from webhooks.shopify_install import STATE_COOKIE

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
APP = install.AppCredentials("app-key", "app-secret-0123456789")
DOMAIN = "nieuwe-winkel.myshopify.com"


def signed(params: dict[str, str], secret: str = APP.api_secret) -> dict[str, str]:
    return {**params, "hmac": install.query_hmac(params, secret)}


def install_params(**changes: str) -> dict[str, str]:
    params = {"shop": DOMAIN, "timestamp": str(int(NOW.timestamp())), "host": "YWRtaW4"}
    params.update(changes)
    return signed(params)


def test_query_hmac_matches_the_shopify_library() -> None:
    params = {"shop": DOMAIN, "timestamp": "1337178173", "code": "a%b=c&d", "ids[]": ["1", "2"], "state": "x"}
    shopify.Session.setup(api_key=APP.api_key, secret=APP.api_secret)
    try:
        assert install.query_hmac(params, APP.api_secret) == shopify.Session.calculate_hmac(params)
    finally:
        shopify.Session.setup(api_key=None, secret=None)


def test_checks() -> None:
    assert install.check_request(install_params(), APP, NOW) == DOMAIN
    with pytest.raises(install.InstallError, match="hmac"):
        install.check_request({**install_params(), "shop": "andere-winkel.myshopify.com"}, APP, NOW)
    with pytest.raises(install.InstallError, match="hmac: missing"):
        install.check_request({"shop": DOMAIN, "timestamp": str(int(NOW.timestamp()))}, APP, NOW)
    rotated = install.AppCredentials(APP.api_key, "new-secret", previous_api_secret=APP.api_secret)
    assert install.check_request(install_params(), rotated, NOW) == DOMAIN
    # timestamp window: 300 s either way
    assert install.check_request(install_params(timestamp=str(int(NOW.timestamp()) - 300)), APP, NOW) == DOMAIN
    with pytest.raises(install.InstallError, match="timestamp"):
        install.check_request(install_params(timestamp=str(int(NOW.timestamp()) - 301)), APP, NOW)
    with pytest.raises(install.InstallError, match="timestamp"):
        install.check_request(install_params(timestamp=str(int(NOW.timestamp()) + 301)), APP, NOW)
    bad_shops = ("evil.com", "winkel.myshopify.com.evil.com", "https://winkel.myshopify.com", "winkel",
                 "-x.myshopify.com", "win kel.myshopify.com")  # fmt: skip
    for bad in bad_shops:
        with pytest.raises(install.InstallError, match="shop"):
            install.check_request(install_params(shop=bad), APP, NOW)
    with pytest.raises(install.InstallError, match="state"):
        install.check_state({"state": "abc"}, "abd")
    with pytest.raises(install.InstallError, match="state"):
        install.check_state({"state": ""}, "")
    install.check_state({"state": "abc"}, "abc")


def test_the_example_app_toml_matches_what_the_code_needs() -> None:
    toml = tomllib.loads((Path(__file__).parents[3] / "shopify.app.toml").read_text(encoding="utf-8"))
    assert toml["access_scopes"]["scopes"].split(",") == list(REQUIRED_SCOPES)
    assert toml["webhooks"]["api_version"] == "2026-10"
    subscriptions = toml["webhooks"]["subscriptions"]
    assert sorted(t for s in subscriptions for t in s.get("topics", ())) == sorted(SUBSCRIBED_TOPICS)
    assert sorted(t for s in subscriptions for t in s.get("compliance_topics", ())) == sorted(COMPLIANCE_TOPICS)
    assert {s["uri"] for s in subscriptions} == {"https://ordercare.example.com/webhooks/shopify"}
    assert toml["auth"]["redirect_urls"] == ["https://ordercare.example.com/shopify/callback"]
    assert toml["embedded"] is False  # the install flow is the non-embedded authorization-code grant
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    listed = readme.split("## Connect a Shopify shop", 1)[1].split("1. **Your own store", 1)[0]
    assert re.findall(r"`((?:read|write)_[a-z_]+)`", listed) == list(REQUIRED_SCOPES)


def test_authorize_url_asks_for_an_offline_token() -> None:
    url = install.authorize_url("https://w.myshopify.com", APP, ["read_orders", "write_orders"], "https://o/cb", "n1")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("w.myshopify.com", "/admin/oauth/authorize")
    query = parse_qs(parts.query)
    assert query == {"client_id": ["app-key"], "scope": ["read_orders,write_orders"], "redirect_uri": ["https://o/cb"],
                     "state": ["n1"]}  # fmt: skip
    assert "grant_options[]" not in url


@pytest.fixture
def sandbox() -> Iterator[ShopifySandbox]:
    box = ShopifySandbox(clock=lambda: NOW)
    box.register_app(APP.api_key, APP.api_secret)
    box.add_shop(DOMAIN, APP.api_secret, access_token="unused")
    with BackgroundServer(box) as server:
        box.url = server.url
        yield box


@pytest.fixture
def web(db_url: str, sandbox: ShopifySandbox) -> Iterator[tuple[FlaskClient, Services]]:
    settings = make_settings(db_url, shopify_app={"api_key": APP.api_key, "api_secret": APP.api_secret})
    services = Services.build(settings, clock=lambda: NOW)
    app = create_app(services)
    app.config["SHOPIFY_OAUTH_BASE_URL"] = f"{sandbox.url}/shops/{{shop}}"
    yield app.test_client(), services
    services.engine.dispose()


def _start(client: FlaskClient, params: dict[str, str]) -> Any:
    return client.get("/shopify/install?" + urlencode(params))


def test_install_happy_path(web: tuple[FlaskClient, Services], sandbox: ShopifySandbox) -> None:
    client, services = web
    response = _start(client, sandbox.install_request(DOMAIN, APP.api_key))
    assert response.status_code == 302
    authorize = response.headers["Location"]
    assert authorize.startswith(f"{sandbox.url}/shops/{DOMAIN}/admin/oauth/authorize?")
    assert client.get_cookie(STATE_COOKIE) is not None
    approved = requests.get(authorize, allow_redirects=False, timeout=5)
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["Location"])
    assert callback.path == "/shopify/callback"
    done = client.get(f"/shopify/callback?{callback.query}")
    assert done.status_code == 200, done.text
    assert "installed on nieuwe-winkel.myshopify.com" in done.text
    with services.sessions() as session:
        row = session.get(ShopRow, "nieuwe-winkel")
        assert row is not None
        assert (row.source, row.status, row.key, row.installed_at) == ("installed", "active", DOMAIN, NOW)
        assert row.credentials is not None
        assert "shpat_" not in row.credentials
        credentials = SecretBox(services.settings.secret_key).open(row.credentials)
    shop = sandbox.shops[DOMAIN]
    assert credentials["access_token"] == shop.access_token
    assert credentials["refresh_token"].startswith("shprt_")
    assert credentials["expires_at"] == "2026-11-24T10:00:00+00:00"  # expiring=1 was requested
    assert credentials["api_base_url"] == f"{sandbox.url}/shops/{DOMAIN}"
    uris = {s["uri"] for s in shop.subscriptions}
    assert uris == {"http://127.0.0.1:8000/webhooks/shopify"}
    assert sorted(s["topic"] for s in shop.subscriptions) == sorted(SUBSCRIBED_TOPICS.values())
    installed = services.shops.by_key("shopify", DOMAIN)
    assert installed is not None
    assert installed.webhook_secrets == (APP.api_secret,)
    # the same callback again (a replay) has no state cookie any more and its code is spent
    again = client.get(f"/shopify/callback?{callback.query}")
    assert again.status_code == 400
    assert shop.counters["tokens_issued"] == 1


def test_callback_with_wrong_state(web: tuple[FlaskClient, Services], sandbox: ShopifySandbox) -> None:
    client, _ = web
    response = _start(client, sandbox.install_request(DOMAIN, APP.api_key))
    approved = requests.get(response.headers["Location"], allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(approved.headers["Location"]).query)
    params = {k: v[0] for k, v in query.items() if k != "hmac"}
    params["state"] = "0" * 64
    refused = client.get("/shopify/callback?" + urlencode(signed(params)))
    assert refused.status_code == 400
    assert "state" in refused.text
    assert sandbox.shops[DOMAIN].counters["tokens_issued"] == 0


def test_callback_without_the_cookie(web: tuple[FlaskClient, Services], sandbox: ShopifySandbox) -> None:
    client, _ = web
    response = _start(client, sandbox.install_request(DOMAIN, APP.api_key))
    approved = requests.get(response.headers["Location"], allow_redirects=False, timeout=5)
    client.delete_cookie(STATE_COOKIE)
    refused = client.get("/shopify/callback?" + urlsplit(approved.headers["Location"]).query)
    assert refused.status_code == 400
    assert sandbox.shops[DOMAIN].counters["tokens_issued"] == 0


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({**install_params(), "hmac": "0" * 64}, 401, "hmac"),
        ({k: v for k, v in install_params().items() if k != "hmac"}, 401, "hmac"),
        (install_params(timestamp=str(int(NOW.timestamp()) - 3600)), 400, "timestamp"),
        (install_params(shop="winkel.example.com"), 400, "shop"),
    ],
)
def test_install_refuses(web: tuple[FlaskClient, Services], params: dict[str, str], status: int, reason: str) -> None:
    client, services = web
    response = _start(client, params)
    assert response.status_code == status
    assert reason in response.text
    assert client.get_cookie(STATE_COOKIE) is None
    with services.sessions() as session:
        assert session.get(ShopRow, "nieuwe-winkel") is None


def test_no_app_configured(db_url: str) -> None:
    services = Services.build(make_settings(db_url), clock=lambda: NOW)
    client = create_app(services).test_client()
    assert client.get("/shopify/install?" + urlencode(install_params())).status_code == 404
    services.engine.dispose()
