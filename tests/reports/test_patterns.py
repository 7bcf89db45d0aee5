"""The patterns page counts what customers report by item, cause and channel, with a hint from three orders on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.admin import insights
from connector.store.db import transaction
from connector.store.tables import IncidentRow, OrderRow
from tests.admin.builders import account
from tests.admin.web import sign_in
from tests.reports.conftest import NOW, World

BELL = {"title": "Fietsbel messing", "sku": "BEL-MS", "quantity": 1}


def _reports(world: World, count: int, cause: str = "damaged", channel: str = "email") -> None:
    orders = [world.shop.create_order() for _ in range(count)]
    world.run()
    with transaction(world.services.sessions) as session:
        for placed in orders:
            order_id = session.scalar(select(OrderRow.id).where(OrderRow.external_id == str(placed["id"])))
            session.add(IncidentRow(shop_id="fietsen", order_id=order_id, kind=f"report_{cause}", state="open",
                                    level=1, occurrence=1, opened_at=NOW, updated_at=NOW,
                                    details={"cause": cause, "channel": channel, "lines": [BELL]}))  # fmt: skip


def _counts(world: World) -> insights.ReportCounts:
    with world.services.sessions() as session:
        return insights.report_counts(session, ["fietsen"], NOW - timedelta(days=1), NOW + timedelta(days=1))


def test_two_reports_of_an_item_are_counted_without_a_hint(world: World) -> None:
    _reports(world, 2)
    counts = _counts(world)
    assert counts.total == 2
    assert counts.by_item == [insights.ReportItem("Fietsbel messing", "BEL-MS", "damaged", 2)]
    assert counts.hints == []


def test_three_reports_of_an_item_give_a_plain_words_hint_on_the_page(world: World) -> None:
    _reports(world, 3)
    _reports(world, 1, cause="not_received", channel="tracking")
    counts = _counts(world)
    assert [(c.label, c.count) for c in counts.by_cause] == [("damaged", 3), ("not_received", 1)]
    assert [(c.label, c.count) for c in counts.by_channel] == [("email", 3), ("tracking", 1)]
    assert counts.hints == [insights.ReportItem("Fietsbel messing", "BEL-MS", "damaged", 3)]

    with world.services.sessions() as session, session.begin():
        account(session, "lotte", ["fietsen"], NOW)
    sign_in(world.client, "lotte")
    page = world.client.get("/admin/patterns?from=2026-11-25&to=2026-11-27&lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Fietsbel messing arrived damaged in 3 orders in this period: look at how it is packed." in html
