"""The patterns page: advice in plain words, SVG charts without script, CSV tables, the date range."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from webhooks.admin.common import daily_voucher_budget

from . import builders as b
from . import scenario
from .web import sign_in


@pytest.fixture
def world(session: Session, now: datetime) -> scenario.World:
    world = scenario.build(session, now)
    for i in range(3):  # two more missing streets: three of four address problems
        order = b.order(session, "fietsen", f"66{i}", now - timedelta(days=2), carrier="PostNL", method="Standaard")
        problems = ["missing_street"] if i < 2 else ["postcode_format"]
        b.incident(session, order, "address", now - timedelta(days=2), details={"problems": problems})
    session.commit()
    return world


def test_patterns_page_explains_what_to_fix(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")
    response = client.get("/admin/patterns")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 of 4 address problems were a missing street name." in page
    assert "broken or switched off" in page
    assert 'src="/admin/patterns/incidents-per-week.svg?from=2026-09-02&amp;to=2026-11-24"' in page
    assert 'name="order_number"' in page


def test_charts_are_svg_without_script(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")
    for name in ("incidents-per-week", "on-time-by-carrier", "voucher-spend"):
        response = client.get(f"/admin/patterns/{name}.svg?from=2026-11-01&to=2026-11-30")
        assert response.status_code == 200, name
        assert response.mimetype == "image/svg+xml"
        body = response.get_data(as_text=True)
        assert "<svg" in body, name
        assert "<script" not in body, name
    weekly = client.get("/admin/patterns/incidents-per-week.svg?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "Parcel delayed" in weekly
    assert "Address incomplete" in weekly
    assert "Order not shipped in time" not in weekly
    assert client.get("/admin/patterns/pie.svg").status_code == 404


def test_patterns_csv_has_exact_numbers(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")

    def table(name: str) -> list[str]:
        response = client.get(f"/admin/patterns?format=csv&table={name}&from=2026-11-01&to=2026-11-30")
        assert response.headers["Content-Disposition"] == f'attachment; filename="patterns-{name}.csv"'
        return response.get_data(as_text=True).splitlines()

    assert table("by_address_problem") == ["cause,incidents", "missing_street,3", "postcode_format,1"]
    assert table("by_carrier") == ["cause,incidents", "PostNL,4", "DHL,1"]
    assert table("on_time_by_carrier") == ["label,shipped,late,on_time_rate", "PostNL,1,1,0"]
    assert table("voucher_spend") == ["month,currency,vouchers,amount", "2026-11-01,EUR,1,12.50"]
    assert table("incidents_per_week") == ["week,kind,incidents", "2026-11-16,address,4", "2026-11-16,shipment_delay,1"]
    assert table("contact_summary") == ["orders,contacts,per_100_orders,after_we_informed", "5,0,0,0"]


def test_patterns_date_range_is_checked(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")
    backwards = client.get("/admin/patterns?from=2026-11-30&to=2026-11-01")
    assert backwards.status_code == 400
    assert "from: 2026-11-30 is after to: 2026-11-01" in backwards.get_data(as_text=True)
    assert client.get("/admin/patterns?from=2023-11-20&to=2026-11-22").status_code == 400  # 1099 days
    assert client.get("/admin/patterns?from=2023-11-21&to=2026-11-22").status_code == 200  # 1098 days
    assert client.get("/admin/patterns?to=tomorrow").status_code == 400


def _settings(policies: Any) -> Any:
    return SimpleNamespace(policies_for=lambda shop_id: policies)


def test_daily_budget_is_read_defensively() -> None:
    assert daily_voucher_budget(_settings(SimpleNamespace()), "fietsen") is None
    assert daily_voucher_budget(_settings(SimpleNamespace(compensation=None)), "fietsen") is None
    as_dict = SimpleNamespace(compensation={"budget": {"per_shop_per_day": 75}})
    assert daily_voucher_budget(_settings(as_dict), "fietsen") == Decimal("75.00")
    typed = SimpleNamespace(compensation=SimpleNamespace(budget=SimpleNamespace(per_shop_per_day=Decimal("12.5"))))
    assert daily_voucher_budget(_settings(typed), "fietsen") == Decimal("12.50")
