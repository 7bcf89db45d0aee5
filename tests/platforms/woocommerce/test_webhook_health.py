"""Webhooks that keep working (issue 14, item 4), against the sandbox shop.

WooCommerce disables a webhook on the 7th failed delivery in a row and keeps its ``failure_count`` when it is
re-enabled (../shared/platforms/woocommerce.md §1.7), so a re-enabled webhook is disabled again by the next
failure; and it never returns a webhook's secret over REST. Every webhook ordercare creates gets a fresh secret
that ordercare keeps sealed and accepts for the shop's deliveries. A disabled webhook is re-enabled once; disabled
again after that, or failing the signature check, it is replaced (created anew with a fresh secret, the old one
deleted), once: a replacement in the same trouble is reported, not replaced again. A create whose answer was lost
is found and adopted, never made twice.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
import requests

from connector.platforms.base import RetryableError
from connector.platforms.woocommerce.client import WooCommerceClient
from connector.reconcile import RECONCILE_ERROR, reconcile_shop
from connector.sandbox.woocommerce import Faults, WooSandbox
from connector.services import Services
from connector.shops import WebhookState
from connector.store.tables import ShopRow
from tests.conftest import WOO_SECRET
from webhooks import create_app

from . import webhook_fixtures
from .webhook_fixtures import CALLBACK, SHOP_ID, TOPIC, Clock, signed_post

clock, services, site, client = (
    webhook_fixtures.clock,
    webhook_fixtures.services,
    webhook_fixtures.site,
    webhook_fixtures.client,
)


def state(services: Services) -> WebhookState:
    shop = services.shops.get(SHOP_ID)
    assert shop is not None
    assert shop.webhook_keys is not None
    return WebhookState.of(shop.webhook_keys.load())


def accepted(services: Services) -> tuple[str, ...]:
    shop = services.shops.get(SHOP_ID)
    assert shop is not None
    return shop.webhook_secrets


def post_signed(services: Services, secret: str, webhook_id: int | str, topic: str = TOPIC) -> int:
    return signed_post(create_app(services).test_client(), secret, webhook_id, topic)


def client_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name.endswith("woocommerce.client") and r.levelno == logging.WARNING
    ]


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


def test_the_rest_api_never_shows_a_webhook_secret(
    services: Services, site: WooSandbox, client: WooCommerceClient
) -> None:
    client.ensure_webhooks(CALLBACK)
    listed = api(site, "webhooks")
    assert len(listed) == 4
    assert all("secret" not in h for h in listed)
    assert "secret" not in api(site, f"webhooks/{listed[0]['id']}")
    hook = hook_of(site)
    assert hook["secret"] == state(services).secrets[str(hook["id"])]  # it has one: it just never says


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


# --- every webhook with a secret of its own ---------------------------------------------------------


def test_every_webhook_ordercare_creates_has_a_fresh_secret_kept_sealed_and_accepted(
    services: Services, site: WooSandbox, client: WooCommerceClient
) -> None:
    created = client.ensure_webhooks(CALLBACK)
    assert [c.split(" (")[0] for c in created] == [
        f"created order.{e}" for e in ("created", "updated", "deleted", "restored")
    ]
    hooks = list(site.webhooks.values())
    secrets = [h["secret"] for h in hooks]
    assert len(set(secrets)) == 4
    assert all(len(secret) >= 32 and secret != WOO_SECRET for secret in secrets)
    assert all(h["name"] == f"ordercare {h['topic']}" for h in hooks)
    assert state(services).secrets == {str(h["id"]): h["secret"] for h in hooks}
    assert state(services).pending == {}
    with services.sessions() as session:  # sealed: no secret in the row as stored
        row = session.get(ShopRow, SHOP_ID)
        assert row is not None
        assert row.webhook_keys
        assert not any(secret in row.webhook_keys for secret in secrets)
    assert accepted(services) == (WOO_SECRET, *secrets)  # the configured one stays: webhooks made by hand
    assert post_signed(services, hooks[1]["secret"], hooks[1]["id"], "order.updated") == 200
    assert post_signed(services, WOO_SECRET, 99) == 200
    assert post_signed(services, "not-one-of-them", hooks[1]["id"]) == 401


def test_nothing_changes_while_all_are_active(services: Services, site: WooSandbox, client: WooCommerceClient) -> None:
    assert len(client.ensure_webhooks(CALLBACK)) == 4
    kept = state(services).secrets
    assert client.ensure_webhooks(CALLBACK) == []
    assert site.counters["webhooks_created"] == 4
    assert site.counters["webhooks_deleted"] == 0
    assert state(services).secrets == kept


def test_without_a_key_store_webhooks_get_the_configured_secret(site: WooSandbox, client: WooCommerceClient) -> None:
    bare = WooCommerceClient(dataclasses.replace(client.shop, webhook_keys=None), timeout=5, clock=client._clock)
    assert len(bare.ensure_webhooks(CALLBACK)) == 4
    assert {h["secret"] for h in site.webhooks.values()} == {WOO_SECRET}
    bare.close()


# --- disabled ------------------------------------------------------------------------------------


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
    services: Services, site: WooSandbox, client: WooCommerceClient, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    client.ensure_webhooks(CALLBACK)
    fail_until_disabled(site)
    old = hook_of(site)
    old_secret = old["secret"]
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
    assert fresh not in (WOO_SECRET, old_secret)
    assert len(fresh) >= 32
    assert (site.counters["webhooks_created"], site.counters["webhooks_deleted"]) == (5, 1)
    [warning] = client_warnings(caplog)
    assert SHOP_ID in warning
    assert TOPIC in warning
    assert "disabled again after a re-enable" in warning
    assert fresh not in caplog.text
    kept = state(services)
    assert kept.replaced == {
        str(new["id"]): {"old": str(old["id"]), "topic": TOPIC, "at": clock.now.isoformat(), "why": "disabled"}
    }

    assert fresh in accepted(services)
    assert old_secret not in accepted(services)
    assert post_signed(services, fresh, new["id"]) == 200
    assert post_signed(services, "forged-" + fresh, new["id"]) == 401

    assert client.ensure_webhooks(CALLBACK) == []  # the new one is active: nothing more
    site.webhooks.pop(new["id"])  # deleted in the shop: its secret is no longer accepted
    client.ensure_webhooks(CALLBACK)
    assert fresh not in accepted(services)


def test_a_replacement_disabled_again_after_its_reenable_is_reported_and_left_alone(
    services: Services, site: WooSandbox, client: WooCommerceClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.ensure_webhooks(CALLBACK)
    fail_until_disabled(site)
    client.ensure_webhooks(CALLBACK)  # re-enabled
    fail_until_disabled(site)
    client.ensure_webhooks(CALLBACK)  # replaced
    replacement = hook_of(site)
    fail_until_disabled(site)
    assert client.ensure_webhooks(CALLBACK) == [f"re-enabled {TOPIC} (webhook {replacement['id']})"]
    assert fail_until_disabled(site) == 1
    caplog.set_level(logging.WARNING)
    caplog.clear()
    for _ in range(3):  # never a loop: no re-enable, no replacement, one warning
        assert client.ensure_webhooks(CALLBACK) == []
    assert hook_of(site)["status"] == "disabled"
    assert (site.counters["webhooks_created"], site.counters["webhooks_deleted"]) == (5, 1)
    assert site.counters["webhooks_reenabled"] == 2
    [warning] = client_warnings(caplog)
    assert f"webhook {replacement['id']} ({TOPIC}) of shop {SHOP_ID} keeps failing (still disabled)" in warning
    assert state(services).reported[str(replacement["id"])]["why"] == "still_disabled"


# --- signature failures --------------------------------------------------------------------------


def test_signature_failures_below_the_threshold_change_nothing(
    services: Services, site: WooSandbox, client: WooCommerceClient, clock: Clock
) -> None:
    client.ensure_webhooks(CALLBACK)
    hook = hook_of(site)
    clock.tick()
    for _ in range(2):
        assert post_signed(services, "a-secret-from-elsewhere", hook["id"]) == 401
    clock.tick()
    assert client.ensure_webhooks(CALLBACK) == []
    assert (site.counters["webhooks_created"], site.counters["webhooks_deleted"]) == (4, 0)
    assert state(services).reported == {}


def test_deliveries_failing_the_signature_check_get_their_webhook_replaced_once_then_reported(
    services: Services, site: WooSandbox, client: WooCommerceClient, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    client.ensure_webhooks(CALLBACK)
    old = hook_of(site)
    old["secret"] = "changed-in-the-wordpress-admin"  # WooCommerce now signs with a secret ordercare cannot know
    clock.tick()
    site.create_order()
    for _ in range(3):
        assert post_signed(services, old["secret"], old["id"]) == 401
    clock.tick()
    caplog.set_level(logging.WARNING)
    report = reconcile_shop(services, client.shop, client, "test-worker")
    assert report.error is None
    assert (report.webhooks_changed, report.webhooks_replaced) == (1, 1)
    new = hook_of(site)
    assert old["id"] not in site.webhooks
    assert new["secret"] == state(services).secrets[str(new["id"])]
    [warning] = client_warnings(caplog)
    assert f"replaced webhook {TOPIC} of shop {SHOP_ID} (webhook {old['id']} by {new['id']})" in warning
    assert "3 deliveries failed the signature check" in warning
    assert state(services).replaced[str(new["id"])]["why"] == "signature"
    assert post_signed(services, new["secret"], new["id"]) == 200

    # the same failures are not counted twice: the next run leaves the replacement alone
    clock.tick()
    assert client.ensure_webhooks(CALLBACK) == []
    assert state(services).reported == {}
    # the replacement fails too (something between the shop and ordercare): reported, not replaced again
    caplog.clear()
    for _ in range(3):
        clock.tick()
        for _ in range(3):
            assert post_signed(services, "still-wrong", new["id"]) == 401
        clock.tick()
        assert client.ensure_webhooks(CALLBACK) == []
    assert (site.counters["webhooks_created"], site.counters["webhooks_deleted"]) == (5, 1)
    [warning] = client_warnings(caplog)
    assert "keeps failing (still signature)" in warning
    assert state(services).reported[str(new["id"])]["why"] == "still_signature"


def test_a_webhook_made_by_hand_failing_the_signature_check_is_reported_never_deleted(
    services: Services, site: WooSandbox, client: WooCommerceClient, clock: Clock
) -> None:
    theirs = site.add_webhook(TOPIC, CALLBACK, secret="the-merchants-own")  # named "Webhook order.created"
    client.ensure_webhooks(CALLBACK)
    assert sorted(h["topic"] for h in site.webhooks.values()).count(TOPIC) == 1  # theirs serves the topic
    clock.tick()
    for _ in range(3):
        assert post_signed(services, "the-merchants-own", theirs) == 401
    clock.tick()
    assert client.ensure_webhooks(CALLBACK) == []
    assert theirs in site.webhooks
    assert site.counters["webhooks_deleted"] == 0
    assert state(services).reported[str(theirs)]["why"] == "not_ours_signature"


# --- a create whose answer was lost ---------------------------------------------------------------


def test_a_create_whose_answer_is_lost_is_found_again_not_made_twice(
    services: Services, site: WooSandbox, client: WooCommerceClient
) -> None:
    site.faults = Faults(lost_webhook_answers=1)
    created = client.ensure_webhooks(CALLBACK)
    assert site.counters["faults_lost_answer"] == 1
    assert len(created) == 4
    assert len(site.webhooks) == 4
    assert {h["topic"] for h in site.webhooks.values()} == {
        "order.created",
        "order.updated",
        "order.deleted",
        "order.restored",
    }
    assert state(services).secrets == {str(h["id"]): h["secret"] for h in site.webhooks.values()}
    assert state(services).pending == {}


def test_a_lost_create_answer_with_the_shop_down_is_adopted_on_the_next_run(
    services: Services, site: WooSandbox, client: WooCommerceClient, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    site.faults = Faults(lost_webhook_answers=1, outage_after_lost_answer=1)
    report = reconcile_shop(services, client.shop, client, "test-worker")
    assert report.error is not None
    assert "500" in report.error
    with services.sessions() as session:
        row = session.get(ShopRow, SHOP_ID)
        assert row is not None
        assert row.settings[RECONCILE_ERROR] == report.error
    [hook] = site.webhooks.values()  # WooCommerce made it; ordercare never heard back
    assert hook["topic"] == TOPIC
    assert state(services).pending == {TOPIC: hook["secret"]}
    assert post_signed(services, hook["secret"], hook["id"]) == 200  # its deliveries are accepted meanwhile

    clock.tick()
    caplog.set_level(logging.WARNING)
    report = reconcile_shop(services, client.shop, client, "test-worker")
    assert report.error is None
    assert report.webhooks_changed == 4
    assert len(site.webhooks) == 4
    assert site.counters["webhooks_created"] == 4
    assert [w for w in client_warnings(caplog) if "adopted" in w] == [
        f"adopted webhook {hook['id']} ({TOPIC}) of shop {SHOP_ID}: "
        "created by ordercare, the answer to the create was lost"
    ]
    assert state(services).secrets[str(hook["id"])] == hook["secret"]
    assert state(services).pending == {}
    with services.sessions() as session:
        row = session.get(ShopRow, SHOP_ID)
        assert row is not None
        assert row.settings[RECONCILE_ERROR] is None


def test_a_lost_create_whose_webhook_is_gone_is_made_again_with_a_new_secret(
    services: Services, site: WooSandbox, client: WooCommerceClient, clock: Clock
) -> None:
    site.faults = Faults(lost_webhook_answers=1, outage_after_lost_answer=1)
    with pytest.raises(RetryableError):
        client.ensure_webhooks(CALLBACK)
    [lost_id] = site.webhooks
    lost = state(services).pending[TOPIC]
    assert lost in accepted(services)
    site.webhooks.pop(lost_id)  # deleted in the shop before ordercare heard of it
    clock.tick()
    assert len(client.ensure_webhooks(CALLBACK)) == 4
    assert len(site.webhooks) == 4
    assert hook_of(site)["secret"] != lost
    assert lost not in accepted(services)
    assert state(services).pending == {}


def test_two_webhooks_of_ours_for_one_topic_become_one(
    services: Services, site: WooSandbox, client: WooCommerceClient
) -> None:
    client.ensure_webhooks(CALLBACK)
    extra = site.add_webhook(TOPIC, CALLBACK)
    site.webhooks[extra]["name"] = f"ordercare {TOPIC}"  # made by an older ordercare, or a second install
    assert client.ensure_webhooks(CALLBACK) == [f"removed {TOPIC} (webhook {extra}: a second one of ours)"]
    assert extra not in site.webhooks
    assert [h["topic"] for h in site.webhooks.values()].count(TOPIC) == 1
