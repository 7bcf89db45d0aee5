"""A shop that came in through the Shopify install (no entry in the config file) works on every shop-scoped path.

Its policies are the shared defaults (``Settings.policies_for``); the fix page, the dashboard and the tick
must all find them instead of answering 500 or skipping the shop.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from connector.address import fixlinks
from connector.crypto import SecretBox
from connector.model import Address
from connector.platforms.shopify.install import TokenSet, store_installation
from connector.policies.engine import run_tick
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, IncidentRow, OrderRow
from tests.admin.builders import account
from tests.admin.web import sign_in
from tests.conftest import make_settings
from tests.notify.support import Clock, make_order, open_incident, store
from webhooks import create_app

SHOP_ID = "fietsen-test"  # the id the install gives fietsen-test.myshopify.com


@pytest.fixture
def services(db_url: str, engine: Engine, now: datetime) -> Services:
    """Only the WooCommerce shop is configured; the Shopify shop was installed through OAuth."""
    configured = [shop.model_dump(exclude_none=True) for shop in make_settings(db_url).shops if shop.id != "fietsen"]
    services = Services.build(make_settings(db_url, shops=configured), engine=engine, clock=Clock(now))
    with transaction(services.sessions) as session:
        tokens = TokenSet("shpat_installed", "read_orders,write_orders", now + timedelta(hours=1), "shprt_1")
        row = store_installation(
            session, "fietsen-test.myshopify.com", tokens, SecretBox(services.settings.secret_key), now
        )
        assert row.id == SHOP_ID
    services.shops.invalidate()
    with pytest.raises(KeyError):
        services.settings.shop(SHOP_ID)  # given: the shop is not in the file
    return services


@pytest.fixture
def client(services: Services) -> FlaskClient:
    app: Flask = create_app(services)
    app.config["TESTING"] = True
    return app.test_client()


def _fix_link(services: Services, order_id: int) -> str:
    incident_id = open_incident(services, SHOP_ID, order_id)
    with transaction(services.sessions) as session:
        fixlinks.issue(
            session,
            token_id="tok-installed",
            shop_id=SHOP_ID,
            order_id=order_id,
            incident_id=incident_id,
            now=services.now(),
            valid_days=7,
        )
    return "/fix/" + fixlinks.sign(services.settings.secret_key, "tok-installed")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


def test_the_fix_page_opens_and_saves_for_an_installed_shop(services: Services, client: FlaskClient) -> None:
    order_id = store(services, make_order(shop_id=SHOP_ID))
    url = _fix_link(services, order_id)

    page = client.get(url)
    assert page.status_code == 200
    fields: dict[str, Any] = {
        "postcode": "1234 AB",
        "house_number": "12",
        "house_number_addition": "",
        "street": "Hoofdstraat",
        "city": "Amsterdam",
        "csrf_token": _csrf(page.get_data(as_text=True)),
        "action": "save",
    }
    saved = client.post(url, data=fields)

    assert saved.status_code == 200
    assert "Bedankt, je adres is opgeslagen" in saved.get_data(as_text=True)
    with services.sessions() as session:
        incident = session.scalars(select(IncidentRow)).one()
        kinds = [a.kind for a in session.scalars(select(ActionRow).order_by(ActionRow.id))]
    assert (incident.state, incident.resolution) == ("resolved", "address corrected by customer")
    assert kinds == ["update_address", "release_hold", "add_note"]


def test_the_dashboard_shows_an_installed_shop(services: Services, client: FlaskClient) -> None:
    with services.sessions() as session:
        account(session, "anna", [SHOP_ID], services.now())
        session.commit()
    assert sign_in(client, "anna").status_code in (302, 303)

    page = client.get("/admin/")

    assert page.status_code == 200
    assert SHOP_ID in page.get_data(as_text=True)


def test_the_tick_applies_the_default_policies_to_an_installed_shop(services: Services) -> None:
    no_number = Address(
        first_name="Daan", last_name="Kerkstra", address1="Hoofdstraat", postcode="1234 AB", city="Amsterdam",
        country_code="NL", street="Hoofdstraat",
    )  # fmt: skip
    store(services, make_order(shop_id=SHOP_ID, shipping_address=no_number))

    report = run_tick(services, services.now())

    assert (report.evaluated, report.errors, report.incidents_opened) == (1, 0, 1)
    with services.sessions() as session:
        incident = session.scalars(select(IncidentRow)).one()
        order = session.scalars(select(OrderRow)).one()
        kinds = sorted(a.kind for a in session.scalars(select(ActionRow)))
    assert (incident.shop_id, incident.kind, order.shop_id) == (SHOP_ID, "address", SHOP_ID)
    assert kinds == ["add_note", "add_tags", "hold_fulfillment", "notify_customer"]
