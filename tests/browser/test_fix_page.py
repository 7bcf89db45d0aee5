"""End to end in a real browser: the address e-mail's link, the fix page on a phone without JavaScript, the shop.

A Shopify sandbox shop sends the order as a signed webhook to the served app; the scheduler's tick asks the
customer; the outbox holds the order on the sandbox and e-mails a loopback SMTP server. Chromium opens the
link from that e-mail, looks the street up, saves, and sees the confirmation; then the outbox writes the new
address to the sandbox and releases our hold, and the next tick stays quiet.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector import codec
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.sandbox.server import BackgroundServer, free_port
from connector.sandbox.shopify import ShopifySandbox
from connector.scheduler import tick
from connector.services import Services
from connector.store.tables import ActionRow, EmailLog, FixToken, IncidentRow, OrderRow
from tests.conftest import SHOPIFY_SECRET, make_settings
from tests.notify.conftest import notify_settings
from tests.notify.support import Clock, FakeLookup, smtp_server
from webhooks import create_app
from webhooks.fix import LOOKUP_EXTENSION

pytestmark = pytest.mark.browser

DOMAIN = "fietsen-test.myshopify.com"


def fix_link(text: str) -> str:
    match = re.search(r"^(http://127\.0\.0\.1:\d+/fix/\S+)$", text, flags=re.MULTILINE)
    assert match, f"no fix link in the e-mail:\n{text}"
    return match.group(1)


def action_keys(services: Services) -> list[tuple[str, str, str]]:
    with services.sessions() as session:
        rows = session.scalars(select(ActionRow).order_by(ActionRow.id))
        return [(row.kind, row.idempotency_key.split(":", 2)[2], row.state) for row in rows]


def test_customer_fixes_the_address_from_the_email(page: Any, db_url: str, engine: Engine, now: datetime) -> None:
    clock = Clock(now)
    sandbox = ShopifySandbox(clock=clock)
    shop = sandbox.add_shop(DOMAIN, SHOPIFY_SECRET, access_token="shpat_test_token")
    web_port = free_port()
    with smtp_server() as (smtp, mail), BackgroundServer(sandbox) as sandbox_server:
        sandbox.url = sandbox_server.url
        shops = [s.model_dump(exclude_none=True) for s in make_settings(db_url).shops]
        shops[0].update(name="Fietsenwinkel Één", api_base_url=shop.base_url)
        settings = notify_settings(db_url, smtp.port, shops=shops, public_url=f"http://127.0.0.1:{web_port}")
        services = Services.build(settings, engine=engine, clock=clock)
        app = create_app(services)
        app.extensions[LOOKUP_EXTENSION] = FakeLookup()
        env = OutboxEnv(services=services, worker="browser-test")
        with BackgroundServer(app, port=web_port) as web:
            # the shop sends an order whose address has no house number
            order = shop.create_order(email="sanne@example.nl")
            unnumbered = {**order["shipping_address"], "address1": "Hoofdstraat", "zip": "1234 AB", "city": "Amsterdam"}
            shop.update_order(order["id"], shipping_address=unnumbered)
            delivery = shop.send("orders/create", shop.order(order["id"]), f"{web.url}/webhooks/shopify")
            assert delivery.status_code == 200, delivery.text

            tick(services)
            drain(env)

            assert [h["handle"] for h in shop.holds(order["id"])] != []
            (email,) = mail.received
            assert email.rcpt_tos == ["sanne@example.nl"]
            assert email.message["Subject"] == "Bestelling #1001: wil je je bezorgadres controleren?"
            link = fix_link(email.body("plain"))

            # the customer, on a phone, without JavaScript
            page.goto(link)
            assert page.locator("h1").inner_text() == "Verbeter je bezorgadres"
            assert "het huisnummer ontbreekt" in page.locator("#problems").inner_text()
            page.get_by_label("Postcode").fill("1234 AB")
            page.get_by_label("Huisnummer").fill("12")
            page.get_by_role("button", name="Straat en plaats opzoeken").click()
            assert page.get_by_label("Straat").input_value() == "Hoofdstraat"
            assert page.get_by_label("Plaats").input_value() == "Amsterdam"
            page.get_by_role("button", name="Adres opslaan").click()
            assert page.locator("#confirmation").inner_text() == "Bedankt, je adres is opgeslagen"
            assert page.locator("#delivery").inner_text() == (
                "We versturen je bestelling nu. Verwachte bezorgdatum: woensdag 25 november."
            )

            # what the submit did, in our database
            with services.sessions() as session:
                row = session.scalars(select(OrderRow)).one()
                address = codec.load_order(row.data).shipping_address
                incident = session.scalars(select(IncidentRow)).one()
                token = session.scalars(select(FixToken)).one()
                logged = session.scalars(select(EmailLog)).all()
            assert address is not None
            assert (address.address1, address.house_number, address.postcode, address.city) == (
                "Hoofdstraat 12",
                "12",
                "1234 AB",
                "Amsterdam",
            )
            assert (incident.state, incident.resolution) == ("resolved", "address corrected by customer")
            assert token.used_at == now
            assert len(logged) == 1
            fix_steps = [(kind, step) for kind, step, _ in action_keys(services) if step.startswith("address:fix-")]
            assert fix_steps == [
                ("update_address", f"address:fix-{token.id}-address"),
                ("release_hold", f"address:fix-{token.id}-release"),
                ("add_note", f"address:fix-{token.id}-note"),
            ]

            # the outbox writes it to the shop: new address, no hold of ours, the staff note
            report = drain(env)
            assert report.failed == 0
            assert all(state == "done" for _, _, state in action_keys(services))
            on_shop = shop.order(order["id"])
            assert (on_shop["shipping_address"]["address1"], on_shop["shipping_address"]["zip"]) == (
                "Hoofdstraat 12",
                "1234 AB",
            )
            assert shop.holds(order["id"]) == []
            assert "adres gecorrigeerd door de klant via de herstellink: Hoofdstraat 12, 1234 AB Amsterdam." in (
                on_shop["note"] or ""
            )

            # the next tick sees the corrected address and stays quiet; the link is used up
            before = action_keys(services)
            tick(services)
            assert action_keys(services) == before
            page.goto(link)
            assert page.locator("h1").inner_text() == "Deze link is al gebruikt"
            assert len(mail.received) == 1
