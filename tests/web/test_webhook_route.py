"""The generic webhook route's contract, with a stand-in adapter (platform packages pin their own)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.config import Settings
from connector.model import EventKind, OrderEvent, Platform
from connector.platforms.base import MalformedPayload, ShopContext
from connector.services import Services
from connector.store.tables import OrderRow, RawEvent
from tests.builders import order
from tests.conftest import SHOPIFY_SECRET
from webhooks import create_app


class StandInAdapter:
    platform = Platform.SHOPIFY
    topics = frozenset({"orders/create"})

    def shop_key(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-shop")

    def topic(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-topic")

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return body == b"ping"

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> bool:
        given = headers.get("x-sig", "")
        return any(hmac.compare_digest(hmac.new(s.encode(), body, hashlib.sha256).hexdigest(), given) for s in secrets)

    def parse(self, headers: Mapping[str, str], body: bytes, shop: ShopContext) -> OrderEvent | None:
        try:
            data = json.loads(body)
            external_id = str(data["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedPayload(f"missing field {exc}") from None
        if data.get("ignore"):
            return None
        snapshot = order(external_id, shop_id=shop.shop_id)
        return OrderEvent(EventKind.ORDER, "orders/create", headers["x-id"], snapshot.updated_at, external_id, snapshot)


@pytest.fixture
def client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[FlaskClient, Services]:
    monkeypatch.setattr("connector.platforms.adapter", lambda platform: StandInAdapter())
    services = Services.build(settings, clock=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    return create_app(services).test_client(), services


def post(
    client: FlaskClient,
    body: bytes,
    *,
    secret: str = SHOPIFY_SECRET,
    shop: str = "fietsen-test.myshopify.com",
    topic: str = "orders/create",
    delivery: str = "d1",
) -> tuple[int, dict[str, object]]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(
        "/webhooks/shopify", data=body, headers={"X-Shop": shop, "X-Topic": topic, "X-Sig": signature, "X-Id": delivery}
    )
    return response.status_code, response.get_json()


def count_orders(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OrderRow)) or 0)


def test_good_delivery_is_stored(client: tuple[FlaskClient, Services]) -> None:
    http, services = client
    assert post(http, b'{"id": 7}') == (200, {"ok": True, "outcome": "applied"})
    assert post(http, b'{"id": 7}') == (200, {"ok": True, "outcome": "duplicate"})
    assert count_orders(services) == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"secret": "wrong"}, 401, "bad_signature"),
        ({"shop": "other.myshopify.com"}, 401, "unknown_shop"),
        ({"shop": ""}, 401, "no_shop"),
    ],
)
def test_rejections_store_nothing(
    client: tuple[FlaskClient, Services], kwargs: dict[str, str], status: int, reason: str
) -> None:
    http, services = client
    code, body = post(http, b'{"id": 7}', **kwargs)
    assert code == status
    assert "error" in body
    assert count_orders(services) == 0
    assert services.metrics.webhooks_rejected.labels("shopify", reason)._value.get() == 1


def test_malformed_body_is_400(client: tuple[FlaskClient, Services]) -> None:
    http, services = client
    code, body = post(http, b'{"no_id": 1}')
    assert code == 400
    assert body == {"error": "malformed body: missing field 'id'"}
    assert count_orders(services) == 0


def test_unsupported_topic_and_ignored_payload_are_200(client: tuple[FlaskClient, Services]) -> None:
    http, services = client
    assert post(http, b'{"id": 1}', topic="products/create") == (200, {"ok": True, "ignored": "products/create"})
    assert post(http, b'{"id": 1, "ignore": true}') == (200, {"ok": True, "ignored": "orders/create"})
    assert count_orders(services) == 0
    assert services.metrics.webhooks_ignored.labels("shopify", "products/create")._value.get() == 1


def test_ping_is_200_and_changes_nothing(client: tuple[FlaskClient, Services]) -> None:
    http, services = client
    response = http.post("/webhooks/shopify", data=b"ping")
    assert response.status_code == 200
    assert count_orders(services) == 0
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RawEvent)) == 0


def test_oversize_body_is_413(client: tuple[FlaskClient, Services]) -> None:
    http, services = client
    limit = services.settings.max_webhook_bytes
    code, _ = post(http, b'{"id": 1, "pad": "' + b"x" * limit + b'"}')
    assert code == 413
    assert count_orders(services) == 0


def test_other_methods_and_platforms(client: tuple[FlaskClient, Services]) -> None:
    http, _ = client
    assert http.get("/webhooks/shopify").status_code == 405
    assert http.put("/webhooks/shopify").status_code == 405
    assert http.post("/webhooks/magento", data=b"{}").status_code == 404


def test_health_and_metrics(client: tuple[FlaskClient, Services]) -> None:
    http, _ = client
    post(http, b'{"id": 7}')
    assert http.get("/healthz").get_json() == {"status": "ok"}
    metrics = http.get("/metrics").get_data(as_text=True)
    assert 'ordercare_webhooks_received_total{outcome="applied",platform="shopify"} 1.0' in metrics
    assert "ordercare_outbox_backlog 0.0" in metrics
