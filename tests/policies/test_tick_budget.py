"""Vouchers of one tick round: the budget figures are read once per round and must stay exact within it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from connector.policies import engine as tick
from connector.services import Services
from connector.store.tables import ActionRow, VoucherRow

from .support import NOW, ams, customer, order
from .test_engine import put


def late(external_id: str, customer_id: str = "77") -> Any:
    """Placed Monday before the cut-off with a next-day method, not shipped: a voucher is asked for."""
    who = customer(external_id=customer_id, email=f"c{customer_id}@example.nl")
    return order(external_id, at=ams(2026, 11, 23, 12, 0), shipping_method="Morgen in huis", customer=who)


def vouchers(services: Services) -> list[tuple[str, str, str | None, int | None]]:
    """(order external id, state, reason, linked action id) per voucher, in order."""
    with services.sessions() as session:
        rows = session.execute(
            select(
                VoucherRow.code, VoucherRow.state, VoucherRow.reason, VoucherRow.action_id, VoucherRow.order_id
            ).order_by(VoucherRow.id)
        ).all()
    return [(str(order_id), state, reason, action_id) for _code, state, reason, action_id, order_id in rows]


def voucher_action_ids(services: Services) -> dict[str, int]:
    with services.sessions() as session:
        rows = session.execute(
            select(ActionRow.idempotency_key, ActionRow.id).where(ActionRow.kind == "create_voucher")
        )
        return {key.split(":")[1]: action_id for key, action_id in rows}


def test_one_customer_gets_one_voucher_even_within_one_round(services: Services) -> None:
    ids = put(services, late("3003"), late("3004"))
    report = tick.run_tick(services, NOW)
    assert (report.vouchers_issued, report.vouchers_refused, report.errors) == (1, 1, 0)
    linked = voucher_action_ids(services)
    assert list(linked) == ["3003"]
    assert vouchers(services) == [
        (str(ids["3003"]), "issued", None, linked["3003"]),
        (str(ids["3004"]), "refused", "customer already received 1 voucher(s) in 90 days (limit 1)", None),
    ]


def test_the_day_budget_holds_within_one_round(build: Callable[..., Services]) -> None:
    services = build(policies={"compensation": {"budget": {"per_shop_per_day": "12.00"}}})
    put(services, late("3001", "1"), late("3002", "2"), late("3003", "3"))  # 5.00 each
    report = tick.run_tick(services, NOW)
    assert (report.vouchers_issued, report.vouchers_refused) == (2, 1)
    states = [(state, reason) for _, state, reason, _ in vouchers(services)]
    assert states == [
        ("issued", None),
        ("issued", None),
        ("refused", "the shop's daily budget 12.00 would be exceeded (10.00 used, 5.00 asked)"),
    ]
    assert list(voucher_action_ids(services)) == ["3001", "3002"]


def test_the_day_budget_counts_vouchers_of_earlier_rounds(build: Callable[..., Services]) -> None:
    services = build(policies={"compensation": {"budget": {"per_shop_per_day": "12.00"}}})
    put(services, late("3001", "1"), late("3002", "2"))
    assert tick.run_tick(services, NOW).vouchers_issued == 2
    put(services, late("3003", "3"))
    report = tick.run_tick(services, NOW)
    assert (report.vouchers_issued, report.vouchers_refused) == (0, 1)


def test_a_rolled_back_order_gives_its_voucher_back_to_the_round(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_row = tick.planned_row

    def flaky_row(**kwargs: Any) -> dict[str, Any]:
        if kwargs["order_external_id"] == "3003" and kwargs["action"].step == "1-tag":
            raise RuntimeError("disk full")
        return real_row(**kwargs)

    monkeypatch.setattr(tick, "planned_row", flaky_row)
    ids = put(services, late("3003"), late("3004"))  # the same customer: only one voucher may exist
    report = tick.run_tick(services, NOW)
    assert report.errors == 1
    assert vouchers(services) == [(str(ids["3004"]), "issued", None, voucher_action_ids(services)["3004"])]
