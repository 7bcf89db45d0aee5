"""Fixtures for the webhook-health tests: a movable service clock, the sandbox site, its client, deliveries.

Import the fixtures by name (``from tests.platforms.woocommerce.webhook_fixtures import client, clock, ...``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from connector.platforms.woocommerce.client import WooCommerceClient
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from tests.conftest import fixture_json, make_settings

from .support import delivery

SHOP_ID = "theewinkel"
PUBLIC_URL = "http://127.0.0.1:9"  # nothing listens: every delivery the sandbox makes fails
CALLBACK = f"{PUBLIC_URL}/webhooks/woocommerce"
TOPIC = "order.created"


class Clock:
    """The service clock, moved on by the tests (the client and the sandbox read it too)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 15) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def services(db_url: str, engine: Engine, clock: Clock) -> Services:
    return Services.build(make_settings(db_url, public_url=PUBLIC_URL), engine=engine, clock=clock)


@pytest.fixture
def site(clock: Clock) -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=clock, ping_on_create=False, delivery_timeout=2)
    with sandbox.serve():
        yield sandbox


@pytest.fixture
def client(services: Services, site: WooSandbox, clock: Clock) -> Iterator[WooCommerceClient]:
    shop = services.shops.get(SHOP_ID)
    assert shop is not None
    assert shop.webhook_keys is not None
    shop = dataclasses.replace(
        shop,
        api_base_url=site.site_url,
        credentials={"consumer_key": site.consumer_key, "consumer_secret": site.consumer_secret},
    )
    client = WooCommerceClient(shop, timeout=5, clock=clock)
    yield client
    client.close()


def signed_post(web: FlaskClient, secret: str, webhook_id: int | str, topic: str = TOPIC) -> int:
    """A delivery for the shop through the webhook route, signed with ``secret``, naming ``webhook_id``."""
    body = fixture_json("woocommerce/order_updated__nl_split_address.json")
    headers, raw = delivery(topic, body, secret=secret, webhook_id=webhook_id)
    status: int = web.post("/webhooks/woocommerce", data=raw, headers=headers).status_code
    return status
