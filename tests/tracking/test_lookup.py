"""The lookup by order number: postcode or e-mail must match, and failed lookups are counted and then refused."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from connector.model import Customer
from connector.services import Services
from connector.store.tables import LookupFailure
from connector.tracking.lookup import LookupLimiter, matches, normalise_number, normalise_postcode
from tests.tracking.support import NOW, placed


@pytest.mark.parametrize("typed", ["1234 AB", "1234ab", " 1234  ab ", "1234-AB", "1234AB"])
def test_the_postcode_matches_whatever_the_spacing_or_case(typed: str) -> None:
    assert matches(placed(), typed)  # stored as "1234 AB"


@pytest.mark.parametrize("typed", ["1234 AC", "1234", "1235 AB", "", "1234 AB 1"])
def test_another_postcode_does_not_match(typed: str) -> None:
    assert not matches(placed(), typed)


@pytest.mark.parametrize("typed", ["sanne@example.nl", "Sanne@Example.NL", " SANNE@EXAMPLE.NL "])
def test_the_email_matches_whatever_the_case(typed: str) -> None:
    assert matches(placed(), typed)


@pytest.mark.parametrize("typed", ["sanne@example.com", "anne@example.nl", "@"])
def test_another_email_does_not_match(typed: str) -> None:
    assert not matches(placed(), typed)


def test_an_order_without_address_or_email_matches_nothing() -> None:
    bare = placed(shipping_address=None, customer=Customer())
    assert not matches(bare, "1234 AB")
    assert not matches(bare, "sanne@example.nl")


def test_order_numbers_and_postcodes_are_compared_without_their_decoration() -> None:
    assert [normalise_number(n) for n in ("#1001", " 1001 ", "1001", "# 1001")] == ["1001"] * 4
    assert normalise_postcode(" 1234 ab ") == "1234AB"


def test_the_limiter_refuses_an_order_number_after_five_failures_until_the_window_ends(services: Services) -> None:
    limiter = LookupLimiter(services.sessions, per_order=5, per_shop=100, window=timedelta(minutes=15))
    start = NOW  # 09:00 UTC: a window starts here
    for _ in range(4):
        limiter.failed("fietsen", "#1001", start)
    assert limiter.refused_until("fietsen", "1001", start) is None
    limiter.failed("fietsen", "1001", start + timedelta(minutes=1))
    assert limiter.refused_until("fietsen", "1001", start + timedelta(minutes=1)) == start + timedelta(minutes=15)
    assert limiter.refused_until("fietsen", "1002", start) is None  # another order of the shop
    assert limiter.refused_until("theewinkel", "1001", start) is None  # the same number in another shop
    assert limiter.refused_until("fietsen", "1001", start + timedelta(minutes=15)) is None  # a new window


def test_the_limiter_refuses_the_whole_shop_after_its_failures_and_only_that_shop(services: Services) -> None:
    limiter = LookupLimiter(services.sessions, per_order=5, per_shop=3, window=timedelta(minutes=15))
    for number in ("1", "2"):
        limiter.failed("fietsen", number, NOW)
    assert limiter.refused_until("fietsen", "9", NOW) is None
    limiter.failed("fietsen", "3", NOW)
    assert limiter.refused_until("fietsen", "9", NOW) == NOW + timedelta(minutes=15)
    assert limiter.refused_until("theewinkel", "9", NOW) is None


def test_web_processes_share_the_count(services: Services) -> None:
    # given two web processes, each with its own limiter on the same database
    first, second = (LookupLimiter(services.sessions, per_order=5) for _ in range(2))
    # when the failures are spread over both
    for limiter in (first, second, first, second):
        limiter.failed("fietsen", "1001", NOW)
    assert first.refused_until("fietsen", "1001", NOW) is None
    assert second.refused_until("fietsen", "1001", NOW) is None
    second.failed("fietsen", "1001", NOW)
    # then the fifth refuses the number in both
    assert first.refused_until("fietsen", "1001", NOW) == NOW + timedelta(minutes=15)
    assert second.refused_until("fietsen", "1001", NOW) == NOW + timedelta(minutes=15)


def _rows(services: Services) -> list[tuple[str, str, datetime, int]]:
    with services.sessions() as session:
        return sorted(
            session.execute(
                select(LookupFailure.shop_id, LookupFailure.subject, LookupFailure.window_start, LookupFailure.failures)
            ).tuples()
        )


def test_the_limiter_keeps_counts_and_digests_only_and_forgets_ended_windows(services: Services) -> None:
    limiter = LookupLimiter(services.sessions)
    limiter.failed("fietsen", "#1001", NOW + timedelta(minutes=2))
    rows = _rows(services)
    assert [(shop, failures, start) for shop, _, start, failures in rows] == [("fietsen", 1, NOW), ("fietsen", 1, NOW)]
    assert rows[0][1] == ""
    assert len(rows[1][1]) == 16
    assert "1001" not in rows[1][1]
    # a failure in a later window deletes the ended one
    limiter.failed("fietsen", "1002", NOW + timedelta(minutes=15))
    assert {start for _, _, start, _ in _rows(services)} == {NOW + timedelta(minutes=15)}
