"""The pattern queries on hand-built rows: exact numbers, time zone buckets, range edges, shop filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from connector.admin import insights
from connector.admin.insights import CauseCount, ContactStats, HintThresholds, MonthSpend, OnTimeRate, WeekCount
from connector.model import OrderStatus

from . import builders as b

AMS = ZoneInfo("Europe/Amsterdam")
# November 2026 in Amsterdam (UTC+1): [Mon 2 Nov 00:00, Mon 30 Nov 00:00)
START = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
END = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
SHOP = ("fietsen",)


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_incidents_per_week_fold_utc_hours_into_local_weeks(session: Session) -> None:
    o = [b.order(session, "fietsen", str(1000 + i), utc(1, 12)) for i in range(6)]
    b.incident(session, o[0], "address", utc(9, 22, 30))  # Mon 9 Nov 23:30 local
    b.incident(session, o[1], "address", utc(8, 23, 30))  # Mon 9 Nov 00:30 local (Sunday in UTC)
    b.incident(session, o[2], "stale", utc(8, 22, 30))  # Sun 8 Nov 23:30 local
    b.incident(session, o[3], "shipment_delay", START)  # first instant of the range: counted
    b.incident(session, o[4], "shipment_delay", END)  # first instant after the range: not counted
    b.incident(session, o[5], "stale", START - timedelta(seconds=1))
    other = b.order(session, "theewinkel", "2000", utc(1, 12))
    b.incident(session, other, "address", utc(10, 12))  # another shop: never counted
    session.commit()

    weeks = insights.incidents_per_week(session, SHOP, START, END, AMS)

    assert weeks == [
        WeekCount(date(2026, 11, 2), "shipment_delay", 1),
        WeekCount(date(2026, 11, 2), "stale", 1),
        WeekCount(date(2026, 11, 9), "address", 2),
    ]
    assert insights.weeks_between(START, END, AMS) == [date(2026, 11, d) for d in (2, 9, 16, 23)]


def test_incidents_per_week_empty_range_is_empty(session: Session) -> None:
    assert insights.incidents_per_week(session, SHOP, START, END, AMS) == []


def _cause_rows(session: Session) -> None:
    day = utc(10, 9)
    rows = [
        ("1", "PostNL", "Morgen in huis", ("Bel", "Slot")),
        ("2", "PostNL", "Morgen in huis", ("Bel",)),
        ("3", "DHL", "Standaard", ("Slot",)),
        ("4", None, "Standaard", ("Band",)),
    ]
    orders = {ext: b.order(session, "fietsen", ext, day, carrier=c, method=m, products=p) for ext, c, m, p in rows}
    b.incident(session, orders["1"], "shipment_delay", day)
    b.incident(session, orders["2"], "shipment_delay", day)
    b.incident(session, orders["3"], "address", day, details={"problems": ["missing_street"]})
    b.incident(session, orders["4"], "address", day, details={"problems": ["missing_street", "missing_house_number"]})
    b.incident(session, orders["1"], "address", day, details={"problems": ["missing_street"]})
    b.incident(session, orders["2"], "address", day, details={"problems": ["postcode_format"]})
    b.incident(session, orders["4"], "stale", day, details={"status": "on-hold"})
    b.incident(session, orders["3"], "stale", day)  # no status in the details: the order's raw status
    session.commit()


def test_top_causes_group_incidents_and_explain_a_frequent_missing_street(session: Session) -> None:
    _cause_rows(session)

    causes = insights.top_causes(session, SHOP, START, END)

    assert causes.total == 8
    assert causes.by_carrier == [CauseCount("PostNL", 4), CauseCount("(unknown)", 2), CauseCount("DHL", 2)]
    assert causes.by_shipping_method == [CauseCount("Morgen in huis", 4), CauseCount("Standaard", 4)]
    assert causes.by_product == [CauseCount("Bel", 4), CauseCount("Slot", 4), CauseCount("Band", 2)]
    assert causes.by_warehouse_step == [CauseCount("on-hold", 1), CauseCount("paid", 1)]
    assert causes.by_address_problem == [
        CauseCount("missing_street", 3),
        CauseCount("missing_house_number", 1),
        CauseCount("postcode_format", 1),
    ]
    assert causes.hints == [
        "3 of 4 address problems were a missing street name. That usually means the checkout's address autofill "
        "(postcode lookup) is broken or switched off: try the checkout on a phone with a Dutch postcode and "
        "house number."
    ]


def test_address_hint_needs_both_count_and_share(session: Session) -> None:
    _cause_rows(session)
    # 3 missing streets of 4 address incidents: below a count of 4, and below a share of 0.8
    assert insights.top_causes(session, SHOP, START, END, thresholds=HintThresholds(min_count=4)).hints == []
    assert insights.top_causes(session, SHOP, START, END, thresholds=HintThresholds(min_share=0.76)).hints == []
    assert len(insights.top_causes(session, SHOP, START, END, thresholds=HintThresholds(3, 0.75)).hints) == 1


def test_top_causes_leave_out_other_shops_and_other_times(session: Session) -> None:
    _cause_rows(session)
    assert insights.top_causes(session, ("theewinkel",), START, END).total == 0
    later = insights.top_causes(session, SHOP, END, END + timedelta(days=30))
    assert (later.total, later.by_carrier, later.by_product, later.hints) == (0, [], [], [])


def test_on_time_rate_counts_shipped_orders_without_a_delay_incident(session: Session) -> None:
    day = utc(10, 9)
    shipped = OrderStatus.SHIPPED
    p1 = b.order(session, "fietsen", "1", day, status=shipped, carrier="PostNL", method="Morgen in huis")
    p2 = b.order(session, "fietsen", "2", day, status=OrderStatus.DELIVERED, carrier="PostNL", method="Standaard")
    p3 = b.order(session, "fietsen", "3", day, status=shipped, carrier="PostNL", method="Standaard")
    d1 = b.order(session, "fietsen", "4", day, status=shipped, carrier="DHL", method="Standaard")
    b.order(session, "fietsen", "5", day, status=OrderStatus.PAID, method="Standaard")  # not shipped: left out
    b.order(session, "fietsen", "6", END, status=shipped, carrier="DHL", method="Standaard")  # after the range
    b.incident(session, p1, "shipment_delay", day)
    b.incident(session, p1, "next_day", day)  # two late incidents on one order: one late order
    b.incident(session, p2, "stale", day)
    b.incident(session, p3, "address", day)  # not a delay
    b.incident(session, d1, "review", day)
    session.commit()

    rates = insights.on_time_rates(session, SHOP, START, END)

    assert rates.by_carrier == [OnTimeRate("PostNL", 3, 2), OnTimeRate("DHL", 1, 0)]
    assert rates.by_shipping_method == [OnTimeRate("Standaard", 3, 1), OnTimeRate("Morgen in huis", 1, 1)]
    assert rates.by_carrier[0].rate == 1 / 3
    assert rates.by_carrier[1].rate == 1.0
    only_delay = insights.on_time_rates(session, SHOP, START, END, late_kinds=("shipment_delay",))
    assert only_delay.by_carrier == [OnTimeRate("PostNL", 3, 1), OnTimeRate("DHL", 1, 0)]


def test_voucher_spend_per_local_month_counts_issued_vouchers_only(session: Session) -> None:
    o = b.order(session, "fietsen", "1", utc(1, 12, month=10))
    b.voucher(session, o, utc(31, 22, 30, month=10), "5.00", code="A")  # 31 Oct 23:30 local: October
    b.voucher(session, o, utc(31, 23, 30, month=10), "7.50", code="B")  # 1 Nov 00:30 local: November
    b.voucher(session, o, utc(15, 12), "2.50", code="C")
    b.voucher(session, o, utc(15, 12), "9.00", code="D", state="refused", reason="budget")
    other = b.order(session, "theewinkel", "1", utc(1, 12))
    b.voucher(session, other, utc(15, 12), "100.00", code="E")
    session.commit()
    start, end = datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC)

    spend = insights.voucher_spend_per_month(session, SHOP, start, end, AMS)

    assert spend == [
        MonthSpend(date(2026, 10, 1), "EUR", 1, Decimal("5.00")),
        MonthSpend(date(2026, 11, 1), "EUR", 2, Decimal("10.00")),
    ]
    tally = insights.vouchers_issued(session, ("fietsen", "theewinkel"), utc(15, 0), utc(16, 0))
    assert [(t.shop_id, t.vouchers, t.amount, t.refused) for t in tally] == [
        ("fietsen", 1, Decimal("2.50"), 1),
        ("theewinkel", 1, Decimal("100.00"), 0),
    ]


def test_contacts_per_100_orders_and_after_we_informed_the_customer(session: Session) -> None:
    orders = [b.order(session, "fietsen", str(i), utc(3, 10)) for i in range(8)]
    b.email(session, orders[0], utc(5, 10))
    b.contact(session, orders[0], utc(5, 11))  # after our e-mail
    b.email(session, orders[1], utc(5, 12))
    b.contact(session, orders[1], utc(5, 11), kind="complaint")  # before our e-mail
    b.contact(session, orders[2], utc(5, 11))  # never e-mailed
    b.email(session, orders[3], utc(6, 9))
    b.contact(session, orders[3], utc(6, 9), kind="address_change")  # same instant: not "after"
    other = b.order(session, "theewinkel", "9", utc(3, 10))
    b.email(session, other, utc(4, 10))
    b.contact(session, other, utc(5, 10))
    session.commit()

    stats = insights.contact_stats(session, SHOP, START, END)

    assert stats == ContactStats(
        orders=8, contacts=4, after_informed=1, by_kind={"address_change": 1, "complaint": 1, "where_is_my_order": 2}
    )
    assert stats.per_100_orders == 50.0
    assert insights.contact_stats(session, SHOP, END, END + timedelta(days=1)).per_100_orders == 0.0


def test_open_incidents_by_kind_and_level(session: Session) -> None:
    o = [b.order(session, "fietsen", str(i), utc(3, 10)) for i in range(4)]
    b.incident(session, o[0], "shipment_delay", utc(4, 10), state="escalated", level=2)
    b.incident(session, o[1], "shipment_delay", utc(4, 10), state="escalated", level=2)
    b.incident(session, o[2], "shipment_delay", utc(4, 10), level=0)
    b.incident(session, o[3], "address", utc(4, 10), state="resolved", resolved_at=utc(5, 10))
    session.commit()
    assert [(r.kind, r.level, r.count) for r in insights.open_incidents(session, SHOP)] == [
        ("shipment_delay", 0, 1),
        ("shipment_delay", 2, 2),
    ]
    assert insights.open_incidents(session, ("theewinkel",)) == []
