"""The shop's colours on its customer pages: the tracking page, the lookup form and the address-fix page."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from connector.address import fixlinks
from connector.services import Services
from connector.store.db import transaction
from connector.tracking import links
from tests.notify.conftest import notify_settings
from tests.notify.support import Clock, make_order, open_incident, store
from tests.tracking import stored
from tests.tracking.support import NOW, placed
from webhooks import create_app

SECRET = "test-secret-key-0123456789abcdef"
YELLOW = ":root { --brand: #ffd400; --on-brand: #1d1d1b; --brand-ink: #00457c; --accent: #00457c; }"
OWN = ":root { --brand: #1f6f43; --on-brand: #ffffff; --brand-ink: #1f6f43; --accent: #1f5fa8; }"


@pytest.fixture
def branded(db_url: str, engine: Engine, clock: Clock, smtp: Any) -> Services:
    """Fietsenwinkel in yellow with a dark blue accent; Theewinkel without colours of its own."""
    clock.now = NOW
    settings = notify_settings(db_url, smtp.port)
    shops: list[dict[str, Any]] = [shop.model_dump(exclude_none=True) for shop in settings.shops]
    shops[0]["brand"] = {"colour": "#FFD400", "accent": "#00457C"}
    return Services.build(notify_settings(db_url, smtp.port, shops=shops), engine=engine, clock=clock)


@pytest.fixture
def client(branded: Services) -> FlaskClient:
    return create_app(branded).test_client()


def test_the_tracking_page_is_in_the_shop_s_colours(client: FlaskClient, branded: Services) -> None:
    stored.put(branded, placed())
    html = client.get(f"/track/{links.token_for(SECRET, 'fietsen', '1001')}").get_data(as_text=True)
    assert YELLOW in html
    assert OWN not in html


def test_the_lookup_forms_are_in_each_shop_s_colours(client: FlaskClient) -> None:
    assert YELLOW in client.get("/track/lookup/fietsen").get_data(as_text=True)
    assert OWN in client.get("/track/lookup/theewinkel").get_data(as_text=True)


def test_a_page_that_names_no_shop_is_in_ordercare_s_colours(client: FlaskClient) -> None:
    for url in ("/track/nonsense", "/fix/nonsense"):
        html = client.get(url).get_data(as_text=True)
        assert OWN in html, url


def test_the_fix_page_is_in_the_shop_s_colours(client: FlaskClient, branded: Services) -> None:
    order_id = store(branded, make_order())
    incident_id = open_incident(branded, "fietsen", order_id)
    with transaction(branded.sessions) as session:
        fixlinks.issue(
            session,
            token_id="tok-1",
            shop_id="fietsen",
            order_id=order_id,
            incident_id=incident_id,
            now=branded.now(),
            valid_days=7,
        )
    html = client.get(f"/fix/{fixlinks.sign(SECRET, 'tok-1')}").get_data(as_text=True)
    assert YELLOW in html
