"""The Shopify webhook HTTP contract through the Flask app: 401 / 400 / 200 ignored / 413 / 405 / 200 stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.platforms.shopify.adapter import sign
from connector.services import Services
from connector.store.tables import OrderRow, PendingEvent, RawEvent, WebhookReceipt
from tests.conftest import SHOPIFY_SECRET, fixture_bytes, make_settings
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
    assert first.status_code == 200
    assert first.json == {"ok": True, "outcome": "applied"}
    again = client.post(URL, data=body, headers=headers)
    assert again.status_code == 200
    assert again.json == {"ok": True, "outcome": "duplicate"}
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


# --- the signature is compared exactly ------------------------------------------------------------

SIGNED = fixture_bytes("shopify/orders_create__nl_paid.json")
GOOD = sign(SIGNED, SHOPIFY_SECRET)  # 44 characters: 43 of base64 and one "=" of padding


def _other(char: str) -> str:
    return "B" if char == "A" else "A"


def _last_char_same_bits(good: str) -> str:
    """The 43rd character carries 4 bits of the digest and 2 unused ones: flipping an unused bit gives a
    different string that base64-decodes to the same digest."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    index = alphabet.index(good[42])
    changed = good[:42] + alphabet[index ^ 1] + good[43:]
    assert base64.b64decode(changed) == base64.b64decode(good)
    return changed


REFUSED: dict[str, Callable[[str], str]] = {
    "first-char-differs": lambda g: _other(g[0]) + g[1:],
    "middle-char-differs": lambda g: g[:20] + _other(g[20]) + g[21:],
    "same-digest-other-encoding": _last_char_same_bits,
    "case-changed": lambda g: g.swapcase(),
    "without-padding": lambda g: g[:-1],
    "truncated": lambda g: g[:-2],
    "prefix": lambda g: g[:8],
    "one-char-more": lambda g: g + "A",
    "space-inside": lambda g: g[:20] + " " + g[20:],
    "hex-instead-of-base64": lambda g: hmac.new(SHOPIFY_SECRET.encode(), SIGNED, hashlib.sha256).hexdigest(),
    "of-another-body": lambda g: sign(SIGNED + b" ", SHOPIFY_SECRET),
    "empty": lambda g: "",
    "only-whitespace": lambda g: "   ",
}


def _rows(services: Services) -> dict[str, int]:
    with services.sessions() as session:
        return {
            table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (OrderRow, WebhookReceipt, RawEvent, PendingEvent)
        }


@pytest.mark.parametrize("variant", list(REFUSED), ids=list(REFUSED))
def test_a_signature_not_exactly_right_is_401_and_stores_nothing(
    web: tuple[FlaskClient, Services], variant: str
) -> None:
    client, services = web
    given = REFUSED[variant](GOOD)
    assert given != GOOD
    headers = {**signed_headers("orders/create", SIGNED), "x-shopify-hmac-sha256": given}
    response = client.post(URL, data=SIGNED, headers=headers)
    assert (response.status_code, response.json) == (401, {"error": "signature does not match"})
    assert set(_rows(services).values()) == {0}


def test_a_missing_signature_is_401_and_stores_nothing(web: tuple[FlaskClient, Services]) -> None:
    client, services = web
    headers = {k: v for k, v in signed_headers("orders/create", SIGNED).items() if k != "x-shopify-hmac-sha256"}
    response = client.post(URL, data=SIGNED, headers=headers)
    assert (response.status_code, response.json) == (401, {"error": "signature does not match"})
    assert set(_rows(services).values()) == {0}


@pytest.mark.parametrize("given", [GOOD, f" {GOOD}", f"{GOOD} ", f"\t{GOOD}\t"], ids=["exact", "lead", "trail", "tabs"])
def test_the_right_signature_is_accepted_and_stored(web: tuple[FlaskClient, Services], given: str) -> None:
    """Spaces and tabs around a header value are not part of it (RFC 9110 5.5; gunicorn strips them before
    the app sees them, and the adapter strips them too), so they leave the same signature."""
    client, services = web
    headers = {**signed_headers("orders/create", SIGNED), "x-shopify-hmac-sha256": given}
    response = client.post(URL, data=SIGNED, headers=headers)
    assert (response.status_code, response.json) == (200, {"ok": True, "outcome": "applied"})
    assert _rows(services) == {"orders": 1, "webhook_receipts": 1, "raw_events": 1, "pending_events": 0}


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
    assert response.json is not None
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
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["ignored"] == "orders/edited"


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
