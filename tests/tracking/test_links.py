"""Tracking links: signed per order, unforgeable, alive while the order is open and 60 days after it closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from connector.model import OrderStatus
from connector.tracking import links
from connector.tracking.links import LinkState
from tests.tracking.support import NOW, delivered, late, local, placed

SECRET = "test-secret-key-0123456789abcdef"
DAY_60 = timedelta(days=60)
SECOND = timedelta(seconds=1)


def test_a_token_names_its_shop_and_order_and_is_the_same_every_time() -> None:
    token = links.token_for(SECRET, "fietsen", "5823991001234567891")
    assert links.token_for(SECRET, "fietsen", "5823991001234567891") == token
    assert links.read(SECRET, token) == ("fietsen", "5823991001234567891")
    assert links.token_for(SECRET, "fietsen", "1002") != token
    assert links.page_url("https://ordercare.example/", token) == f"https://ordercare.example/track/{token}"


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "nonsense",
        "WyJmaWV0c2VuIiwiMTAwMSJd",  # the payload without a signature
        "WyJmaWV0c2VuIiwiMTAwMiJd." + "A" * 43,  # another order, a made-up signature
        "x" * 600,
    ],
)
def test_a_forged_token_names_nothing(forged: str) -> None:
    assert links.read(SECRET, forged) is None


def test_a_changed_or_foreign_token_names_nothing() -> None:
    token = links.token_for(SECRET, "fietsen", "1001")
    payload, signature = token.rsplit(".", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert links.read(SECRET, f"{payload}.{flipped}") is None
    other = links.token_for("another-secret-key-0123456789", "fietsen", "1001")
    assert links.read(SECRET, other) is None
    assert links.read(SECRET, links.token_for(SECRET, "fietsen", "1001")) == ("fietsen", "1001")


def test_an_open_order_has_a_working_link_long_after_it_was_placed() -> None:
    assert links.state(placed(), NOW + timedelta(days=365)) is LinkState.VALID
    assert links.state(late(), NOW + timedelta(days=365)) is LinkState.VALID


def test_a_delivered_order_keeps_its_link_for_60_days_after_the_parcel_arrived() -> None:
    arrived = local(25, 13, 10)
    assert links.closed_at(delivered()) == arrived
    assert links.state(delivered(), arrived + DAY_60 - SECOND) is LinkState.VALID
    assert links.state(delivered(), arrived + DAY_60) is LinkState.EXPIRED


def test_a_shipped_order_whose_parcels_all_arrived_is_delivered_for_the_link() -> None:
    order = replace(delivered(), status=OrderStatus.SHIPPED)
    assert links.state(order, local(25, 13, 10) + DAY_60) is LinkState.EXPIRED
    partly = replace(delivered(), status=OrderStatus.PARTIALLY_SHIPPED)  # more to come: still open
    assert links.state(partly, local(25, 13, 10) + DAY_60) is LinkState.VALID


def test_a_cancelled_order_keeps_its_link_for_60_days_after_the_cancellation() -> None:
    cancelled = placed(status=OrderStatus.CANCELLED, cancelled_at=local(24, 12), updated=local(24, 12))
    assert links.state(cancelled, local(24, 12) + DAY_60 - SECOND) is LinkState.VALID
    assert links.state(cancelled, local(24, 12) + DAY_60) is LinkState.EXPIRED


def test_an_erased_or_missing_order_has_no_page() -> None:
    erased = replace(placed(), extra={"redacted": True})
    assert links.state(erased, NOW) is LinkState.UNKNOWN
    assert links.state(None, NOW) is LinkState.UNKNOWN


def test_messages_get_the_link_only_while_it_works() -> None:
    token = links.token_for(SECRET, "fietsen", "1001")
    arrived = local(25, 13, 10)
    assert links.order_page_url(SECRET, "http://o.example", delivered(), arrived + DAY_60 - SECOND) == (
        f"http://o.example/track/{token}"
    )
    assert links.order_page_url(SECRET, "http://o.example", delivered(), arrived + DAY_60) is None
    assert links.order_page_url(SECRET, "http://o.example", replace(placed(), extra={"redacted": True}), NOW) is None
