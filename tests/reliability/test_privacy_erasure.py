"""Privacy: ``customers/redact`` erases that customer's personal data everywhere — order snapshots, raw
events, incidents, outbox payloads and results, the e-mail log, earlier exports — checked by searching a
full dump of the database (every row of every table, plus SQLite's ``iterdump``) for the name, e-mail,
phone, street and postcode; another customer's data stays. ``customers/data_request`` produces the
export, ``shop/redact`` deletes the shop and every row it owns, and raw events are pruned after
``raw_event_retention_days`` (checked either side of the threshold).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from connector import privacy
from connector.actions import ActionRequest
from connector.housekeeping import prune
from connector.model import OrderEvent
from connector.notify.mailer import MemoryMailer
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.platforms.shopify.adapter import sign
from connector.policies.engine import run_until_idle
from connector.sandbox.shopify import ShopifySandbox
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, Base, EmailLog, IncidentRow, RawEvent, ShopRow
from tests.conftest import SHOPIFY_SECRET, fixture_json, make_settings
from tests.reliability.support import Clock, dump_database
from webhooks import create_app

DOMAIN = "fietsen-test.myshopify.com"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ERASED = {
    "name": "Pietersma",
    "email": "sanne.pietersma@example.nl",
    "phone": "+31687654321",
    "street": "Keizersgracht",
    "postcode": "1015 CJ",
}
KEPT = {"name": "Bakker", "email": "joost.bakker@example.nl"}


class AcceptingClient:
    """Stands in for the shop: every platform action succeeds (the e-mails are what this test follows)."""

    def perform(self, request: ActionRequest) -> dict[str, Any]:
        return {"ok": True, "payload": request.payload}

    def already_done(self, request: ActionRequest) -> dict[str, Any] | None:
        return None

    def changed_orders(self, since: datetime | None) -> Iterator[OrderEvent]:
        return iter(())

    def ensure_webhooks(self, callback_url: str) -> list[str]:
        return []

    def close(self) -> None:
        pass


@pytest.fixture
def web(db_url: str, engine: Engine) -> tuple[FlaskClient, Services, Clock]:
    clock = Clock(START)
    services = Services.build(make_settings(db_url, raw_event_retention_days=30), engine=engine, clock=clock)
    return create_app(services).test_client(), services, clock


def send(client: FlaskClient, topic: str, body: dict[str, Any], webhook_id: str) -> int:
    raw = json.dumps(body).encode()
    services: Services = client.application.extensions["ordercare"]
    headers = {
        "X-Shopify-Triggered-At": services.now().isoformat(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": DOMAIN,
        "X-Shopify-Hmac-Sha256": sign(raw, SHOPIFY_SECRET),
        "X-Shopify-Webhook-Id": webhook_id,
    }
    return int(client.post("/webhooks/shopify", data=raw, headers=headers).status_code)


def customer_order(sandbox_shop: Any, first: str, last: str, email: str, phone: str, street: str, postcode: str,
                   customer_id: int) -> dict[str, Any]:  # fmt: skip
    base = sandbox_shop.create_order()
    address = {**base["shipping_address"], "first_name": first, "last_name": last, "name": f"{first} {last}",
               "address1": street, "zip": postcode, "phone": phone}  # fmt: skip
    customer = {**base["customer"], "id": customer_id, "first_name": first, "last_name": last, "email": email,
                "phone": phone, "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}"}  # fmt: skip
    changes = {"email": email, "contact_email": email, "phone": phone, "shipping_address": address,
               "customer": customer, "note": f"Bel {phone}"}  # fmt: skip
    return dict(sandbox_shop.update_order(base["id"], **changes))


def search(engine: Engine, values: dict[str, str]) -> dict[str, int]:
    dump = dump_database(engine)
    return {what: dump.count(value) for what, value in values.items()}


def test_customer_redact_erases_everywhere_and_shop_redact_deletes_the_shop(
    web: tuple[FlaskClient, Services, Clock], engine: Engine
) -> None:
    client, services, clock = web
    shop = ShopifySandbox(clock=clock).add_shop(DOMAIN, SHOPIFY_SECRET)
    # the house number is missing: the address policy holds the order, notes it and e-mails the customer
    erased = customer_order(
        shop, "Sanne", "Pietersma", ERASED["email"], ERASED["phone"], "Keizersgracht", "1015 CJ", 501
    )
    kept = customer_order(shop, "Joost", "Bakker", KEPT["email"], "+31611112222", "Dorpsstraat", "9999 ZZ", 502)
    for number, order in enumerate((erased, kept)):
        assert send(client, "orders/create", order, f"create-{number}") == 200
    clock.advance(timedelta(hours=2))
    run_until_idle(services, clock())
    env = OutboxEnv(services, worker="privacy", client_factory=lambda shop: AcceptingClient(), mailer=MemoryMailer())
    drained = drain(env)
    request = {"customer": {"id": 501, "email": ERASED["email"], "phone": ERASED["phone"]},
               "orders_requested": [erased["id"]], "data_request": {"id": 9999}, "shop_domain": DOMAIN}  # fmt: skip
    assert send(client, "customers/data_request", request, "data-request") == 200
    with services.sessions() as session:
        export = privacy.exports(session, "fietsen")
        emails = session.scalar(select(func.count()).select_from(EmailLog))
        incidents = session.scalar(select(func.count()).select_from(IncidentRow))
        actions = session.scalar(select(func.count()).select_from(ActionRow))
    assert emails is not None
    assert incidents is not None
    assert actions is not None
    before = search(engine, ERASED)

    redact = {"customer": {"id": 501, "email": ERASED["email"], "phone": ERASED["phone"]},
              "orders_to_redact": [erased["id"]], "shop_domain": DOMAIN}  # fmt: skip
    assert send(client, "customers/redact", redact, "redact") == 200
    after = search(engine, ERASED)
    others = search(engine, KEPT)
    print(
        f"\nprivacy: {drained.done} actions done, {emails} e-mails logged, {incidents} incidents, {actions} actions; "
        f"export with {len(export[0]['orders'])} order(s) and {len(export[0]['emails'])} e-mail(s); "
        f"occurrences in the dump before erasure {before}, after {after}; the other customer {others}"
    )
    assert emails == 2
    assert incidents >= 2
    assert actions >= 6
    assert len(export) == 1
    assert export[0]["customer"]["email"] == ERASED["email"]
    assert [o["external_id"] for o in export[0]["orders"]] == [str(erased["id"])]
    assert len(export[0]["emails"]) == 1
    assert all(count > 0 for count in before.values()), before
    assert after == dict.fromkeys(ERASED, 0)
    assert all(count > 0 for count in others.values()), others

    # Shopify sends shop/redact 48 hours after the uninstall
    assert send(client, "app/uninstalled", fixture_json("shopify/webhooks/app_uninstalled.json"), "uninstall") == 200
    assert send(client, "shop/redact", {"shop_id": 954889, "shop_domain": DOMAIN}, "shop-redact") == 200
    with services.sessions() as session:
        remaining = {
            table.name: session.scalar(select(func.count()).select_from(table).where(table.c.shop_id == "fietsen"))
            for table in Base.metadata.sorted_tables
            if "shop_id" in table.c
        }
        shop_row = session.get(ShopRow, "fietsen")
    print(f"privacy: rows left for the shop after shop/redact {remaining}")
    assert shop_row is None
    assert set(remaining.values()) == {0}
    assert search(engine, KEPT) == dict.fromkeys(KEPT, 0)


def test_raw_events_are_pruned_after_the_retention_period(web: tuple[FlaskClient, Services, Clock]) -> None:
    client, services, clock = web
    shop = ShopifySandbox(clock=clock).add_shop(DOMAIN, SHOPIFY_SECRET)
    assert send(client, "orders/create", shop.create_order(), "old") == 200
    clock.advance(timedelta(days=10))
    assert send(client, "orders/create", shop.create_order(), "newer") == 200
    retention = timedelta(days=services.settings.raw_event_retention_days)

    def count() -> int:
        with services.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(RawEvent)) or 0)

    counts = [count()]
    for at in (START + retention - timedelta(seconds=1), START + retention + timedelta(seconds=1),
               START + timedelta(days=10) + retention + timedelta(seconds=1)):  # fmt: skip
        with transaction(services.sessions) as session:
            prune(session, services.settings, at)
        counts.append(count())
    print(
        f"\nprivacy: raw events with a {retention.days}-day retention: {counts} (before, a second before, after, later)"
    )
    assert counts == [2, 2, 1, 0]
