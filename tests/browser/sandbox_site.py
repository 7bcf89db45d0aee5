"""A Shopify sandbox shop and ordercare's web app on loopback, with an incident made through the real code path.

The sandbox shop sends a signed ``orders/create`` webhook over HTTP for an order whose address has no house
number; the policy tick opens the address incident and the outbox holds, tags and notes the order on the
sandbox through the Shopify client and e-mails the customer through a loopback SMTP server. No row is built
by hand; the shop's admin account is made with ``ensure_user``, as ``ordercare admin add`` makes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.admin.users import ensure_user
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import DrainReport, drain
from connector.policies.engine import TickReport, run_until_idle
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import SandboxShop, ShopifySandbox
from connector.services import Services
from connector.store.db import transaction
from tests.admin.builders import Clock
from tests.conftest import make_settings
from tests.notify.conftest import notify_settings
from tests.notify.support import CapturingHandler, smtp_server
from webhooks import create_app

ADMIN = "fietsen-beheer"
ADMIN_PASSWORD = "zadelpen-en-bel-42"
# what the shop's checkout sent: the street without its house number
NO_HOUSE_NUMBER = {
    "first_name": "Daan", "last_name": "Jansen", "name": "Daan Jansen", "company": None,
    "address1": "Kerkstraat", "address2": None, "city": "Utrecht", "province": "Utrecht", "province_code": "UT",
    "zip": "3512 GV", "country": "Netherlands", "country_code": "NL", "phone": "+31612345678",
}  # fmt: skip
CUSTOMER = {
    "id": 7300000000000000456, "email": "daan@example.nl", "first_name": "Daan", "last_name": "Jansen",
    "phone": "+31612345678",
}  # fmt: skip


@dataclass
class SandboxSite:
    url: str
    services: Services
    shop: SandboxShop
    order: dict[str, Any]  # the order as the sandbox shop created it
    mail: CapturingHandler
    delivery_status: int
    tick: TickReport
    outbox: DrainReport


@pytest.fixture
def sandbox_site(db_url: str, engine: Engine, now: datetime) -> Iterator[SandboxSite]:
    clock = Clock(now)
    shops = [shop.model_dump(exclude_none=True) for shop in make_settings(db_url).shops]
    sandbox = ShopifySandbox(clock=clock)
    shop = sandbox.add_shop(shops[0]["shop_domain"], secret=shops[0]["webhook_secret"],
                            access_token=shops[0]["access_token"])  # fmt: skip
    with smtp_server() as (smtp, mail), BackgroundServer(sandbox) as sandbox_server:
        sandbox.url = sandbox_server.url
        shops[0].update(name="Fietsenwinkel", api_base_url=shop.base_url)
        services = Services.build(notify_settings(db_url, smtp.port, shops=shops), engine=engine, clock=clock)
        env = OutboxEnv(services, worker="browser-test")
        try:
            with BackgroundServer(create_app(services)) as web:
                order = shop.create_order(
                    email=CUSTOMER["email"], contact_email=CUSTOMER["email"], customer=CUSTOMER,
                    shipping_address=NO_HOUSE_NUMBER,
                )  # fmt: skip
                delivery = shop.send("orders/create", order, f"{web.url}/webhooks/shopify")
                tick = run_until_idle(services, now)
                outbox = drain(env)
                with transaction(services.sessions) as session:
                    ensure_user(session, ADMIN, [shops[0]["id"]], now, password=ADMIN_PASSWORD)
                yield SandboxSite(web.url, services, shop, order, mail, delivery.status_code, tick, outbox)
        finally:
            env.close()
