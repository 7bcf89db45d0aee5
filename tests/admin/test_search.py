"""The orders list: one search box over number, name, e-mail, postcode and tracking number, filters and pages,
only ever within the viewer's shops."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.ingest import store_order
from connector.model import Address, OrderStatus, Shipment, ShipmentStatus
from connector.store.tables import OrderRow
from tests import builders

from . import builders as b
from .web import sign_in


def placed(
    session: Session,
    shop_id: str,
    external_id: str,
    at: datetime,
    *,
    first: str,
    last: str,
    email: str,
    postcode: str = "1234 AB",
    tracking: str | None = None,
    customer_id: str | None = None,
    number: str | None = None,
) -> OrderRow:
    """An order stored the way ingest stores it (e-mail lower-cased, the snapshot in ``data``)."""
    shipments: tuple[Shipment, ...] = ()
    if tracking is not None:
        shipments = (
            Shipment(f"s{external_id}", ShipmentStatus.IN_TRANSIT, "PostNL", tracking, shipped_at=at, updated_at=at),
        )
    snapshot = builders.order(
        external_id,
        at=at,
        shop_id=shop_id,
        platform=b.PLATFORMS[shop_id],
        number=number or f"#{external_id}",
        customer=builders.customer(external_id=customer_id, first_name=first, last_name=last, email=email),
        shipping_address=Address(first_name=first, last_name=last, address1="Dorpsstraat 1", postcode=postcode,
                                 city="Utrecht", country_code="NL"),
        shipments=shipments,
        status=OrderStatus.SHIPPED if tracking else OrderStatus.PAID,
    )  # fmt: skip
    store_order(session, snapshot, at)
    row = session.scalars(select(OrderRow).where(OrderRow.shop_id == shop_id, OrderRow.external_id == external_id))
    return row.one()


@dataclass
class World:
    sanne: OrderRow  # fietsen, open delay incident, parcel 3SABC1234567 (stored as typed: 3sabc 1234567)
    piet: OrderRow  # fietsen, no incident at all
    kees: OrderRow  # fietsen, a resolved address incident
    other_shop: OrderRow  # theewinkel: matches the same searches as ``sanne``


@pytest.fixture
def world(session: Session, now: datetime) -> World:
    b.account(session, "anna", ["fietsen"], now)
    b.account(session, "owner", ["fietsen", "theewinkel"], now)
    sanne = placed(
        session, "fietsen", "5601", now - timedelta(days=2), first="Sanne", last="de Vries",
        email="Sanne@Example.nl", postcode="1234 AB", tracking="3sabc 1234567",
    )  # fmt: skip
    piet = placed(
        session, "fietsen", "5602", now - timedelta(days=1), first="Piet", last="Bakker", email="piet@example.nl",
        postcode="9999 ZZ",
    )  # fmt: skip
    kees = placed(
        session, "fietsen", "5603", now - timedelta(days=5), first="Kees", last="Visser", email="kees@example.nl",
        postcode="3511 AA",
    )  # fmt: skip
    other_shop = placed(
        session, "theewinkel", "5601", now - timedelta(hours=3), first="Sanne", last="de Vries",
        email="sanne@example.nl", postcode="1234AB", tracking="3SABC1234567", number="5601",
    )  # fmt: skip
    b.incident(session, sanne, "shipment_delay", now - timedelta(days=1), state="escalated", level=1)
    b.incident(
        session, kees, "address", now - timedelta(days=5), state="resolved", resolved_at=now - timedelta(days=4),
        details={"problems": ["missing_house_number"]},
    )  # fmt: skip
    b.incident(session, other_shop, "address", now - timedelta(hours=2), details={"problems": ["missing_street"]})
    session.commit()
    return World(sanne, piet, kees, other_shop)


def found(client: FlaskClient, query: str) -> list[int]:
    """The order ids listed by ``/admin/orders?<query>``, in the order shown."""
    response = client.get("/admin/orders?" + query)
    assert response.status_code == 200, (query, response.status_code)
    return [int(i) for i in re.findall(r'<tr id="order-(\d+)">', response.get_data(as_text=True))]


@pytest.mark.parametrize(
    "q",
    ["5601", "%235601", "Sanne", "de+vries", "SANNE+DE+VRIES", "sanne%40example.nl", "SANNE%40EXAMPLE.NL", "1234ab",
     "1234+AB", "3sabc1234567", "3SABC+1234+567"],
)  # fmt: skip
def test_each_field_finds_the_order(client: FlaskClient, world: World, q: str) -> None:
    sign_in(client, "anna")
    assert found(client, "q=" + q) == [world.sanne.id]


def test_an_order_without_any_incident_is_found(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    assert found(client, "q=piet") == [world.piet.id]
    assert found(client, "q=9999zz") == [world.piet.id]
    assert found(client, "") == [world.piet.id, world.sanne.id, world.kees.id]  # newest first


def test_no_partial_matches_on_exact_fields(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    assert found(client, "q=560") == []  # numbers match whole
    assert found(client, "q=3SABC") == []  # tracking numbers match whole
    assert found(client, "q=example.nl") == []  # e-mail addresses match whole
    assert found(client, "q=%25") == []  # a LIKE wildcard is a plain character


def test_another_shops_order_is_never_shown_even_when_it_matches(client: FlaskClient, world: World, app: Flask) -> None:
    sign_in(client, "anna")
    for q in ("5601", "sanne", "1234AB", "3SABC1234567", "sanne%40example.nl"):
        assert found(client, "q=" + q) == [world.sanne.id], q
    assert found(client, "open=yes") == [world.sanne.id]
    assert found(client, "kind=address") == [world.kees.id]
    # an account with both shops does see both
    owner = app.test_client()
    sign_in(owner, "owner")
    assert found(owner, "q=5601") == [world.other_shop.id, world.sanne.id]


def test_the_row_in_words(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    page = client.get("/admin/orders?q=5601").get_data(as_text=True)
    row = page.split(f'<tr id="order-{world.sanne.id}">')[1].split("</tr>")[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
    assert cells == ["fietsen", "#5601", "Sanne de Vries", "Sun 22 Nov 10:00", "shipped",
                     "Parcel delayed, step 1 of the delay ladder"]  # fmt: skip
    assert f'href="/admin/orders/{world.sanne.id}"' in row
    piet = client.get("/admin/orders?q=5602").get_data(as_text=True)
    assert re.sub(r"<[^>]+>", "", piet.split(f'<tr id="order-{world.piet.id}">')[1].split("</tr>")[0]).split() == [
        "fietsen", "#5602", "Piet", "Bakker", "Mon", "23", "Nov", "10:00", "paid", "none",
    ]  # fmt: skip


def test_filters_on_both_sides(client: FlaskClient, world: World) -> None:
    sign_in(client, "owner")
    everything = [world.other_shop.id, world.piet.id, world.sanne.id, world.kees.id]
    assert found(client, "") == everything
    assert found(client, "shop=theewinkel") == [world.other_shop.id]
    assert found(client, "shop=fietsen") == [world.piet.id, world.sanne.id, world.kees.id]
    assert found(client, "open=yes") == [world.other_shop.id, world.sanne.id]
    assert found(client, "open=no") == [world.piet.id, world.kees.id]
    assert found(client, "kind=address") == [world.other_shop.id, world.kees.id]  # open or not
    assert found(client, "kind=address&open=yes") == [world.other_shop.id]
    assert found(client, "kind=address&open=no") == [world.kees.id]
    assert found(client, "kind=shipment_delay&open=yes") == [world.sanne.id]
    # placed dates are the shop's days, both included: sanne on the 22nd, piet on the 23rd, kees on the 19th
    assert found(client, "from=2026-11-22&to=2026-11-23") == [world.piet.id, world.sanne.id]
    assert found(client, "from=2026-11-23") == [world.other_shop.id, world.piet.id]
    assert found(client, "to=2026-11-21") == [world.kees.id]
    assert found(client, "q=sanne&shop=fietsen&open=yes&from=2026-11-22&to=2026-11-22") == [world.sanne.id]
    assert found(client, "q=sanne&open=no") == []


def test_pages_of_newest_first(client: FlaskClient, world: World, app: Flask) -> None:
    app.config["ORDERCARE_ADMIN_PAGE_SIZE"] = 2
    sign_in(client, "anna")
    assert found(client, "from=2026-11-01") == [world.piet.id, world.sanne.id]
    first = client.get("/admin/orders?from=2026-11-01").get_data(as_text=True)
    assert 'href="/admin/orders?page=2&amp;from=2026-11-01" rel="next"' in first
    assert 'rel="prev"' not in first
    assert found(client, "page=2&from=2026-11-01") == [world.kees.id]
    second = client.get("/admin/orders?page=2&from=2026-11-01").get_data(as_text=True)
    assert 'rel="next"' not in second
    assert 'href="/admin/orders?page=1&amp;from=2026-11-01" rel="prev"' in second
    assert 'rel="next"' not in client.get("/admin/orders?open=no").get_data(as_text=True)  # two fill one page
    assert found(client, "page=3") == []
    assert 'href="/admin/orders?page=2" rel="prev"' in client.get("/admin/orders?page=3").get_data(as_text=True)


def test_http_contract(client: FlaskClient, world: World) -> None:
    signed_out = client.get("/admin/orders?q=5601")
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"] == "/admin/login?next=/admin/orders?q%3D5601"
    sign_in(client, "anna")
    for bad in ("page=0", "page=x", "open=maybe", "from=24-11-2026", "from=2026-11-24&to=2026-11-01",
                "shop=theewinkel", "shop=nope"):  # fmt: skip
        assert client.get("/admin/orders?" + bad).status_code == 400, bad
    assert client.post("/admin/orders").status_code == 405


def test_orders_in_the_navigation(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    page = client.get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/orders" >Orders</a>' in page
    assert '<a href="/admin/orders" aria-current="page">Orders</a>' in client.get("/admin/orders").get_data(
        as_text=True
    )


def test_dutch_page(dutch_client: FlaskClient, world: World) -> None:
    sign_in(dutch_client, "anna")
    page = dutch_client.get("/admin/orders").get_data(as_text=True)
    assert '<label for="f-q">Ordernummer, naam, e-mail, postcode of trackingnummer</label>' in page


def test_csv_of_every_match(client: FlaskClient, world: World, app: Flask) -> None:
    app.config["ORDERCARE_ADMIN_PAGE_SIZE"] = 1  # the export is not paged
    sign_in(client, "anna")
    response = client.get("/admin/orders?format=csv&open=no")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="orders-orders.csv"'
    assert response.get_data(as_text=True).splitlines() == [
        "id,shop,order,customer,placed_at,status,open_incidents",
        f"{world.piet.id},fietsen,#5602,Piet Bakker,2026-11-23T09:00:00+00:00,paid,",
        f"{world.kees.id},fietsen,#5603,Kees Visser,2026-11-19T09:00:00+00:00,paid,",
    ]
    lines = client.get("/admin/orders?format=csv&q=5601").get_data(as_text=True).splitlines()
    assert lines[1:] == [
        f"{world.sanne.id},fietsen,#5601,Sanne de Vries,2026-11-22T09:00:00+00:00,shipped,shipment_delay"
    ]
