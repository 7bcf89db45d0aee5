"""The address-fix page: what the customer sees, what a good submit changes, and what bad links change (nothing)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connector import codec
from connector.address import fixlinks
from connector.address.check import LookupResult
from connector.model import Address, Customer
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, FixToken, IncidentRow, OrderRow
from tests.notify.support import Clock, FakeLookup, make_order, open_incident, store
from webhooks import create_app
from webhooks.fix import LOOKUP_EXTENSION


@pytest.fixture
def lookup() -> FakeLookup:
    return FakeLookup({("1234AB", "12"): LookupResult("Hoofdstraat", "Amsterdam", "1234AB")})


@pytest.fixture
def app(services: Services, lookup: FakeLookup) -> Flask:
    app = create_app(services)
    app.extensions[LOOKUP_EXTENSION] = lookup
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def stored(services: Services) -> dict[str, Any]:
    order_id = store(services, make_order())
    incident_id = open_incident(services, "fietsen", order_id)
    with transaction(services.sessions) as session:
        token = fixlinks.issue(
            session,
            token_id="tok-1",
            shop_id="fietsen",
            order_id=order_id,
            incident_id=incident_id,
            now=services.now(),
            valid_days=7,
        )
        expires_at = token.expires_at
    signed = fixlinks.sign(services.settings.secret_key, "tok-1")
    return {"order_id": order_id, "incident_id": incident_id, "url": f"/fix/{signed}", "expires_at": expires_at}


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def form(client: FlaskClient, url: str, **fields: str) -> dict[str, str]:
    page = client.get(url).get_data(as_text=True)
    values = {"postcode": "", "house_number": "", "house_number_addition": "", "street": "", "city": ""}
    values.update(fields)
    values["csrf_token"] = csrf(page)
    return values


def snapshot(services: Services) -> dict[str, Any]:
    """Everything a submit may change, to compare before and after."""
    with services.sessions() as session:
        order = session.scalars(select(OrderRow)).one()
        incident = session.scalars(select(IncidentRow)).one()
        token = session.scalars(select(FixToken)).one()
        actions = [
            (a.kind, a.idempotency_key, a.payload) for a in session.scalars(select(ActionRow).order_by(ActionRow.id))
        ]
        return {
            "address": order.data["shipping_address"],
            "next_check_at": order.next_check_at,
            "incident": (incident.state, incident.resolution),
            "used_at": token.used_at,
            "actions": actions,
        }


def text_of(response: Any) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_page_shows_the_order_the_address_and_what_is_wrong(client: FlaskClient, stored: dict[str, Any]) -> None:
    response = client.get(stored["url"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    text = text_of(response)
    assert '<html lang="nl">' in html
    assert "<title>Verbeter je bezorgadres</title>" in html
    assert "Bestelling #1001 : 2× Fietsbel" in text
    assert "Het adres dat we nu hebben Hoofdstraat 1234 AB Amsterdam NL" in text
    assert "Wat er niet klopt het huisnummer ontbreekt" in text
    for name, label in [
        ("postcode", "Postcode"),
        ("house_number", "Huisnummer"),
        ("house_number_addition", "Toevoeging (optioneel)"),
        ("street", "Straat"),
        ("city", "Plaats"),
    ]:
        assert f'<label for="f-{name}">{label}</label>' in html
        assert f'id="f-{name}" name="{name}"' in html
    assert 'name="action" value="lookup"' in html
    assert 'name="action" value="save"' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "<script" not in html
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ordercare_fix=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_english_when_asked(client: FlaskClient, stored: dict[str, Any]) -> None:
    text = text_of(client.get(stored["url"] + "?lang=en"))
    assert "Correct your delivery address" in text
    assert "What is wrong the house number is missing" in text


def test_look_up_fills_street_and_city_and_changes_nothing(
    client: FlaskClient, services: Services, stored: dict[str, Any], lookup: FakeLookup
) -> None:
    before = snapshot(services)
    data = form(client, stored["url"], postcode="1234ab", house_number="12", action="lookup")
    response = client.post(stored["url"], data={**data, "action": "lookup"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="street" value="Hoofdstraat"' in html
    assert 'name="city" value="Amsterdam"' in html
    assert 'name="postcode" value="1234 AB"' in html
    assert "We hebben straat en plaats ingevuld." in html
    assert lookup.calls == [("NL", "1234ab", "12")]
    assert snapshot(services) == before


def test_look_up_of_an_unknown_address_says_so_next_to_the_postcode(
    client: FlaskClient, services: Services, stored: dict[str, Any]
) -> None:
    before = snapshot(services)
    data = form(client, stored["url"], postcode="9999 ZZ", house_number="1")
    html = client.post(stored["url"], data={**data, "action": "lookup"}).get_data(as_text=True)
    assert re.search(
        r'id="f-postcode"[^>]*aria-invalid="true" aria-describedby="e-postcode">\s*'
        r'<p class="error" id="e-postcode">We kunnen deze postcode met dit huisnummer niet vinden.</p>',
        html,
    )
    assert snapshot(services) == before


def test_lookup_down_lets_the_customer_type(client: FlaskClient, stored: dict[str, Any], lookup: FakeLookup) -> None:
    lookup.down = True
    data = form(client, stored["url"], postcode="1234 AB", house_number="12")
    html = client.post(stored["url"], data={**data, "action": "lookup"}).get_data(as_text=True)
    assert "Opzoeken lukt nu even niet. Typ straat en plaats zelf in." in html


def test_a_good_address_is_accepted_in_one_go(
    client: FlaskClient, services: Services, stored: dict[str, Any], clock: Clock
) -> None:
    data = form(client, stored["url"], postcode="1234ab", house_number="12a", street="Hoofdstraat", city="Amsterdam")
    response = client.post(stored["url"], data={**data, "action": "save"})

    assert response.status_code == 200
    text = text_of(response)
    assert "Bedankt, je adres is opgeslagen" in text
    assert "Bedankt, Sanne!" in text
    assert "We hebben dit adres opgeslagen voor bestelling #1001: Hoofdstraat 12 a 1234 AB Amsterdam NL" in text
    # Tuesday 10:00 in Amsterdam, before the 18:00 cut-off: out today, delivered Wednesday
    assert "We versturen je bestelling nu. Verwachte bezorgdatum: woensdag 25 november." in text

    after = snapshot(services)
    address = codec.load_address(after["address"])
    assert address == Address(
        first_name="Sanne",
        last_name="de Vries",
        address1="Hoofdstraat 12 a",
        postcode="1234 AB",
        city="Amsterdam",
        country_code="NL",
        street="Hoofdstraat",
        house_number="12",
        house_number_addition="a",
    )
    now = clock.now
    assert after["next_check_at"] == now
    assert after["incident"] == ("resolved", "address corrected by customer")
    assert after["used_at"] == now
    assert after["actions"] == [
        ("update_address", "fietsen:1001:address:fix-tok-1-address", {"address": codec.dump(address)}),
        ("release_hold", "fietsen:1001:address:fix-tok-1-release", {}),
        (
            "add_note",
            "fietsen:1001:address:fix-tok-1-note",
            {
                "text": "24 nov 2026 10:00 ordercare: adres gecorrigeerd door de klant via de herstellink: "
                "Hoofdstraat 12 a, 1234 AB Amsterdam."
            },
        ),
    ]
    with services.sessions() as session:
        incident_ids = {a.incident_id for a in session.scalars(select(ActionRow))}
        waits = dict(session.execute(select(ActionRow.kind, ActionRow.after_key)).all())
    assert incident_ids == {stored["incident_id"]}
    # the hold is released only once the shop has the new address
    assert waits == {"update_address": None, "release_hold": "fietsen:1001:address:fix-tok-1-address", "add_note": None}


def test_empty_street_and_city_are_filled_from_the_lookup_on_save(
    client: FlaskClient, services: Services, stored: dict[str, Any]
) -> None:
    data = form(client, stored["url"], postcode="1234 AB", house_number="12")
    response = client.post(stored["url"], data={**data, "action": "save"})
    assert response.status_code == 200
    address = codec.load_address(snapshot(services)["address"])
    assert (address.street, address.house_number, address.city) == ("Hoofdstraat", "12", "Amsterdam")


def test_typed_address_is_accepted_when_the_lookup_is_down(
    client: FlaskClient, services: Services, stored: dict[str, Any], lookup: FakeLookup
) -> None:
    lookup.down = True
    data = form(client, stored["url"], postcode="1234 AB", house_number="7", street="Kerkstraat", city="Amsterdam")
    assert client.post(stored["url"], data={**data, "action": "save"}).status_code == 200
    assert codec.load_address(snapshot(services)["address"]).address1 == "Kerkstraat 7"


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"postcode": "1234 A", "house_number": "12", "street": "Hoofdstraat", "city": "Amsterdam"}, "postcode",
         "Dit is geen geldige postcode, bijv. 1234 AB."),
        ({"postcode": "1234 AB", "house_number": "", "street": "Hoofdstraat", "city": "Amsterdam"}, "house_number",
         "Vul het huisnummer in."),
        ({"postcode": "1234 AB", "house_number": "12", "street": "Hoofdstraat", "city": "Rotterdam"}, "city",
         "Deze postcode hoort niet bij deze plaats."),
        ({"postcode": "1234 AB", "house_number": "12", "street": "H" * 101, "city": "Amsterdam"}, "street",
         "Dit is te lang."),
    ],
)  # fmt: skip
def test_a_bad_address_is_refused_next_to_its_field_and_changes_nothing(
    client: FlaskClient, services: Services, stored: dict[str, Any], fields: dict[str, str], field: str, error: str
) -> None:
    before = snapshot(services)
    data = form(client, stored["url"], **fields)
    response = client.post(stored["url"], data={**data, "action": "save"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<p class="error" id="e-{field}">{error}</p>' in html
    assert "Kijk de gemarkeerde velden hieronder even na." in html
    assert snapshot(services) == before


@pytest.mark.parametrize("token", ["", "0" * 64, "not-the-one"])
def test_missing_or_wrong_csrf_token_is_refused(
    client: FlaskClient, services: Services, stored: dict[str, Any], token: str
) -> None:
    before = snapshot(services)
    data = form(client, stored["url"], postcode="1234 AB", house_number="12", street="Hoofdstraat", city="Amsterdam")
    data["csrf_token"] = token
    response = client.post(stored["url"], data={**data, "action": "save"})
    assert response.status_code == 400
    assert "Probeer het nog eens" in text_of(response)
    assert snapshot(services) == before


def test_a_post_without_the_cookie_is_refused(app: Flask, services: Services, stored: dict[str, Any]) -> None:
    data = form(app.test_client(), stored["url"], postcode="1234 AB", house_number="12")
    other = app.test_client()  # no cookie from the GET
    assert other.post(stored["url"], data={**data, "action": "save"}).status_code == 400
    assert snapshot(services)["used_at"] is None


def test_the_link_works_until_it_expires(
    client: FlaskClient, services: Services, stored: dict[str, Any], clock: Clock
) -> None:
    clock.now = stored["expires_at"] - timedelta(seconds=1)
    assert client.get(stored["url"]).status_code == 200
    data = form(client, stored["url"], postcode="1234 AB", house_number="12", street="Hoofdstraat", city="Amsterdam")
    before = snapshot(services)
    clock.now = stored["expires_at"]
    response = client.get(stored["url"])
    assert response.status_code == 410
    assert "Deze link is verlopen" in text_of(response)
    assert client.post(stored["url"], data={**data, "action": "save"}).status_code == 410
    assert snapshot(services) == before


def test_a_used_link_does_not_work_again(client: FlaskClient, services: Services, stored: dict[str, Any]) -> None:
    data = form(client, stored["url"], postcode="1234 AB", house_number="12", street="Hoofdstraat", city="Amsterdam")
    assert client.post(stored["url"], data={**data, "action": "save"}).status_code == 200
    after_first = snapshot(services)

    second = client.post(stored["url"], data={**data, "street": "Kerkstraat", "action": "save"})
    assert second.status_code == 410
    assert "Deze link is al gebruikt" in text_of(second)
    assert "op dinsdag 24 november verbeterd" in text_of(second)
    # the shop's name and how to reach it
    assert "Vragen? Mail Fietsenwinkel Één via help@fietsenwinkel.example ." in text_of(second)  # text_of spaces tags
    assert '<a href="mailto:help@fietsenwinkel.example">' in second.get_data(as_text=True)
    assert client.get(stored["url"]).status_code == 410
    assert snapshot(services) == after_first


@pytest.mark.parametrize("mangle", ["flip", "foreign", "garbage"])
def test_a_tampered_link_is_not_found(
    client: FlaskClient, services: Services, stored: dict[str, Any], mangle: str
) -> None:
    signed = stored["url"].removeprefix("/fix/")
    url = {
        "flip": "/fix/" + signed[:2] + ("A" if signed[2] != "A" else "B") + signed[3:],
        "foreign": "/fix/" + fixlinks.sign("another-secret-key-0123456789", "tok-1"),
        "garbage": "/fix/" + "x" * 600,
    }[mangle]
    before = snapshot(services)
    response = client.get(url)
    assert response.status_code == 404
    assert "Deze link werkt niet" in text_of(response)  # no order to read a language from: Dutch first
    english = client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9,nl;q=0.5"})
    assert english.status_code == 404
    assert "This link does not work" in text_of(english)
    german = client.get(url, headers={"Accept-Language": "de-DE"})
    assert "Deze link werkt niet" in text_of(german)
    assert client.post(url, data={"csrf_token": "x", "action": "save"}).status_code == 404
    assert snapshot(services) == before


def test_english_customer_gets_english_page(client: FlaskClient, services: Services) -> None:
    customer = Customer(first_name="Tom", email="tom@example.com", locale="en-GB")
    order_id = store(services, make_order("2001", customer=customer))
    with transaction(services.sessions) as session:
        fixlinks.issue(
            session, token_id="tok-en", shop_id="fietsen", order_id=order_id, incident_id=None,
            now=services.now(), valid_days=7,
        )  # fmt: skip
    url = "/fix/" + fixlinks.sign(services.settings.secret_key, "tok-en")
    page = client.get(url)
    assert '<html lang="en">' in page.get_data(as_text=True)
    data = form(client, url, postcode="1234 AB", house_number="12", street="Hoofdstraat", city="Amsterdam")
    done = text_of(client.post(url, data={**data, "action": "save"}))
    assert "Thank you, Tom!" in done
    assert "We are sending your order now. Expected delivery: Wednesday 25 November." in done


def test_the_page_looks_addresses_up_only_with_a_configured_provider(db_url: str) -> None:
    from connector.address.check import PdokLookup
    from tests.conftest import make_settings
    from webhooks import create_app as build_app
    from webhooks.fix import _lookup

    for policies, expected in (({}, type(None)), ({"address": {"lookup": {"provider": "pdok"}}}, PdokLookup)):
        services = Services.build(make_settings(db_url, policies=policies))
        shop = services.shops.get("fietsen")
        assert shop is not None
        with build_app(services).app_context():
            assert type(_lookup(services, shop)) is expected


def test_english_errors_are_english(client: FlaskClient, stored: dict[str, Any]) -> None:
    data = form(client, stored["url"] + "?lang=en", postcode="1234 AB", street="Hoofdstraat", city="Amsterdam")
    response = client.post(stored["url"], data={**data, "lang": "en", "action": "save"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="error" id="e-house_number">Please fill in the house number.</p>' in html
    assert "Please check the fields marked below." in html


def test_both_languages_have_words_for_every_message(app: Flask) -> None:
    codes = {
        "missing_address", "unsupported_country", "missing_street", "missing_house_number", "house_number_not_numeric",
        "missing_postcode", "postcode_format", "missing_city", "postcode_city_mismatch",  # connector.address.check
        "required", "too_long", "not_found", "lookup_down", "lookup_done", "has_errors",  # connector.address.form
    }  # fmt: skip
    copies = {lang: app.jinja_env.get_template(f"fix/{lang}/copy.html").module for lang in ("nl", "en")}
    names = {lang: {n for n in dir(module) if not n.startswith("_")} for lang, module in copies.items()}
    assert names["nl"] == names["en"]
    assert {"title", "labels", "message", "gone_title", "done_greeting"} <= names["nl"]
    for module in copies.values():
        fallback = str(module.message("missing_address", "1234 AB"))  # type: ignore[attr-defined]
        said = {code: str(module.message(code, "1234 AB")) for code in codes}  # type: ignore[attr-defined]
        assert [code for code, text in said.items() if text == fallback] == ["missing_address"]
        assert len(set(said.values())) == len(codes)
