"""The dashboard's Shops page: ``GET /admin/shops``, behind the sign-in, in English and Dutch.

The webhook state it shows is made the real way: the WooCommerce client against the sandbox shop, signature
failures through the webhook route, the reconcile job. The page reads the store only.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from flask.testing import FlaskClient

from connector.admin import wording
from connector.platforms.woocommerce.client import WooCommerceClient
from connector.reconcile import reconcile_shop
from connector.sandbox.woocommerce import Faults, WooSandbox
from connector.services import Services
from connector.shops import WebhookState
from tests.admin import builders as b
from tests.admin.web import sign_in
from tests.platforms.woocommerce import webhook_fixtures
from tests.platforms.woocommerce.webhook_fixtures import CALLBACK, SHOP_ID, TOPIC, Clock
from tests.platforms.woocommerce.webhook_fixtures import signed_post as post_signed
from webhooks import create_app

clock, services, site, client = (
    webhook_fixtures.clock,
    webhook_fixtures.services,
    webhook_fixtures.site,
    webhook_fixtures.client,
)
ZONE = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def web(services: Services) -> FlaskClient:
    app = create_app(services)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def anna(services: Services, now: datetime) -> None:
    """Signs in for the WooCommerce shop only."""
    with services.sessions() as session:
        b.account(session, "anna", [SHOP_ID], now)
        session.commit()


def shown(at: datetime, language: str = "en") -> str:
    """A time as the page writes it: in the shop's zone, in the page's language (``di 24 nov 10:45``)."""
    return format_datetime(at, wording.MOMENT, tzinfo=ZONE, locale=language)


def page(web: FlaskClient, **headers: str) -> str:
    lang = headers.pop("lang", None)
    answer = web.get("/admin/shops" + (f"?lang={lang}" if lang else ""), headers=headers)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.get_data(as_text=True)


def test_the_shops_page_needs_a_sign_in(web: FlaskClient) -> None:
    answer = web.get("/admin/shops")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin/login?next=/admin/shops"


def test_the_navigation_links_to_the_shops_page(web: FlaskClient, anna: None) -> None:
    sign_in(web, "anna")
    today = web.get("/admin/?lang=en").get_data(as_text=True)
    assert '<a href="/admin/shops" >Shops</a>' in today
    assert 'href="/admin/shops" aria-current="page">Shops</a>' in page(web, lang="en")


def test_a_shop_not_checked_yet_says_so_and_another_shop_is_not_shown(web: FlaskClient, anna: None) -> None:
    sign_in(web, "anna")
    text = page(web, lang="en")
    assert '<section class="card" id="shop-theewinkel">' in text
    assert "ordercare has not checked this shop's webhooks yet" in text
    assert "Last run: none yet" in text
    assert "Signature failures in the last 7 days: <strong>0</strong>" in text
    assert "fietsen" not in text.lower()


def test_a_replaced_webhook_with_when_and_why_failures_deliveries_and_reconcile(
    services: Services, web: FlaskClient, anna: None, site: WooSandbox, client: WooCommerceClient, clock: Clock
) -> None:
    client.ensure_webhooks(CALLBACK)
    hooks = {h["topic"]: h for h in site.webhooks.values()}
    old = hooks[TOPIC]
    old["secret"] = "changed-in-the-wordpress-admin"
    clock.tick()
    assert post_signed(web, hooks["order.updated"]["secret"], hooks["order.updated"]["id"]) == 200
    delivered_at = clock.now
    clock.tick()
    for _ in range(3):
        assert post_signed(web, old["secret"], old["id"]) == 401
    failed_at = clock.now
    clock.tick()
    report = reconcile_shop(services, client.shop, client, "test-worker")
    assert (report.error, report.webhooks_replaced) == (None, 1)
    new = next(h for h in site.webhooks.values() if h["topic"] == TOPIC)

    sign_in(web, "anna")
    text = page(web, lang="en")
    assert "Webhooks: 4 present, 4 healthy, 1 replaced" in text
    assert f"Replaced webhook {old['id']} on {shown(clock.now)}: deliveries failed the signature check." in text
    assert f"Last delivery stored: {shown(delivered_at)}" in text
    assert f"Signature failures in the last 7 days: <strong>3</strong> (last {shown(failed_at)})" in text
    assert f"Last run: {shown(clock.now)}" in text
    assert "no error" in text
    assert f"webhook {new['id']}: replaced (deliveries failed the signature check)" in text
    assert "its own, kept by ordercare" in text
    assert "A webhook is replaced after 3 deliveries from it fail the signature check." in text
    assert "replaces a broken one once" in text
    for secret in [*WebhookState.of(client.shop.webhook_keys.load()).secrets.values(), old["secret"]]:  # type: ignore[union-attr]
        assert secret not in text

    dutch = page(web, lang="nl")
    assert "Webhooks: 4 aanwezig, 4 in orde, 1 vervangen" in dutch
    assert (
        f"Webhook {old['id']} vervangen op {shown(clock.now, 'nl')}: "
        "leveringen kwamen niet door de handtekeningcontrole." in dutch
    )
    assert "Mislukte handtekeningcontroles in de laatste 7 dagen: <strong>3</strong>" in dutch
    assert "geen fout" in dutch
    assert page(web) == dutch  # the viewer's choice holds for the next page


def test_a_reconcile_error_and_a_webhook_made_by_hand_that_fails_are_shown(
    services: Services, web: FlaskClient, anna: None, site: WooSandbox, client: WooCommerceClient, clock: Clock
) -> None:
    theirs = site.add_webhook(TOPIC, CALLBACK, secret="the-merchants-own")
    client.ensure_webhooks(CALLBACK)
    clock.tick()
    for _ in range(3):
        assert post_signed(web, "the-merchants-own", theirs) == 401
    clock.tick()
    site.faults = Faults(error_rate=1.0)  # the shop is down for this run
    report = reconcile_shop(services, client.shop, client, "test-worker")
    assert report.error is not None
    sign_in(web, "anna")
    text = page(web, lang="en")
    assert f"Error</span>: {report.error}" in text
    assert "no error" not in text

    site.faults = Faults()
    clock.tick()
    assert reconcile_shop(services, client.shop, client, "test-worker").error is None
    text = page(web, lang="en")
    assert "no error" in text
    assert "made in the shop, not by ordercare" in text
    assert "its secret is not the shop&#39;s configured webhook_secret" in text
    assert f"webhook {theirs}: reported, left as it is" in text
    assert site.counters["webhooks_deleted"] == 0
