"""Connecting a WooCommerce shop: the signed user_id, the key callback, sealed keys, and the whole round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from connector.crypto import SecretBox
from connector.platforms.woocommerce.install import (
    ConnectError,
    accept_keys,
    authorize_url,
    connect_token,
    read_token,
    shop_id_for,
)
from connector.sandbox.server import BackgroundServer
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ShopRow
from tests.conftest import make_settings
from webhooks import create_app

SECRET_KEY = "test-secret-key-0123456789abcdef"
SITE = "https://winkel.example.nl"


def keys(token: str, **changes: Any) -> dict[str, Any]:
    body = {
        "key_id": 12,
        "user_id": token,
        "consumer_key": "ck_" + "a" * 40,
        "consumer_secret": "cs_" + "b" * 40,
        "key_permissions": "read_write",
    }
    body.update(changes)
    return body


@pytest.fixture
def services(db_url: str, engine: Engine, now: datetime) -> Services:
    return Services.build(make_settings(db_url), engine=engine, clock=lambda: now)


@pytest.fixture
def web(services: Services) -> FlaskClient:
    return create_app(services).test_client()


def shop_row(services: Services, shop_id: str) -> ShopRow | None:
    with services.sessions() as session:
        return session.get(ShopRow, shop_id)


# --- the pieces ----------------------------------------------------------------------------------


def test_authorize_url_names_everything_woocommerce_needs(now: datetime) -> None:
    token = connect_token(SECRET_KEY, "winkel-example-nl", SITE, now)
    url = authorize_url(SITE, token=token, return_url="https://oc.example/r", callback_url="https://oc.example/c")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://winkel.example.nl/wc-auth/v1/authorize"
    assert parse_qs(parts.query) == {
        "app_name": ["ordercare"],
        "scope": ["read_write"],
        "user_id": [token],
        "return_url": ["https://oc.example/r"],
        "callback_url": ["https://oc.example/c"],
    }


def test_shop_id_from_the_site() -> None:
    assert shop_id_for("https://www.Winkel.example.nl/") == "winkel-example-nl"
    assert shop_id_for("https://example.nl/shop/") == "example-nl-shop"


def test_token_round_trip_and_expiry(now: datetime) -> None:
    token = connect_token(SECRET_KEY, "winkel-example-nl", SITE, now, nonce="n1")
    request = read_token(SECRET_KEY, token, now + timedelta(hours=2) - timedelta(seconds=1))
    assert (request.shop_id, request.site_url, request.nonce) == (
        "winkel-example-nl",
        "https://winkel.example.nl/",
        "n1",
    )
    with pytest.raises(ConnectError, match="expired"):
        read_token(SECRET_KEY, token, now + timedelta(hours=2))
    with pytest.raises(ConnectError, match="user_id: not signed"):
        read_token("another-secret-key-0123456789ab", token, now)
    with pytest.raises(ConnectError, match="user_id: not signed"):
        read_token(SECRET_KEY, token[:-2] + "xx", now)


def test_good_keys_are_stored_sealed(services: Services, now: datetime) -> None:
    token = connect_token(SECRET_KEY, "winkel-example-nl", SITE, now)
    with transaction(services.sessions) as session:
        assert accept_keys(session, keys(token), secret_key=SECRET_KEY, now=now) == "winkel-example-nl"
    row = shop_row(services, "winkel-example-nl")
    assert row is not None
    assert row.credentials is not None
    assert (row.platform, row.key, row.source, row.status) == ("woocommerce", SITE + "/", "installed", "active")
    assert "ck_" not in row.credentials
    assert "cs_" not in row.credentials
    sealed = SecretBox(SECRET_KEY).open(row.credentials)
    assert (sealed["consumer_key"], sealed["consumer_secret"], sealed["key_id"]) == (
        "ck_" + "a" * 40,
        "cs_" + "b" * 40,
        12,
    )
    assert len(sealed["webhook_secret"]) == 48
    shop = services.shops.by_key("woocommerce", SITE + "/")
    assert shop is not None
    assert shop.webhook_secrets == (sealed["webhook_secret"],)
    assert shop.credentials["consumer_key"] == "ck_" + "a" * 40


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"user_id": "forged"}, "user_id"),
        ({"key_permissions": "read"}, "key_permissions"),
        ({"consumer_key": "x"}, "consumer_key"),
        ({"consumer_secret": None}, "consumer_secret"),
        ({"key_id": "12"}, "key_id"),
    ],
)
def test_bad_callbacks_store_nothing(services: Services, now: datetime, changes: dict[str, Any], field: str) -> None:
    token = connect_token(SECRET_KEY, "winkel-example-nl", SITE, now)
    with pytest.raises(ConnectError) as error, transaction(services.sessions) as session:
        accept_keys(session, keys(token, **changes), secret_key=SECRET_KEY, now=now)
    assert str(error.value).startswith(f"{field}:")
    assert shop_row(services, "winkel-example-nl") is None


def test_a_connect_link_works_once_and_config_shops_are_not_overwritten(services: Services, now: datetime) -> None:
    token = connect_token(SECRET_KEY, "winkel-example-nl", SITE, now)
    with transaction(services.sessions) as session:
        accept_keys(session, keys(token), secret_key=SECRET_KEY, now=now)
    with pytest.raises(ConnectError, match="already used"), transaction(services.sessions) as session:
        accept_keys(session, keys(token, consumer_key="ck_" + "c" * 40), secret_key=SECRET_KEY, now=now)
    config = connect_token(SECRET_KEY, "theewinkel", "https://elders.example.nl", now)
    with pytest.raises(ConnectError, match="config file"), transaction(services.sessions) as session:
        accept_keys(session, keys(config), secret_key=SECRET_KEY, now=now)
    sealed = SecretBox(SECRET_KEY).open(shop_row(services, "winkel-example-nl").credentials)  # type: ignore[union-attr,arg-type]
    assert sealed["consumer_key"] == "ck_" + "a" * 40


# --- the routes ----------------------------------------------------------------------------------


def test_start_shows_a_form_then_redirects_to_the_shop(web: FlaskClient) -> None:
    form = web.get("/woocommerce/connect")
    assert form.status_code == 200
    assert b'<label for="url">' in form.data
    bad = web.get("/woocommerce/connect?url=javascript:alert(1)")
    assert bad.status_code == 400
    answer = web.get("/woocommerce/connect?url=https://winkel.example.nl")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert (target.netloc, target.path) == ("winkel.example.nl", "/wc-auth/v1/authorize")
    query = parse_qs(target.query)
    assert query["callback_url"] == ["http://127.0.0.1:8000/woocommerce/connect/callback"]
    assert query["return_url"] == ["http://127.0.0.1:8000/woocommerce/connect/return"]


def test_callback_route_answers_exactly_200_or_400(web: FlaskClient, services: Services, now: datetime) -> None:
    forged = web.post("/woocommerce/connect/callback", json=keys("forged"))
    assert (forged.status_code, forged.data) == (400, b"user_id: not signed by this service")
    assert web.post("/woocommerce/connect/callback", data=b"{not json").status_code == 400
    assert shop_row(services, "winkel-example-nl") is None
    token = connect_token(SECRET_KEY, "winkel-example-nl", SITE, now)
    body = json.dumps(keys(token)).encode()
    good = web.post("/woocommerce/connect/callback", data=body, content_type="application/json;charset=UTF-8")
    assert (good.status_code, good.data) == (200, b"ok")
    assert shop_row(services, "winkel-example-nl") is not None


def test_return_without_success_connects_nothing(web: FlaskClient) -> None:
    answer = web.get("/woocommerce/connect/return?success=0&user_id=x")
    assert answer.status_code == 200
    assert b"Not connected" in answer.data


# --- the round trip against the sandbox site -----------------------------------------------------


class Router:
    def __init__(self) -> None:
        self.target: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.target(environ, start_response)


@pytest.fixture
def running(db_url: str, engine: Engine, now: datetime) -> Iterator[tuple[Services, str, WooSandbox]]:
    router = Router()
    with BackgroundServer(router) as ours:
        services = Services.build(make_settings(db_url, public_url=ours.url), engine=engine, clock=lambda: now)
        router.target = create_app(services)
        site = WooSandbox(clock=lambda: now)
        with site.serve():
            yield services, ours.url, site


def test_connect_round_trip_creates_keys_and_webhooks(running: tuple[Services, str, WooSandbox]) -> None:
    services, ours, site = running
    session = requests.Session()
    answer = session.get(f"{ours}/woocommerce/connect", params={"url": site.site_url}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert "Connected" in answer.text
    shop_id = shop_id_for(site.site_url)
    shop = services.shops.get(shop_id)
    assert shop is not None
    assert shop.source == "installed"
    assert shop.credentials["consumer_key"] in site.keys
    assert site.counters["keys_issued"] == 1
    hooks = sorted(site.webhooks.values(), key=lambda h: h["topic"])
    assert [(h["topic"], h["delivery_url"]) for h in hooks] == [
        (topic, f"{ours}/webhooks/woocommerce")
        for topic in ("order.created", "order.deleted", "order.restored", "order.updated")
    ]
    # each webhook has a secret of its own, generated and kept by ordercare, accepted after the shop's own
    secrets = [h["secret"] for h in site.webhooks.values()]
    assert len(set(secrets)) == 4
    shop = services.shops.get(shop_id)
    assert shop is not None
    assert shop.webhook_secrets[1:] == tuple(secrets)
    assert shop.webhook_secrets[0] not in secrets


def test_connect_refused_callback_deletes_the_keys(running: tuple[Services, str, WooSandbox], now: datetime) -> None:
    services, ours, site = running
    forged = authorize_url(
        site.site_url,
        token="forged",
        return_url=f"{ours}/woocommerce/connect/return",
        callback_url=f"{ours}/woocommerce/connect/callback",
    )
    answer = requests.get(forged, timeout=10, allow_redirects=False)
    assert answer.status_code == 401
    assert site.counters["keys_rejected"] == 1
    assert list(site.keys) == [site.consumer_key]
    with services.sessions() as session:
        assert session.scalars(select(ShopRow).where(ShopRow.source == "installed")).all() == []
