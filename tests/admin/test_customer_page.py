"""The customer's page: all their orders in the viewer's shops and one timeline, reached from an order by a key
that never shows the e-mail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from connector.admin.customer import customer_key
from connector.services import Services
from connector.store.tables import EmailLog, OrderRow, PromiseRow

from . import builders as b
from .test_search import placed
from .web import sign_in


@dataclass
class World:
    first: OrderRow  # fietsen, customer 77, sanne@example.nl
    second: OrderRow  # fietsen, customer 77 with a new e-mail address
    tea: OrderRow  # theewinkel, the same e-mail address in capitals
    stranger: OrderRow  # theewinkel, also customer 77 there: another person
    piet: OrderRow  # fietsen, someone else
    anonymous: OrderRow  # fietsen, no e-mail and no customer id


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    b.account(session, "anna", ["fietsen"], now)
    b.account(session, "owner", ["fietsen", "theewinkel"], now)
    sanne = {"first": "Sanne", "last": "de Vries"}
    first = placed(session, "fietsen", "5701", now - timedelta(days=10), **sanne, email="sanne@example.nl",
                   customer_id="77")  # fmt: skip
    second = placed(session, "fietsen", "5702", now - timedelta(days=3), **sanne, email="sanne.nieuw@example.nl",
                    customer_id="77")  # fmt: skip
    tea = placed(session, "theewinkel", "8801", now - timedelta(days=5), **sanne, email="SANNE@example.nl",
                 customer_id="12", number="8801")  # fmt: skip
    stranger = placed(session, "theewinkel", "8802", now - timedelta(days=4), first="Ander", last="Iemand",
                      email="ander@example.nl", customer_id="77", number="8802")  # fmt: skip
    piet = placed(session, "fietsen", "5703", now - timedelta(days=2), first="Piet", last="Bakker",
                  email="piet@example.nl")  # fmt: skip
    anonymous = placed(session, "fietsen", "5704", now - timedelta(days=1), first="", last="", email="")
    delay = b.incident(
        session, first, "shipment_delay", now - timedelta(days=9), state="resolved",
        resolved_at=now - timedelta(days=8), resolution="delivered",
    )  # fmt: skip
    b.email(session, first, now - timedelta(days=9, hours=-1))
    session.add(
        PromiseRow(
            shop_id="fietsen", order_id=first.id, policy="shipment_delay", template="delay_notice",
            kind="delivery_by", promised_on=date(2026, 11, 17), awaits="delivered",
            made_at=now - timedelta(days=9, hours=-1, minutes=-1), ended="met", ended_at=now - timedelta(days=8),
        )
    )  # fmt: skip
    b.voucher(session, first, now - timedelta(days=9, hours=-2), "5.00", incident_row=delay, code="SORRY-5701")
    b.incident(session, tea, "stale", now - timedelta(days=4), details={"status": "on-hold"})
    b.call_task(session, second, now - timedelta(days=2))
    b.contact(session, second, now - timedelta(days=1))
    b.contact(session, piet, now - timedelta(hours=5), kind="complaint")
    b.contact(session, stranger, now - timedelta(hours=4), kind="complaint")
    session.commit()
    return World(first, second, tea, stranger, piet, anonymous)


def key_link(client: FlaskClient, order: OrderRow) -> str:
    """The "All orders of this customer" address on the order's page."""
    page = client.get(f"/admin/orders/{order.id}").get_data(as_text=True)
    found = re.search(r'<a class="customer-link" href="([^"]+)">', page)
    assert found is not None
    return found.group(1)


def listed(page: str) -> list[int]:
    orders = page.split("<h2>Orders")[1].split("</section>")[0]
    return [int(i) for i in re.findall(r'<tr id="order-(\d+)">', orders)]


def raw_timeline(page: str) -> list[tuple[str, str]]:
    """(order number, raw entry) of the timeline's technical details, in the order shown."""
    raw = page.split('<ol class="raw-timeline">')[1].split("</ol>")[0]
    return re.findall(r"<li>\S+ (\S+) \w+: (.*?)</li>", raw)


def test_the_order_page_links_to_the_customer_without_their_e_mail(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    link = key_link(client, world.first)
    assert re.fullmatch(rf"/admin/customers/{world.first.id}-[0-9a-f]{{32}}", link)
    assert "sanne" not in link.lower()
    assert "@" not in link
    assert "%40" not in link
    order_page = client.get(f"/admin/orders/{world.first.id}").get_data(as_text=True)
    assert f'<a class="customer-link" href="{link}">All orders of this customer</a>' in order_page
    page = client.get(f"/admin/orders/{world.anonymous.id}").get_data(as_text=True)
    assert "customer-link" not in page


def test_all_orders_of_the_customer_in_both_shops_of_the_viewer(client: FlaskClient, world: World) -> None:
    sign_in(client, "owner")
    page = client.get(key_link(client, world.first))
    assert page.status_code == 200
    # the same e-mail in either shop, or the same customer id in the same shop; newest first
    assert listed(page.get_data(as_text=True)) == [world.second.id, world.tea.id, world.first.id]
    assert "<dd>sanne.nieuw@example.nl, sanne@example.nl</dd>" in page.get_data(as_text=True)
    # from the newer order, with its new e-mail address: the customer id still ties it to the first one
    assert listed(client.get(key_link(client, world.second)).get_data(as_text=True)) == [
        world.second.id, world.first.id,
    ]  # fmt: skip


def test_a_shop_the_viewer_lacks_stays_out(client: FlaskClient, world: World, app: Flask) -> None:
    sign_in(client, "anna")
    link = key_link(client, world.first)
    page = client.get(link).get_data(as_text=True)
    assert listed(page) == [world.second.id, world.first.id]
    assert "8801" not in page
    assert "theewinkel" not in page
    # a key to an order of the other shop is not found, even with a valid digest
    owner = app.test_client()
    sign_in(owner, "owner")
    tea_link = key_link(owner, world.tea)
    assert owner.get(tea_link).status_code == 200
    assert client.get(tea_link).status_code == 404


def test_a_row_filed_under_another_shop_never_shows_through_this_shops_order(
    client: FlaskClient, world: World, session: Session, now: datetime
) -> None:
    session.add(
        EmailLog(
            shop_id="theewinkel", order_id=world.first.id, template="delay_1", recipient="x@example.nl",
            subject="B-ONLY subject", message_id="<b-only@ordercare>", sent_at=now,
        )
    )  # fmt: skip
    session.commit()
    sign_in(client, "owner")
    assert "B-ONLY" not in client.get(key_link(client, world.first)).get_data(as_text=True)


def test_one_timeline_newest_first(client: FlaskClient, world: World) -> None:
    sign_in(client, "owner")
    page = client.get(key_link(client, world.first)).get_data(as_text=True)
    assert raw_timeline(page) == [
        ("#5702", "customer contact: where_is_my_order"),
        ("#5702", "call task: Pakket ligt al 3 dagen stil — open"),
        ("8801", "incident stale opened"),
        ("#5701", "incident shipment_delay resolved — delivered"),
        ("#5701", "voucher SORRY-5701 5.00 EUR — issued"),
        ("#5701", "promise delivery_by 2026-11-17: met — delay_notice"),
        ("#5701", "e-mail: Over je bestelling #5701 — delay_1"),
        ("#5701", "incident shipment_delay opened"),
    ]
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.split('<ol class="timeline">')[1].split("</ol>")[0]))
    assert "Sun 15 Nov 11:01 customer got #5701 We promised delivery by Tue 17 Nov kept, Mon 16 Nov 10:00" in shown
    assert "Sun 15 Nov 11:00 customer got #5701 E-mail: “Over je bestelling #5701”" in shown
    assert "Sun 22 Nov 10:00 staff #5702 Call task: Pakket ligt al 3 dagen stil" in shown


def test_a_forged_or_stale_key_is_not_found(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    link = key_link(client, world.first)
    digest = link.rsplit("-", 1)[1]
    forged = f"{digest[:-1]}{'0' if digest[-1] != '0' else '1'}"
    for key in (f"{world.first.id}-{forged}", f"{world.piet.id}-{digest}", "abc", f"{world.first.id}-",
                f"0{world.first.id}-{digest}", f"{world.first.id}-{digest.upper()}"):  # fmt: skip
        assert client.get(f"/admin/customers/{key}").status_code == 404, key
    assert customer_key("another-secret-0123456789", world.first) != link.rsplit("/", 1)[1]


def test_http_contract(client: FlaskClient, world: World, services: Services) -> None:
    key = customer_key(services.settings.secret_key, world.first)
    assert key is not None
    signed_out = client.get(f"/admin/customers/{key}")
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"] == f"/admin/login?next=/admin/customers/{key}"
    sign_in(client, "anna")
    assert client.get(f"/admin/customers/{key}").status_code == 200
    assert client.post(f"/admin/customers/{key}").status_code == 405


def test_dutch_page(dutch_client: FlaskClient, world: World, services: Services) -> None:
    sign_in(dutch_client, "anna")
    key = customer_key(services.settings.secret_key, world.first)
    page = dutch_client.get(f"/admin/customers/{key}").get_data(as_text=True)
    assert "Alle bestellingen van deze klant in je winkels, en alles wat daaromheen gebeurde." in page
    order_page = dutch_client.get(f"/admin/orders/{world.first.id}").get_data(as_text=True)
    assert f'<a class="customer-link" href="/admin/customers/{key}">Alle bestellingen van deze klant</a>' in order_page


def test_csv_of_the_customer(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    link = key_link(client, world.first)
    orders = client.get(link + "?format=csv&table=orders").get_data(as_text=True).splitlines()
    assert orders == [
        "id,shop,order,placed_at,channel,status",
        f"{world.second.id},fietsen,#5702,2026-11-21T09:00:00+00:00,web,paid",
        f"{world.first.id},fietsen,#5701,2026-11-14T09:00:00+00:00,web,paid",
    ]
    timeline = client.get(link + "?format=csv&table=timeline").get_data(as_text=True).splitlines()
    assert timeline[0] == "at,order,lane,what,detail"
    assert timeline[1] == "2026-11-23T09:00:00+00:00,#5702,staff,customer contact: where_is_my_order,"
    assert len(timeline) == 8  # the header and the seven entries of anna's two orders
