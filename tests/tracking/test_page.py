# ruff: noqa: E501  (the expected page text is kept as the customer reads it)
"""The tracking page over HTTP: what a customer sees, what bad links and lookups get, and what is stored."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from connector import privacy
from connector.address import fixlinks
from connector.model import Customer, CustomerRef, EventKind, OrderEvent
from connector.services import Services
from connector.store.tables import ActionRow, FixToken, OrderRow, TrackingView
from connector.tracking import links
from tests.notify.support import Clock
from tests.tracking import stored
from tests.tracking.support import NOW, delivered, held_for_address, late, local

SECRET = "test-secret-key-0123456789abcdef"  # tests.conftest.make_settings
HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def app(services: Services, clock: Clock) -> Flask:
    clock.now = NOW
    return _app(services)


def _app(services: Services) -> Flask:
    from webhooks import create_app

    return create_app(services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def url(external_id: str = "1001", shop_id: str = "fietsen") -> str:
    return f"/track/{links.token_for(SECRET, shop_id, external_id)}"


def text_of(response: TestResponse) -> str:
    """The words in the page's body, as a reader sees them."""
    main = response.get_data(as_text=True).split("<main>", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def assert_contract(response: TestResponse, status: int, lang: str) -> None:
    assert response.status_code == status
    for name, value in HEADERS.items():
        assert response.headers[name] == value, name
    assert response.headers["Content-Language"] == lang
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert "<script" not in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def views(services: Services) -> list[tuple[int, int]]:
    with services.sessions() as session:
        return [(row.order_id, row.views) for row in session.scalars(select(TrackingView))]


@pytest.fixture
def late_order(services: Services, clock: Clock) -> int:
    """The late parcel of the demo: a delay notice sent, a new date promised, a voucher created."""
    clock.now = NOW
    order_id = stored.put(services, late())
    incident_id = stored.incident(services, order_id, "shipment_delay", {"reason": "no_scan", "level": 1})
    stored.told(services, order_id, incident_id)
    stored.promised(services, order_id, date(2026, 11, 30))
    stored.voucher(services, order_id, created=True, expires_at=local(22, 23, 59) + timedelta(days=88))
    return order_id


LATE_PAGE_NL = (
    "English Fietsenwinkel Één Bestelling #1001 Besteld op 23 november 2026 Je bestelling is onderweg. "
    "Wanneer het aankomt De nieuwe verwachte bezorgdatum is maandag 30 november. "
    "Wat er is gebeurd Je pakket is al een paar dagen niet gescand door PostNL, dus we weten niet precies waar het is. "
    "Als klein gebaar krijg je van ons een kortingscode voor je volgende bestelling: OC-7KQ2M9 (10% korting, geldig tot en met 18 februari 2027). "
    "Wat je kunt doen Een probleem melden Mail Fietsenwinkel Één Vragen? Mail Fietsenwinkel Één via help@fietsenwinkel.example . "
    "Je pakket PostNL · track-and-trace-code 3SABCD1234567 "
    "dinsdag 24 november, 07:30 Onderweg met PostNL (Nieuwegein) "
    "maandag 23 november, 18:00 Overgedragen aan PostNL (Amsterdam) "
    "maandag 23 november, 15:00 Verstuurd met PostNL "
    "In je bestelling 2× Fietsbel"
)


def test_the_page_of_a_late_order(client: FlaskClient, services: Services, late_order: int) -> None:
    response = client.get(url())
    assert_contract(response, 200, "nl")
    assert text_of(response) == LATE_PAGE_NL
    html = response.get_data(as_text=True)
    assert "<title>Bestelling #1001 · Fietsenwinkel Één</title>" in html
    assert '<a class="button secondary" id="action-contact" href="mailto:help@fietsenwinkel.example">' in html
    assert "Set-Cookie" not in response.headers
    assert views(services) == [(late_order, 1)]


def test_the_page_shows_nothing_personal(client: FlaskClient, services: Services, late_order: int) -> None:
    with services.sessions() as session:
        row = session.get(OrderRow, late_order)
        assert row is not None
        data = row.data
    assert data["customer"]["email"] == "sanne@example.nl"  # the order has them; the page must not show them
    html = client.get(url()).get_data(as_text=True) + client.get(url() + "?lang=en").get_data(as_text=True)
    for personal in ("sanne@example.nl", "Sanne", "de Vries", "Hoofdstraat", "1234 AB", "1234AB", "+31", "12a"):
        assert personal not in html, personal


def test_a_phone_number_stays_off_the_page(client: FlaskClient, services: Services, clock: Clock) -> None:
    clock.now = NOW
    customer = Customer(external_id="77", first_name="Sanne", email="sanne@example.nl", phone="+31612345678")
    stored.put(services, replace(late(), customer=customer))
    html = client.get(url()).get_data(as_text=True)
    assert "+31612345678" not in html
    assert "0612345678" not in html


def test_english_for_a_customer_who_reads_english_and_when_asked(
    client: FlaskClient, services: Services, clock: Clock
) -> None:
    clock.now = NOW
    stored.put(services, replace(late(), customer=Customer(email="sanne@example.nl", locale="en-GB")))
    english = client.get(url())
    assert_contract(english, 200, "en")
    assert "Order #1001 Ordered on 23 November 2026 Your order is on its way." in text_of(english)
    dutch = client.get(url() + "?lang=nl")
    assert_contract(dutch, 200, "nl")
    assert "Je bestelling is onderweg." in text_of(dutch)


def test_views_are_counted_per_order_without_the_visitor(
    client: FlaskClient, services: Services, late_order: int
) -> None:
    client.get(url(), headers={"X-Forwarded-For": "203.0.113.7", "User-Agent": "Telefoon"})
    client.get(url(), environ_base={"REMOTE_ADDR": "198.51.100.23"})
    client.head(url())
    assert views(services) == [(late_order, 2)]
    with services.sessions() as session:
        row = session.scalars(select(TrackingView)).one()
        kept = " ".join(str(getattr(row, c.key)) for c in TrackingView.__table__.columns)
        assert (row.first_viewed_at, row.last_viewed_at) == (NOW, NOW)
    for visitor in ("203.0.113.7", "198.51.100.23", "Telefoon", "127.0.0.1"):
        assert visitor not in kept


def test_an_incident_shows_only_once_the_customer_was_told(
    client: FlaskClient, services: Services, clock: Clock
) -> None:
    clock.now = NOW
    order_id = stored.put(services, late())
    incident_id = stored.incident(services, order_id, "shipment_delay", {"reason": "no_scan", "level": 1})
    stored.action(services, order_id, "planned-notify", incident_id=incident_id, state="pending")
    assert "Wat er is gebeurd" not in text_of(client.get(url()))
    stored.told(services, order_id, incident_id)
    assert "Wat er is gebeurd Je pakket is al een paar dagen niet gescand door PostNL" in text_of(client.get(url()))


def test_a_voucher_shows_only_once_the_shop_created_it_and_until_it_expires(
    client: FlaskClient, services: Services, clock: Clock
) -> None:
    clock.now = NOW
    order_id = stored.put(services, late())
    stored.voucher(services, order_id, created=False, expires_at=NOW + timedelta(days=30))
    assert "OC-7KQ2M9" not in text_of(client.get(url()))
    with services.sessions.begin() as session:
        session.execute(update(ActionRow).where(ActionRow.kind == "create_voucher").values(state="done"))
    assert "OC-7KQ2M9 (10% korting, geldig tot en met 27 december 2026)" in text_of(client.get(url()))
    clock.now = NOW + timedelta(days=30) - timedelta(seconds=1)
    assert "OC-7KQ2M9" in text_of(client.get(url()))
    clock.now = NOW + timedelta(days=30)
    assert "OC-7KQ2M9" not in text_of(client.get(url()))


def test_the_fix_button_leads_to_a_working_fix_link_only(client: FlaskClient, services: Services, clock: Clock) -> None:
    clock.now = NOW
    order_id = stored.put(services, held_for_address())
    incident_id = stored.incident(services, order_id, "address", {"problems": ["missing_house_number"], "held": True})
    stored.told(services, order_id, incident_id, "address_question")
    stored.fix_token(services, order_id, incident_id)
    response = client.get(url())
    fix = fixlinks.fix_url("http://127.0.0.1:8000", fixlinks.sign(SECRET, "tok-1"))
    assert (
        f'<a class="button primary" id="action-fix_address" href="{fix}">Mijn adres verbeteren</a>'
        in response.get_data(as_text=True)
    )
    assert "Je bestelling wacht op het juiste bezorgadres. " in text_of(response)
    with services.sessions() as session:
        token = session.get(FixToken, "tok-1")
        assert token is not None
        token.used_at = NOW
        session.commit()
    assert "action-fix_address" not in client.get(url()).get_data(as_text=True)


# --- links that do not work -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "WyJmaWV0c2VuIiwiMTAwMSJd.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        links.token_for("another-secret-key-0123456789", "fietsen", "1001"),
        links.token_for(SECRET, "nosuchshop", "1001"),
        links.token_for(SECRET, "fietsen", "9999"),  # signed, but no such order
    ],
)
def test_a_forged_or_unknown_link_gets_a_plain_page_in_the_browsers_language(
    client: FlaskClient, services: Services, late_order: int, token: str
) -> None:
    response = client.get(f"/track/{token}", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert_contract(response, 404, "en")
    assert text_of(response) == (
        "This link does not work The link is incomplete or no longer works. Please open it again from our e-mail."
    )
    assert views(services) == []
    dutch = client.get(f"/track/{token}")
    assert_contract(dutch, 404, "nl")
    assert (
        text_of(dutch)
        == "Deze link werkt niet De link is onvolledig of werkt niet meer. Open hem opnieuw vanuit onze e-mail."
    )


def test_the_link_expires_60_days_after_delivery(client: FlaskClient, services: Services, clock: Clock) -> None:
    arrived = local(25, 13, 10)
    stored.put(services, delivered())
    clock.now = arrived + timedelta(days=60) - timedelta(seconds=1)
    assert client.get(url()).status_code == 200
    clock.now = arrived + timedelta(days=60)
    response = client.get(url())
    assert_contract(response, 410, "nl")
    assert text_of(response) == (
        "Fietsenwinkel Één Deze pagina is niet meer beschikbaar De pagina van een bestelling blijft beschikbaar tot "
        "60 dagen nadat hij is bezorgd of geannuleerd. Vragen? Mail Fietsenwinkel Één via help@fietsenwinkel.example ."
    )
    assert [count for _, count in views(services)] == [1]  # the expired visit is not counted


def test_the_link_dies_with_the_customers_data_erasure(
    client: FlaskClient, services: Services, late_order: int
) -> None:
    assert client.get(url()).status_code == 200
    shop = services.shops.get("fietsen")
    assert shop is not None
    redact = OrderEvent(
        kind=EventKind.CUSTOMER_REDACT, topic="customers/redact", dedupe_key="r1", occurred_at=NOW,
        customer=CustomerRef(email="sanne@example.nl"),
    )  # fmt: skip
    with services.sessions.begin() as session:
        privacy.HANDLERS[EventKind.CUSTOMER_REDACT](session, shop, redact, NOW)
    with services.sessions() as session:
        row = session.get(OrderRow, late_order)
        assert row is not None
        assert row.data["extra"] == {"redacted": True}  # erasure keeps the row, redacted
    response = client.get(url())
    assert_contract(response, 404, "nl")
    assert "Deze link werkt niet" in text_of(response)
    assert "#1001" not in response.get_data(as_text=True)


def test_the_page_only_answers_get(client: FlaskClient, late_order: int) -> None:
    assert client.post(url()).status_code == 405
    assert client.put(url()).status_code == 405


# --- the lookup form -------------------------------------------------------------------------------


def csrf(response: TestResponse) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', response.get_data(as_text=True))
    assert match, "the form carries a CSRF token"
    return match.group(1)


def look_up(client: FlaskClient, number: str, check: str, **extra: str) -> TestResponse:
    form = client.get("/track/lookup/fietsen")
    return client.post(
        "/track/lookup/fietsen", data={"order": number, "check": check, "csrf_token": csrf(form), **extra}
    )


def test_the_lookup_form(client: FlaskClient) -> None:
    response = client.get("/track/lookup/fietsen?order=%231001")
    assert_contract(response, 200, "nl")
    assert text_of(response) == (
        "English Fietsenwinkel Één Waar is mijn bestelling? Vul je bestelnummer in en de postcode van het bezorgadres, "
        "of het e-mailadres waarmee je bestelde. Bestelnummer Postcode of e-mailadres Toon mijn bestelling"
    )
    html = response.get_data(as_text=True)
    assert '<input type="text" id="f-order" name="order" value="#1001"' in html
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ordercare_track=")
    for part in ("HttpOnly", "SameSite=Lax", "Path=/track/"):
        assert part in cookie
    english = client.get("/track/lookup/fietsen", headers={"Accept-Language": "en"})
    assert_contract(english, 200, "en")
    assert "Where is my order?" in text_of(english)


@pytest.mark.parametrize(
    ("number", "check"), [("#1001", "1234ab"), ("1001", " 1234  AB"), ("1001", "Sanne@Example.NL")]
)
def test_the_right_postcode_or_email_leads_to_the_page(
    client: FlaskClient, late_order: int, number: str, check: str
) -> None:
    response = look_up(client, number, check)
    assert response.status_code == 303
    assert response.headers["Location"] == url()
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get(response.headers["Location"]).status_code == 200


def test_the_page_after_a_lookup_speaks_the_orders_language_unless_the_visitor_chose_one(
    client: FlaskClient, services: Services, clock: Clock
) -> None:
    clock.now = NOW
    stored.put(services, replace(late(), customer=Customer(email="sanne@example.nl", locale="en")))
    form = client.get("/track/lookup/fietsen")  # the shop's language: Dutch
    assert 'name="lang"' not in form.get_data(as_text=True)
    data = {"order": "1001", "check": "1234 AB", "csrf_token": csrf(form)}
    found = client.post("/track/lookup/fietsen", data=data)
    assert found.headers["Location"] == url()
    assert "Your order is on its way." in text_of(client.get(found.headers["Location"]))
    chosen = client.get("/track/lookup/fietsen?lang=nl")
    assert '<input type="hidden" name="lang" value="nl">' in chosen.get_data(as_text=True)
    found = client.post("/track/lookup/fietsen", data={**data, "csrf_token": csrf(chosen), "lang": "nl"})
    assert found.headers["Location"] == url() + "?lang=nl"
    assert "Je bestelling is onderweg." in text_of(client.get(found.headers["Location"]))


NOT_FOUND_NL = (
    "We kunnen geen bestelling vinden met dit nummer en deze postcode of dit e-mailadres. Kijk ze allebei even na."
)


@pytest.mark.parametrize(
    ("number", "check"), [("1001", "1234 AC"), ("1001", "piet@example.nl"), ("1002", "1234 AB"), ("#9999", "1234 AB")]
)
def test_a_wrong_postcode_and_an_unknown_order_get_the_same_answer(
    client: FlaskClient, services: Services, late_order: int, number: str, check: str
) -> None:
    response = look_up(client, number, check)
    assert_contract(response, 404, "nl")
    assert NOT_FOUND_NL in text_of(response)
    assert "Location" not in response.headers
    assert views(services) == []


def test_the_answer_for_a_wrong_postcode_reveals_nothing_more_than_for_an_unknown_order(
    client: FlaskClient, late_order: int
) -> None:
    wrong, unknown = look_up(client, "1001", "9999 ZZ"), look_up(client, "8888", "9999 ZZ")
    assert (wrong.status_code, text_of(wrong)) == (unknown.status_code, text_of(unknown))


def test_an_erased_order_cannot_be_looked_up(client: FlaskClient, services: Services, late_order: int) -> None:
    shop = services.shops.get("fietsen")
    assert shop is not None
    redact = OrderEvent(
        kind=EventKind.CUSTOMER_REDACT, topic="customers/redact", dedupe_key="r1", occurred_at=NOW,
        customer=CustomerRef(email="sanne@example.nl"),
    )  # fmt: skip
    with services.sessions.begin() as session:
        privacy.HANDLERS[EventKind.CUSTOMER_REDACT](session, shop, redact, NOW)
    assert look_up(client, "1001", "sanne@example.nl").status_code == 404
    assert look_up(client, "1001", "1234 AB").status_code == 404


def test_a_lookup_without_the_forms_token_is_refused(client: FlaskClient, late_order: int) -> None:
    response = client.post("/track/lookup/fietsen", data={"order": "1001", "check": "1234 AB", "csrf_token": "0" * 64})
    assert_contract(response, 400, "nl")
    assert text_of(response).startswith("Fietsenwinkel Één Probeer het nog eens")


def test_both_fields_are_needed(client: FlaskClient, late_order: int) -> None:
    response = look_up(client, "1001", "  ")
    assert_contract(response, 422, "nl")
    assert "Vul allebei de velden in." in text_of(response)


def test_an_unknown_shop_has_no_lookup_form(client: FlaskClient) -> None:
    for response in (client.get("/track/lookup/nosuchshop"), client.post("/track/lookup/nosuchshop", data={})):
        assert_contract(response, 404, "nl")
        assert text_of(response) == "Deze pagina bestaat niet Kijk het adres van de pagina even na."


def test_a_flood_of_lookups_is_refused_until_the_window_ends(
    client: FlaskClient, services: Services, clock: Clock, late_order: int
) -> None:
    for _ in range(5):
        assert look_up(client, "1001", "9999 ZZ").status_code == 404
    clock.now = NOW + timedelta(minutes=3)
    refused = look_up(client, "1001", "1234 AB")  # even the right postcode, for the rest of the window
    assert_contract(refused, 429, "nl")
    assert refused.headers["Retry-After"] == str(12 * 60)
    assert "Te veel pogingen. Probeer het over 12 minuten opnieuw." in text_of(refused)
    english = look_up(client, "1001", "1234 AB", lang="en")
    assert_contract(english, 429, "en")
    assert "Too many attempts. Please try again in 12 minutes." in text_of(english)
    assert look_up(client, "1002", "1234 AB").status_code == 404  # another number is not blocked
    clock.now = NOW + timedelta(minutes=15)
    assert look_up(client, "1001", "1234 AB").status_code == 303


def test_four_failures_do_not_block_the_customer(client: FlaskClient, late_order: int) -> None:
    for _ in range(4):
        assert look_up(client, "1001", "9999 ZZ").status_code == 404
    assert look_up(client, "1001", "1234 AB").status_code == 303
