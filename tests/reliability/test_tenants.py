"""Tenants: one shop's webhook secret authenticates only that shop's data; a fix link names exactly one
order; installed shops' access tokens and consumer secrets are encrypted at rest (searched for in a full
dump of the database and in the raw SQLite file) and never written to a log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from connector import codec
from connector.address import fixlinks
from connector.crypto import SecretBox
from connector.logs import JsonFormatter
from connector.platforms.shopify.adapter import sign as shopify_sign
from connector.platforms.shopify.install import TokenSet, store_installation
from connector.platforms.woocommerce.install import connect_token
from connector.sandbox.shopify import ShopifySandbox
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import FixToken, OrderRow, ShopRow
from tests.conftest import SHOPIFY_SECRET, WOO_SECRET, make_settings
from tests.reliability.support import Clock, dump_database, sqlite_file_bytes, woo_headers
from webhooks import create_app
from webhooks.fix import LOOKUP_EXTENSION

OTHER_SECRET = "shpss_other_shop_secret_987654321"
OTHER_DOMAIN = "ander-test.myshopify.com"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def web(db_url: str, engine: Engine) -> Iterator[tuple[FlaskClient, Services, list[str]]]:
    shops = [shop.model_dump(exclude_none=True) for shop in make_settings(db_url).shops]
    shops.append(
        {
            "id": "ander",
            "platform": "shopify",
            "shop_domain": OTHER_DOMAIN,
            "access_token": "shpat_other_shop_token",
            "webhook_secret": OTHER_SECRET,
        }
    )
    services = Services.build(make_settings(db_url, shops=shops), engine=engine, clock=Clock(NOW))
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    handler = Capture(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        app = create_app(services)
        app.extensions[LOOKUP_EXTENSION] = None  # no postcode register over the network
        yield app.test_client(), services, lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def shopify_delivery(order: dict[str, object], domain: str, secret: str, webhook_id: str) -> dict[str, object]:
    body = json.dumps(order).encode()
    headers = {
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Hmac-Sha256": shopify_sign(body, secret),
        "X-Shopify-Webhook-Id": webhook_id,
    }
    return {"data": body, "headers": headers}


def stored(services: Services) -> dict[tuple[str, str], dict[str, object]]:
    with services.sessions() as session:
        return {(r.shop_id, r.external_id): r.data for r in session.scalars(select(OrderRow))}


def test_one_shops_secret_cannot_create_or_change_another_shops_orders(
    web: tuple[FlaskClient, Services, list[str]],
) -> None:
    client, services, _ = web
    sandbox = ShopifySandbox(clock=lambda: NOW)
    order = sandbox.add_shop(OTHER_DOMAIN, OTHER_SECRET).create_order(id=1001, note="van ander")
    assert (
        client.post("/webhooks/shopify", **shopify_delivery(order, OTHER_DOMAIN, OTHER_SECRET, "w1")).status_code == 200
    )
    before = stored(services)
    assert set(before) == {("ander", "1001")}

    changed = {**order, "note": "overgenomen", "updated_at": "2026-11-24T11:00:00+01:00"}
    new = {**order, "id": 2002, "name": "#2002"}
    attempts = [
        # shop A ("fietsen") signs a delivery that names shop B's domain: refused, B untouched
        ("/webhooks/shopify", shopify_delivery(changed, OTHER_DOMAIN, SHOPIFY_SECRET, "w2")),
        ("/webhooks/shopify", shopify_delivery(new, OTHER_DOMAIN, SHOPIFY_SECRET, "w3")),
        # the WooCommerce shop's secret on a delivery for the Shopify shop
        ("/webhooks/shopify", shopify_delivery(changed, OTHER_DOMAIN, WOO_SECRET, "w4")),
    ]
    body = json.dumps({"id": 1001, "status": "cancelled", "date_modified_gmt": "2026-11-24T12:00:00"}).encode()
    woo = woo_headers("order.updated", body, SHOPIFY_SECRET, "d1")  # right site, another shop's secret
    attempts.append(("/webhooks/woocommerce", {"data": body, "headers": woo}))
    statuses = [client.post(path, **kwargs).status_code for path, kwargs in attempts]
    # with its own secret and domain, shop A's delivery of the same order id lands in A's own row
    own = client.post(
        "/webhooks/shopify", **shopify_delivery(changed, "fietsen-test.myshopify.com", SHOPIFY_SECRET, "w5")
    )
    after = stored(services)
    print(f"\ntenants: cross-shop deliveries answered {statuses}; own-shop delivery {own.status_code}")
    assert statuses == [401, 401, 401, 401]
    assert own.status_code == 200
    assert after[("ander", "1001")] == before[("ander", "1001")]
    assert set(after) == {("ander", "1001"), ("fietsen", "1001")}
    assert codec.load_order(after[("fietsen", "1001")]).note == "overgenomen"


def test_a_fix_link_names_exactly_one_order(web: tuple[FlaskClient, Services, list[str]]) -> None:
    client, services, _ = web
    sandbox = ShopifySandbox(clock=lambda: NOW)
    for number, (domain, secret) in enumerate(
        ((OTHER_DOMAIN, OTHER_SECRET), ("fietsen-test.myshopify.com", SHOPIFY_SECRET))
    ):
        order = sandbox.add_shop(domain, secret).create_order(id=3000 + number, name=f"#A{number}")
        assert (
            client.post("/webhooks/shopify", **shopify_delivery(order, domain, secret, f"f{number}")).status_code == 200
        )
    secret_key = services.settings.secret_key
    with transaction(services.sessions) as session:
        rows = {r.shop_id: r for r in session.scalars(select(OrderRow))}
        for shop_id, token_id in (("ander", "tok-ander"), ("fietsen", "tok-fietsen")):
            fixlinks.issue(session, token_id=token_id, shop_id=shop_id, order_id=rows[shop_id].id, incident_id=None,
                           now=NOW, valid_days=7)  # fmt: skip
    before = stored(services)
    mine = fixlinks.sign(secret_key, "tok-ander")
    page = client.get(f"/fix/{mine}")
    # a link re-pointed at the other order's token (same signature), or signed with another key, is refused
    other = fixlinks.sign(secret_key, "tok-fietsen")
    repointed = other.rsplit(".", 1)[0] + "." + mine.rsplit(".", 1)[1]  # the other token id, this link's signature
    assert repointed not in (mine, other)
    forged = fixlinks.sign("another-service-secret-key-000", "tok-fietsen")
    refused = [client.get(f"/fix/{link}").status_code for link in (repointed, forged)]
    posted = client.post(f"/fix/{repointed}", data={"postcode": "1234AB", "house_number": "9", "order_id": "3001"})
    # the valid link with another order's number in the form still acts on its own order only (no CSRF cookie)
    own = client.post(f"/fix/{mine}", data={"postcode": "1234AB", "house_number": "9", "order_id": "3001"})
    print(
        f"\ntenants: fix link for its own order {page.status_code}; re-pointed/forged {refused}; "
        f"posts {posted.status_code}, {own.status_code}"
    )
    assert page.status_code == 200
    assert "#A0" in page.get_data(as_text=True)
    assert "#A1" not in page.get_data(as_text=True)
    assert all(status in (400, 403, 404, 410) for status in refused), refused
    assert posted.status_code in (400, 403, 404, 410)
    assert own.status_code in (400, 403)
    assert stored(services) == before
    with services.sessions() as session:
        assert all(t.used_at is None for t in session.scalars(select(FixToken)))


def test_installed_credentials_are_encrypted_at_rest_and_never_logged(
    web: tuple[FlaskClient, Services, list[str]], engine: Engine
) -> None:
    client, services, lines = web
    access_token = "shpat_installed_7f3c9a1b2d4e6f8091a2b3c4d5e6f708"
    refresh_token = "shprt_installed_0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    consumer_key = "ck_installed4f0d1c2b3a4958677a6b5c4d3e2f1a0b9c8d7e"
    consumer_secret = "cs_installed9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"
    with transaction(services.sessions) as session:
        tokens = TokenSet(access_token, "read_orders", NOW + timedelta(hours=1), refresh_token)
        store_installation(session, "geinstalleerd.myshopify.com", tokens, SecretBox(services.settings.secret_key), NOW)
    user_id = connect_token(services.settings.secret_key, "winkel-nl", "https://winkel.example.nl", NOW)
    body = {"key_id": 7, "user_id": user_id, "consumer_key": consumer_key, "consumer_secret": consumer_secret,
            "key_permissions": "read_write"}  # fmt: skip
    answer = client.post("/woocommerce/connect/callback", json=body)
    services.shops.invalidate()
    installed = {s.id: s for s in services.shops.all(active_only=False) if s.source == "installed"}
    dump = dump_database(engine)
    raw = sqlite_file_bytes(engine) if engine.dialect.name == "sqlite" else dump.encode()
    secrets = (access_token, refresh_token, consumer_key, consumer_secret)
    with services.sessions() as session:
        sealed = {r.id: r.credentials for r in session.scalars(select(ShopRow).where(ShopRow.source == "installed"))}
    print(
        f"\ntenants: installed shops {sorted(installed)}; dump {len(dump)} chars, file {len(raw)} bytes "
        f"searched for 4 secrets; {len(lines)} log lines"
    )
    assert answer.status_code == 200
    assert installed["geinstalleerd"].credentials["access_token"] == access_token
    assert installed["winkel-nl"].credentials["consumer_secret"] == consumer_secret
    assert all(value and value.startswith("gAAAAA") for value in sealed.values())  # Fernet tokens
    for secret in secrets:
        assert secret not in dump
        assert secret.encode() not in raw
        assert not [line for line in lines if secret in line]
