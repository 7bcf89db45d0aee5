"""The report tests' world: a Shopify and a WooCommerce sandbox shop on loopback, a mail catcher, a settable
clock, ordercare's web app, and a round of reconcile, tick and outbox as the scheduler and the worker run it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.policies.engine import run_tick
from connector.reconcile import reconcile_shop
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import BucketConfig, SandboxShop, ShopifySandbox
from connector.sandbox.woocommerce import WooSandbox
from connector.services import Services
from connector.store.tables import ActionRow, EmailLog, IncidentRow, ProblemReport
from connector.tracking import links
from tests.conftest import make_settings
from tests.notify.support import CapturingHandler, smtp_server
from tests.reliability.support import Clock
from webhooks import create_app

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # Thursday 26 November, 10:00 in Amsterdam
DOMAIN = "fietsen-report.myshopify.com"
TOKEN = "shpat_report_0123456789abcdef"
SECRET = "shopify-webhook-secret-report"
SECRET_KEY = "test-secret-key-0123456789abcdef"


class Router:
    def __init__(self) -> None:
        self.target: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.target(environ, start_response)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Router, str, Router, str]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    shopify, woo = Router(), Router()
    with BackgroundServer(shopify) as shopify_server, BackgroundServer(woo) as woo_server:
        yield shopify, shopify_server.url, woo, woo_server.url


@dataclass
class World:
    clock: Clock
    shop: SandboxShop
    woo: WooSandbox
    smtp: CapturingHandler
    services: Services
    client: FlaskClient

    def run(self) -> None:
        """A round: reconcile each shop, decide, perform (the worker's outbox drain)."""
        env = OutboxEnv(self.services)
        try:
            for shop_id in ("fietsen", "theewinkel"):
                shop = self.services.shops.get(shop_id)
                assert shop is not None
                reconcile_shop(self.services, shop, env.client_for(shop_id), env.worker, check_webhooks=False)
            run_tick(self.services, self.clock())
            drain(env)
        finally:
            env.close()

    def tick(self) -> None:
        env = OutboxEnv(self.services)
        try:
            run_tick(self.services, self.clock())
            drain(env)
        finally:
            env.close()

    def token(self, shop_id: str, external_id: str) -> str:
        return links.token_for(SECRET_KEY, shop_id, external_id)

    def counts(self) -> dict[str, int]:
        """What ordercare stored and sent: reports, incidents, actions, e-mails."""
        with self.services.sessions() as session:
            return {
                name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in (
                    ("reports", ProblemReport),
                    ("incidents", IncidentRow),
                    ("actions", ActionRow),
                    ("emails", EmailLog),
                )
            } | {"smtp": len(self.smtp.received)}


@pytest.fixture
def world(db_url: str, servers: tuple[Router, str, Router, str]) -> Iterator[World]:
    shopify_router, shopify_url, woo_router, woo_url = servers
    clock = Clock(NOW)
    sandbox = ShopifySandbox(clock=clock, bucket=BucketConfig(maximum=100_000, restore_rate=100_000))
    sandbox.url = shopify_url
    shopify_router.target = sandbox
    shop = sandbox.add_shop(DOMAIN, SECRET, access_token=TOKEN)
    woo = WooSandbox(clock=clock, ping_on_create=False, site_url=woo_url, hpos=True)
    woo_router.target = woo
    shops = [
        {"id": "fietsen", "platform": "shopify", "shop_domain": DOMAIN, "api_base_url": shop.base_url,
         "access_token": TOKEN, "webhook_secret": SECRET, "name": "Fietsenwinkel", "locale": "nl",
         "timezone": "Europe/Amsterdam"},
        woo.shop_config("theewinkel", name="Theewinkel", locale="nl", timezone="Europe/Amsterdam"),
    ]  # fmt: skip
    with smtp_server() as (controller, handler):
        settings = make_settings(
            db_url,
            shops=shops,
            email={"smtp_host": "127.0.0.1", "smtp_port": controller.port, "sender": "service@fietsen.example"},
        )
        services = Services.build(settings, clock=clock)
        client = create_app(services).test_client()
        yield World(clock, shop, woo, handler, services, client)
