"""``POST /webhooks/woocommerce`` pinned through Flask's test client, and real deliveries from the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from connector.sandbox.server import BackgroundServer
from connector.sandbox.woocommerce import WooSandbox, php_json
from connector.services import Services
from connector.store.tables import RawEvent
from tests.conftest import WOO_SECRET, fixture_json, make_settings
from webhooks import create_app

from .support import counts, delivery, stored_order

URL = "/webhooks/woocommerce"


@pytest.fixture
def services(db_url: str, engine: Engine, now: datetime) -> Services:
    return Services.build(make_settings(db_url), engine=engine, clock=lambda: now)


@pytest.fixture
def web(services: Services) -> FlaskClient:
    return create_app(services).test_client()


def post(web: FlaskClient, headers: dict[str, str], body: bytes) -> Any:
    return web.post(URL, data=body, headers=headers)


def nl_order() -> dict[str, Any]:
    data: dict[str, Any] = fixture_json("woocommerce/order_updated__nl_split_address.json")
    return data


def test_ping_gets_exactly_200_and_stores_nothing(web: FlaskClient, services: Services) -> None:
    answer = web.post(
        URL,
        data=b"webhook_id=17",
        headers={"User-Agent": "WooCommerce/9.4.2 Hookshot", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert counts(services.sessions) == (0, 0, 0)


def test_signed_order_is_stored(web: FlaskClient, services: Services) -> None:
    answer = post(web, *delivery("order.created", nl_order()))
    assert (answer.status_code, answer.get_json()["outcome"]) == (200, "applied")
    assert counts(services.sessions) == (1, 1, 1)


def test_bad_signature_401_is_counted_for_the_shop_and_stores_nothing_else(
    web: FlaskClient, services: Services
) -> None:
    headers, body = delivery("order.created", nl_order(), secret="not-the-secret")
    assert post(web, headers, body).status_code == 401
    assert counts(services.sessions) == (0, 0, 1)
    with services.sessions() as session:
        row = session.scalars(select(RawEvent)).one()
        seen = (row.shop_id, row.topic, row.outcome, row.dedupe_key, row.order_external_id, row.body, row.body_bytes)
    # the body is not authenticated: only its size is kept, with the webhook it named
    assert seen == ("theewinkel", "order.created", "bad_signature", "webhook:17", None, None, len(body))


def test_unknown_shop_401(web: FlaskClient, services: Services) -> None:
    headers, body = delivery("order.created", nl_order(), source="https://onbekend.example.nl/")
    assert post(web, headers, body).status_code == 401
    assert counts(services.sessions) == (0, 0, 0)


def test_malformed_json_400(web: FlaskClient, services: Services) -> None:
    answer = post(web, *delivery("order.updated", b'{"id": 5120, "status": '))
    assert answer.status_code == 400
    assert "body:" in answer.get_json()["error"]
    assert counts(services.sessions) == (0, 0, 0)


def test_missing_field_400_names_it(web: FlaskClient, services: Services) -> None:
    data = nl_order()
    del data["date_modified_gmt"]
    answer = post(web, *delivery("order.updated", data))
    assert answer.status_code == 400
    assert "date_modified_gmt" in answer.get_json()["error"]


def test_unsupported_topic_200_ignored(web: FlaskClient, services: Services) -> None:
    answer = post(web, *delivery("product.updated", {"id": 12, "name": "Theepot"}))
    assert answer.status_code == 200
    assert answer.get_json()["ignored"] == "product.updated"
    assert counts(services.sessions) == (0, 0, 0)


def test_checkout_draft_200_ignored(web: FlaskClient, services: Services) -> None:
    answer = post(web, *delivery("order.updated", fixture_json("woocommerce/order_updated__checkout_draft.json")))
    assert answer.status_code == 200
    assert counts(services.sessions) == (0, 0, 0)


def test_over_size_413(web: FlaskClient, services: Services) -> None:
    data = nl_order()
    data["customer_note"] = "x" * (services.settings.max_webhook_bytes + 10)
    assert post(web, *delivery("order.updated", data)).status_code == 413
    assert counts(services.sessions) == (0, 0, 0)


def test_get_405(web: FlaskClient) -> None:
    assert web.get(URL).status_code == 405


# --- the sandbox delivering to the running service -----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def live(db_url: str, engine: Engine) -> Iterator[tuple[Services, WooSandbox, str, Clock]]:
    clock = Clock()
    site = WooSandbox(clock=clock, ping_on_create=False)
    with site.serve():
        settings = make_settings(db_url, shops=[site.shop_config("theewinkel")])
        services = Services.build(settings, engine=engine, clock=clock)
        with BackgroundServer(create_app(services)) as ours:
            yield services, site, f"{ours.url}{URL}", clock


def test_sandbox_ping_and_deliveries_reach_the_service(live: tuple[Services, WooSandbox, str, Clock]) -> None:
    services, site, url, clock = live
    assert site.send_ping(url).status == 200
    assert counts(services.sessions) == (0, 0, 0)
    for topic in ("order.created", "order.updated", "order.deleted", "order.restored"):
        site.add_webhook(topic, url)
    order = site.create_order(street="Kerkstraat", house_number="", postcode="1017GC", city="Amsterdam")
    clock.now += timedelta(minutes=5)
    site.update_order(order["id"], status="on-hold")
    clock.now += timedelta(minutes=5)
    site.update_order(order["id"], status="processing")
    # the queue coalesces: one created and one updated delivery, both built from the order as it is now
    assert sorted(site.pending_deliveries()) == [("order.created", order["id"]), ("order.updated", order["id"])]
    results = site.deliver_pending()
    assert [r.status for r in results] == [200, 200]
    stored = stored_order(services.sessions, "theewinkel", str(order["id"]))
    assert stored is not None
    snapshot, deleted = stored
    assert (snapshot.platform_status, deleted) == ("processing", False)
    assert snapshot.shipping_address is not None
    assert (snapshot.shipping_address.street, snapshot.shipping_address.house_number) == ("Kerkstraat", None)
    assert snapshot.shipping_address.postcode == "1017 GC"
    assert counts(services.sessions)[:2] == (1, 1)  # the second delivery had the same content: a duplicate
    clock.now += timedelta(minutes=5)
    site.trash_order(order["id"])
    assert [r.status for r in site.deliver_pending()] == [200]
    assert stored_order(services.sessions, "theewinkel", str(order["id"]))[1] is True  # type: ignore[index]
    clock.now += timedelta(minutes=5)
    site.restore_order(order["id"])
    assert [r.status for r in site.deliver_pending()] == [200]
    assert stored_order(services.sessions, "theewinkel", str(order["id"]))[1] is False  # type: ignore[index]


def test_sandbox_signs_php_style_json(live: tuple[Services, WooSandbox, str, Clock]) -> None:
    services, site, url, _ = live
    order = site.create_order(first_name="Zoë", meta={"_wc_shipment_tracking_items": []})
    body = site.payload("order.created", order["id"])
    assert b"\\/" in body
    assert b"Zo\\u00eb" in body
    assert body == php_json(site.order(order["id"]))
    [result] = site.send_webhook("order.created", order["id"], url)
    assert result.status == 200
    assert counts(services.sessions)[0] == 1


def test_wrong_secret_deliveries_fail_and_woocommerce_disables_the_webhook(
    live: tuple[Services, WooSandbox, str, Clock],
) -> None:
    services, site, url, _ = live
    hook = site.add_webhook("order.updated", url, secret=WOO_SECRET)  # not this shop's secret
    order = site.create_order()
    statuses: list[int | None] = []
    for _ in range(7):
        site.update_order(order["id"], customer_note=f"{len(statuses)}")
        statuses += [r.status for r in site.deliver_pending()]
    assert statuses == [401] * 7
    assert site.webhooks[hook]["status"] == "disabled"  # the 7th failure in a row
    assert counts(services.sessions) == (0, 0, 7)  # no order, no receipt: 7 signature failures counted
