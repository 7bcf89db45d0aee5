"""Phone numbers become ``tel:`` links in E.164 with libphonenumber, read in the address's or the shop's country."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from connector import phones
from connector.codec import dump_order, load_order
from connector.store.tables import OrderRow

from . import builders as b
from .web import sign_in


@pytest.mark.parametrize(
    ("phone", "region", "expected"),
    [
        ("06 1234 5678", "NL", "+31612345678"),
        ("06 1234 5678", "nl", "+31612345678"),
        ("+32 470 12 34 56", "NL", "+32470123456"),  # a number with + names its own country
        ("(212) 555-0100", "US", "+12125550100"),
        ("06 1234 5678", None, None),  # typed the national way, and no country to read it in
        ("12", "NL", None),  # too short to be a number
        ("call me", "NL", None),
    ],
)
def test_e164(phone: str, region: str | None, expected: str | None) -> None:
    assert phones.e164(phone, region) == expected


def with_phone(session: Session, order: OrderRow, phone: str, country: str | None) -> None:
    snapshot = load_order(order.data)
    address = replace(snapshot.shipping_address, country_code=country) if snapshot.shipping_address else None
    customer = replace(snapshot.customer, phone=phone)
    order.data = dump_order(replace(snapshot, customer=customer, shipping_address=address))


def test_the_order_page_reads_a_national_number_in_the_address_s_country_else_the_shop_s(
    client: FlaskClient, session: Session, now: datetime
) -> None:
    b.account(session, "anna", ["fietsen"], now)
    belgian = b.order(session, "fietsen", "7801", now - timedelta(days=1), country="BE")
    with_phone(session, belgian, "0470 12 34 56", "BE")
    unknown = b.order(session, "fietsen", "7802", now - timedelta(days=1), country=None)
    with_phone(session, unknown, "06 1234 5678", None)
    session.commit()
    sign_in(client, "anna")
    page = client.get(f"/admin/orders/{belgian.id}").get_data(as_text=True)
    assert '<a class="tel" href="tel:+32470123456">0470 12 34 56</a>' in page
    page = client.get(f"/admin/orders/{unknown.id}").get_data(as_text=True)
    assert '<a class="tel" href="tel:+31612345678">06 1234 5678</a>' in page  # the shop is in NL
