"""Webhooks that keep working (issue 14, item 4), against the sandbox shop.

WooCommerce disables a webhook on the 7th failed delivery in a row and keeps its ``failure_count`` when it is
re-enabled (../shared/platforms/woocommerce.md §1.7), so a re-enabled webhook is disabled again by the next
failure; and it never returns a webhook's secret over REST. ordercare re-enables a disabled webhook once;
disabled again after that, it is replaced: created anew with a fresh secret that ordercare keeps sealed and
accepts for the shop's deliveries, and the old one deleted.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from connector.platforms.woocommerce.client import WooCommerceClient
from connector.reconcile import reconcile_shop
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.store.tables import ShopRow
from tests.conftest import WOO_SECRET, fixture_json, make_settings
from webhooks import create_app

from .support import delivery

SHOP_ID = "theewinkel"
CALLBACK = "http://127.0.0.1:9/webhooks/woocommerce"  # public_url below: nothing listens, every delivery fails
TOPIC = "order.created"


@pytest.fixture
def services(db_url: str, engine: Engine, now: datetime) -> Services:
    return Services.build(make_settings(db_url, public_url="http://127.0.0.1:9"), engine=engine, clock=lambda: now)


@pytest.fixture
def site(now: datetime) -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=lambda: now, ping_on_create=False, delivery_timeout=2)
    with sandbox.serve():
        yield sandbox


@pytest.fixture
def client(services: Services, site: WooSandbox, now: datetime) -> Iterator[WooCommerceClient]:
    shop = services.shops.get(SHOP_ID)
    assert shop is not None
    assert shop.webhook_keys is not None
    shop = dataclasses.replace(
        shop,
        api_base_url=site.site_url,
        credentials={"consumer_key": site.consumer_key, "consumer_secret": site.consumer_secret},
    )
    client = WooCommerceClient(shop, timeout=5, clock=lambda: now)
    yield client
    client.close()


def hook_of(site: WooSandbox, topic: str = TOPIC) -> dict[str, Any]:
    return next(h for h in site.webhooks.values() if h["topic"] == topic)


def fail_until_disabled(site: WooSandbox, topic: str = TOPIC) -> int:
    """Orders whose ``topic`` delivery fails, until WooCommerce disables that webhook: the failures it took."""
    for failures in range(1, 20):
        site.create_order()
        site.deliver_pending()
        if hook_of(site, topic)["status"] == "disabled":
            return failures
    raise AssertionError("the webhook was never disabled")


def api(site: WooSandbox, path: str) -> Any:
    answer = requests.get(
        f"{site.site_url}/wp-json/wc/v3/{path}", auth=(site.consumer_key, site.consumer_secret), timeout=5
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- the sandbox as WooCommerce ------------------------------------------------------------------


def test_the_rest_api_never_shows_a_webhook_secret(site: WooSandbox, client: WooCommerceClient) -> None:
    client.ensure_webhooks(CALLBACK)
    listed = api(site, "webhooks")
    assert len(listed) == 4
    assert all("secret" not in h for h in listed)
    assert "secret" not in api(site, f"webhooks/{listed[0]['id']}")
    assert hook_of(site)["secret"] == WOO_SECRET  # it has one: it just never says


def test_a_reenabled_webhook_keeps_its_failure_count_so_one_failure_disables_it_again(
    site: WooSandbox, client: WooCommerceClient
) -> None:
    client.ensure_webhooks(CALLBACK)
    assert fail_until_disabled(site) == 7
    answer = requests.put(
        f"{site.site_url}/wp-json/wc/v3/webhooks/{hook_of(site)['id']}",
        json={"status": "active"},
        auth=(site.consumer_key, site.consumer_secret),
        timeout=5,
    )
    assert answer.json()["status"] == "active"
    assert answer.json()["failure_count"] == 6
    assert fail_until_disabled(site) == 1


# --- ensure_webhooks ------------------------------------------------------------------------------


def test_nothing_is_replaced_while_all_are_active(
    services: Services, site: WooSandbox, client: WooCommerceClient
) -> None:
    assert len(client.ensure_webhooks(CALLBACK)) == 4
    assert client.ensure_webhooks(CALLBACK) == []
    assert site.counters["webhooks_created"] == 4
    assert site.counters["webhooks_deleted"] == 0
    with services.sessions() as session:
        row = session.get(ShopRow, SHOP_ID)
        assert row is not None
        assert row.webhook_keys is None


def test_a_webhook_disabled_the_first_time_is_reenabled(site: WooSandbox, client: WooCommerceClient) -> None:
    client.ensure_webhooks(CALLBACK)
    fail_until_disabled(site)
    hook = hook_of(site)
    assert client.ensure_webhooks(CALLBACK) == [f"re-enabled {TOPIC} (webhook {hook['id']})"]
    assert hook["status"] == "active"
    assert (site.counters["webhooks_created"], site.counters["webhooks_deleted"]) == (4, 0)
    assert client.ensure_webhooks(CALLBACK) == []  # active again: left alone


def test_a_delivery_after_the_reenable_makes_the_next_disable_a_first_one(
    site: WooSandbox, client: WooCommerceClient
) -> None:
    client.ensure_webhooks(CALLBACK)
    fail_until_disabled(site)
    client.ensure_webhooks(CALLBACK)
    hook_of(site)["failure_count"] = 0  # as WooCommerce after a delivery that succeeded
    assert client.ensure_webhooks(CALLBACK) == []  # seen working again
    assert fail_until_disabled(site) == 7
    assert client.ensure_webhooks(CALLBACK) == [f"re-enabled {TOPIC} (webhook {hook_of(site)['id']})"]


def test_a_webhook_disabled_again_after_the_reenable_is_replaced_with_a_fresh_secret_ordercare_accepts(
    services: Services, site: WooSandbox, client: WooCommerceClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.ensure_webhooks(CALLBACK)
    fail_until_disabled(site)
    old = hook_of(site)
    assert client.ensure_webhooks(CALLBACK) == [f"re-enabled {TOPIC} (webhook {old['id']})"]
    assert fail_until_disabled(site) == 1

    caplog.set_level(logging.WARNING)
    report = reconcile_shop(services, client.shop, client, "test-worker")
    assert report.error is None
    assert (report.webhooks_changed, report.webhooks_replaced) == (1, 1)
    new = hook_of(site)
    assert old["id"] not in site.webhooks
    assert (new["status"], new["delivery_url"], new["failure_count"]) == ("active", CALLBACK, 0)
    fresh = new["secret"]
    assert fresh != WOO_SECRET
    assert len(fresh) >= 32
    assert (site.counters["webhooks_created"], site.counters["webhooks_deleted"]) == (5, 1)
    warnings = [r for r in caplog.records if r.name.endswith("woocommerce.client") and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert SHOP_ID in warnings[0].getMessage()
    assert TOPIC in warnings[0].getMessage()
    assert fresh not in caplog.text

    with services.sessions() as session:  # kept sealed
        row = session.get(ShopRow, SHOP_ID)
        assert row is not None
        assert row.webhook_keys
        assert fresh not in row.webhook_keys
    shop = services.shops.get(SHOP_ID)
    assert shop is not None
    assert shop.webhook_secrets == (WOO_SECRET, fresh)

    web = create_app(services).test_client()
    body = fixture_json("woocommerce/order_updated__nl_split_address.json")
    headers, raw = delivery(TOPIC, body, secret=fresh)
    assert web.post("/webhooks/woocommerce", data=raw, headers=headers).status_code == 200
    headers, raw = delivery(TOPIC, body, secret="forged-" + fresh)
    assert web.post("/webhooks/woocommerce", data=raw, headers=headers).status_code == 401

    assert client.ensure_webhooks(CALLBACK) == []  # the new one is active: nothing more
    site.webhooks.pop(new["id"])  # deleted in the shop: its secret is no longer accepted
    client.ensure_webhooks(CALLBACK)
    shop = services.shops.get(SHOP_ID)
    assert shop is not None
    assert fresh not in shop.webhook_secrets
