"""Bad input on the report page, over HTTP: a forged, expired or reused link, an unknown order, an oversized or
non-image upload, a second report while one is open, a flood of reports. Each gets a clear page in the
customer's language, and nothing is stored or sent, not even at the next round."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.store.db import transaction
from connector.store.tables import OrderRow, ProblemReport
from tests.reports.conftest import NOW, World
from tests.reports.web import JPEG, PNG, open_form, send

MB = 1024 * 1024


@pytest.fixture
def order(world: World) -> str:
    """A delivered Shopify order ordercare knows, in Dutch."""
    placed = world.shop.create_order()
    world.shop.fulfil(placed["id"], shipment_status="delivered")
    world.run()
    return str(placed["id"])


def _nothing_changed(world: World, before: dict[str, int]) -> None:
    assert world.counts() == before
    world.tick()
    assert world.counts() == before  # and the next round has nothing to act on


def test_a_forged_link_is_refused(world: World, order: str) -> None:
    before = world.counts()
    token = world.token("fietsen", order)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for response in (world.client.get(f"/report/{forged}"), world.client.post(f"/report/{forged}", data={})):
        assert response.status_code == 404
        assert "Deze link werkt niet" in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
    english = world.client.get(f"/report/{forged}", headers={"Accept-Language": "en"})
    assert "This link does not work" in english.get_data(as_text=True)
    _nothing_changed(world, before)


def test_a_signed_link_to_an_order_ordercare_does_not_have_is_refused(world: World, order: str) -> None:
    before = world.counts()
    response = world.client.get(f"/report/{world.token('fietsen', '999999')}")
    assert response.status_code == 404
    _nothing_changed(world, before)


def test_an_expired_link_is_refused_in_the_customers_language(world: World, order: str) -> None:
    page = open_form(world.client, world.token("fietsen", order))
    world.clock.advance(timedelta(days=61))  # 60 days after delivery the order's pages close
    before = world.counts()
    response = send(world.client, world.token("fietsen", order), form=page, cause="damaged")
    assert response.status_code == 410
    assert "Deze pagina is niet meer beschikbaar" in response.get_data(as_text=True)
    _nothing_changed(world, before)


def test_the_same_form_sent_twice_is_refused_as_reused(world: World, order: str) -> None:
    token = world.token("fietsen", order)
    page = open_form(world.client, token)
    assert send(world.client, token, form=page, cause="other", text="Doos was open").status_code == 200
    before = world.counts()
    again = send(world.client, token, form=page, cause="other", text="Doos was open")
    assert again.status_code == 409
    assert "Dit formulier is al verstuurd" in again.get_data(as_text=True)
    assert world.counts() == before


def test_a_second_report_while_one_is_open_is_refused(world: World, order: str) -> None:
    token = world.token("fietsen", order)
    assert send(world.client, token, cause="other").status_code == 200
    world.tick()
    before = world.counts()
    page = open_form(world.client, token)
    assert page.status_code == 200
    assert "We hebben je melding al" in page.get_data(as_text=True)
    with world.services.sessions() as session:
        assert session.scalar(select(ProblemReport.cause)) == "other"
    _nothing_changed(world, before)


def test_a_photo_over_the_limit_is_refused_before_it_is_read(world: World, order: str) -> None:
    before = world.counts()
    token = world.token("fietsen", order)
    huge = send(world.client, token, cause="damaged", photo=(JPEG + b"\x00" * (6 * MB), "groot.jpg"))
    assert huge.status_code == 413
    assert "Dat was te veel om te versturen" in huge.get_data(as_text=True)
    just_over = send(world.client, token, cause="damaged", photo=(JPEG + b"\x00" * (5 * MB), "groot.jpg"))
    assert just_over.status_code == 413
    assert "De foto is te groot: hooguit 5 MB" in just_over.get_data(as_text=True)
    _nothing_changed(world, before)


def test_a_photo_at_the_limit_is_taken(world: World, order: str) -> None:
    token = world.token("fietsen", order)
    response = send(world.client, token, cause="damaged", photo=(PNG + b"\x00" * (5 * MB - len(PNG)), "bel.png"))
    assert response.status_code == 200
    with world.services.sessions() as session:
        assert len(session.scalars(select(ProblemReport)).one().photo or b"") == 5 * MB


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name(world: World, order: str) -> None:
    before = world.counts()
    token = world.token("fietsen", order)
    response = send(world.client, token, cause="damaged", photo=(b"<svg onload=alert(1)></svg>", "foto.jpg"))
    assert response.status_code == 415
    assert "Dat bestand is geen foto die we kunnen aannemen" in response.get_data(as_text=True)
    _nothing_changed(world, before)


def test_a_form_without_a_cause_asks_for_one(world: World, order: str) -> None:
    before = world.counts()
    response = send(world.client, world.token("fietsen", order), text="?")
    assert response.status_code == 422
    assert "Kies wat er mis is." in response.get_data(as_text=True)
    _nothing_changed(world, before)


def test_a_post_without_the_forms_cookie_is_refused(world: World, order: str) -> None:
    before = world.counts()
    token = world.token("fietsen", order)
    page = open_form(world.client, token)
    world.client.delete_cookie("ordercare_report", path="/report/")
    response = send(world.client, token, form=page, cause="damaged")
    assert response.status_code == 400
    assert "Probeer het nog eens" in response.get_data(as_text=True)
    _nothing_changed(world, before)


def test_a_flood_of_reports_is_refused(world: World, order: str) -> None:
    other = world.shop.create_order()
    world.run()
    with transaction(world.services.sessions) as session:
        other_id = session.scalar(select(OrderRow.id).where(OrderRow.external_id == str(other["id"])))
        for index in range(60):  # the shop's limit in an hour (order_problem.per_shop_per_hour)
            session.add(ProblemReport(shop_id="fietsen", order_id=other_id, cause="other", channel="email",
                                      language="nl", lines=[], submission=f"flood-{index}",
                                      submitted_at=NOW - timedelta(minutes=30)))  # fmt: skip
    before = world.counts()
    response = send(world.client, world.token("fietsen", order), cause="damaged")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    assert "Te veel meldingen" in response.get_data(as_text=True)
    assert world.counts() == before

    world.clock.advance(timedelta(minutes=31))  # the hour has passed for all of them
    assert send(world.client, world.token("fietsen", order), cause="damaged").status_code == 200


def test_the_lookup_finds_the_order_and_refuses_guesses(world: World, order: str) -> None:
    before = world.counts()
    form = world.client.get("/report/lookup/fietsen")
    assert form.status_code == 200
    csrf = form.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    for _ in range(5):  # the tracking lookup's limit: five failures per order number
        wrong = world.client.post(
            "/report/lookup/fietsen", data={"csrf_token": csrf, "order": "#1001", "check": "9999 ZZ"}
        )
        assert wrong.status_code == 404
    refused = world.client.post(
        "/report/lookup/fietsen", data={"csrf_token": csrf, "order": "#1001", "check": "3511 AB"}
    )
    assert refused.status_code == 429
    assert world.counts() == before
    world.clock.advance(timedelta(minutes=15))
    found = world.client.post("/report/lookup/fietsen", data={"csrf_token": csrf, "order": "#1001", "check": "3511AB"})
    assert found.status_code == 303
    assert found.headers["Location"] == f"/report/{world.token('fietsen', order)}?via=lookup"
