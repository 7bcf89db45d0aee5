"""The patterns page counts out-of-stock incidents by item and says, in plain words, when the shop kept selling an
item as available while it was out of stock (both sides of the hint's threshold; a shop filter)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from connector.admin import insights
from connector.admin.insights import HintThresholds, StockCount
from connector.services import Services
from tests.admin.web import sign_in

from . import builders as b

START = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
END = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
DAY = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def _line(title: str, sku: str, signal: str) -> dict[str, object]:
    return {"line_id": "1", "title": title, "sku": sku, "quantity": 1, "backordered": 1, "signal": signal}


def _stock_rows(session: Session, lamps: int) -> None:
    for index in range(lamps):  # sold while out of stock (available below zero after the order)
        order = b.order(session, "fietsen", f"10{index}", DAY)
        b.incident(
            session, order, "out_of_stock", DAY, details={"lines": [_line("Tuinlamp zwart", "LAMP-ZW", "inventory")]}
        )
    for index in range(3):  # held by staff: the shop did not sell it as available
        order = b.order(session, "fietsen", f"20{index}", DAY)
        b.incident(session, order, "out_of_stock", DAY, details={"lines": [_line("Fietsbel", "BEL", "hold")]})
    other = b.order(session, "theewinkel", "3000", DAY)
    b.incident(
        session, other, "out_of_stock", DAY, details={"lines": [_line("Tuinlamp zwart", "LAMP-ZW", "inventory")]}
    )
    session.commit()


def test_counts_by_item_and_the_hint_from_its_threshold(session: Session) -> None:
    _stock_rows(session, lamps=3)

    causes = insights.top_causes(session, ("fietsen",), START, END)

    assert causes.out_of_stock == [
        StockCount("Fietsbel", "BEL", 3, 0),
        StockCount("Tuinlamp zwart", "LAMP-ZW", 3, 3),
    ]
    assert [s.label for s in causes.stock_hints] == ["Tuinlamp zwart"]
    # one order fewer than the threshold: no hint
    fewer = insights.top_causes(session, ("fietsen",), START, END, thresholds=HintThresholds(min_count=4))
    assert fewer.stock_hints == []


def test_the_patterns_page_shows_the_counts_and_the_hint(
    client: FlaskClient, session: Session, services: Services
) -> None:
    _stock_rows(session, lamps=12)
    b.account(session, "anna", ["fietsen"], DAY)
    session.commit()
    sign_in(client, "anna")

    page = client.get("/admin/patterns?from=2026-11-02&to=2026-11-29").get_data(as_text=True)

    assert "Tuinlamp zwart was out of stock in 12 orders in this period: the shop shows it as available." in page
    assert "Fietsbel was out of stock" not in page
    csv = client.get("/admin/patterns?from=2026-11-02&to=2026-11-29&format=csv&table=out_of_stock")
    assert csv.get_data(as_text=True).splitlines() == [
        "item,sku,orders,sold_while_out_of_stock",
        "Tuinlamp zwart,LAMP-ZW,12,12",
        "Fietsbel,BEL,3,0",
    ]
