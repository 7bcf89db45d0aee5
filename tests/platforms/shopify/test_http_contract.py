"""The Shopify webhook HTTP contract through the Flask app: 401 / 400 / 200 ignored / 413 / 405 / 200 stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.services import Services
from connector.store.tables import OrderRow, RawEvent
from tests.conftest import fixture_bytes, make_settings
from tests.platforms.shopify.conftest import signed_headers
from webhooks import create_app

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
URL = "/webhooks/shopify"


@pytest.fixture
def web(db_url: str) -> Iterator[tuple[FlaskClient, Services]]:
    services = Services.build(make_settings(db_url, max_webhook_bytes=16 * 1024), clock=lambda: NOW)
    yield create_app(services).test_client(), services
    services.engine.dispose()


def _orders(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OrderRow)) or 0)


def test_good_delivery_is_stored_once(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    body = fixture_bytes("shopify/orders_create__nl_paid.json")
    headers = signed_headers("orders/create", body)
    first = client.post(URL, data=body, headers=headers)
    assert first.status_code == 200 and first.json == {"ok": True, "outcome": "applied"}
    again = client.post(URL, data=body, headers=headers)
    assert again.status_code == 200 and again.json == {"ok": True, "outcome": "duplicate"}
    assert _orders(services) == 1
    with services.sessions() as session:
        assert session.scalars(select(RawEvent.topic)).all() == ["orders/create"]


def test_header_names_are_case_insensitive(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    body = fixture_bytes("shopify/orders_create__nl_paid.json")
    headers = {k.upper(): v for k, v in signed_headers("orders/create", body).items()}
    assert client.post(URL, data=body, headers=headers).status_code == 200
    assert _orders(services) == 1


def test_bad_signature_401(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    body = fixture_bytes("shopify/orders_create__nl_paid.json")
    response = client.post(URL, data=body, headers=signed_headers("orders/create", body, secret="forged"))
    assert response.status_code == 401
    assert _orders(services) == 0


def test_unknown_shop_401(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    body = fixture_bytes("shopify/orders_create__nl_paid.json")
    response = client.post(URL, data=body, headers=signed_headers("orders/create", body, domain="vreemd.myshopify.com"))
    assert response.status_code == 401
    assert _orders(services) == 0


def test_malformed_json_400(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    body = b'{"id": 1, "created_at": '
    response = client.post(URL, data=body, headers=signed_headers("orders/create", body))
    assert response.status_code == 400
    assert "not valid JSON" in response.json["error"]
    assert _orders(services) == 0


def test_unsupported_topic_200(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    body = b'{"id": 1}'
    response = client.post(URL, data=body, headers=signed_headers("products/create", body))
    assert response.status_code == 200
    assert response.json == {"ok": True, "ignored": "products/create"}
    assert _orders(services) == 0


def test_known_topic_without_news_200(web: tuple[FlaskClient, Services]) -> None:
    client, _ = web
    body = fixture_bytes("shopify/webhooks/orders_edited.json")
    response = client.post(URL, data=body, headers=signed_headers("orders/edited", body))
    assert response.status_code == 200 and response.json["ignored"] == "orders/edited"


def test_body_over_the_limit_413(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    body = b'{"pad": "' + b"x" * (16 * 1024) + b'"}'
    response = client.post(URL, data=body, headers=signed_headers("orders/create", body))
    assert response.status_code == 413
    assert _orders(services) == 0


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_405(web: tuple[FlaskClient, Services], method: str) -> None:
    client, _ = web
    assert getattr(client, method)(URL).status_code == 405
