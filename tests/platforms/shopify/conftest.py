"""Shared helpers for the Shopify tests: shop context, signed webhook headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connector.model import Platform
from connector.platforms.base import ShopContext
from connector.platforms.shopify.adapter import sign
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import SandboxShop, ShopifySandbox
from tests.conftest import SHOPIFY_SECRET

SHOP = ShopContext(shop_id="fietsen", platform=Platform.SHOPIFY, timezone="Europe/Amsterdam", country="NL")
DOMAIN = "fietsen-test.myshopify.com"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class FakeTime:
    """A monotonic clock and a sleep that only advances it, shared by the client and the sandbox."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def signed_headers(
    topic: str,
    body: bytes,
    *,
    secret: str = SHOPIFY_SECRET,
    webhook_id: str = "b54557e4-0000-4000-8000-000000000001",
    triggered_at: str | None = "2026-11-24T09:00:00.123456789Z",
    domain: str = DOMAIN,
) -> dict[str, str]:
    headers = {
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": sign(body, secret),
        "x-shopify-shop-domain": domain,
        "x-shopify-api-version": "2026-10",
        "x-shopify-webhook-id": webhook_id,
        "x-shopify-event-id": "e-" + webhook_id,
    }
    if triggered_at is not None:
        headers["x-shopify-triggered-at"] = triggered_at
    return headers


@pytest.fixture
def shop_context() -> ShopContext:
    return SHOP


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- one sandbox per test module, shops on a fake monotonic clock ---------------------------------------


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ShopifySandbox]:
    box = ShopifySandbox(clock=lambda: NOW)
    with BackgroundServer(box) as server:
        box.url = server.url
        yield box


@pytest.fixture
def shop(sandbox: ShopifySandbox, fake_time: FakeTime, request: pytest.FixtureRequest) -> SandboxShop:
    """A new shop in the module's sandbox, named after the test module (``limits-0.myshopify.com``)."""
    sandbox.monotonic = fake_time.monotonic
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    n = len(sandbox.shops)
    return sandbox.add_shop(f"{name}-{n}.myshopify.com", "secret", access_token=f"shpat_{name.replace('-', '_')}_{n}")
