"""Vouchers of one tick round: the budget figures are read once per round and must stay exact within it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from connector.outbox.queue import planned_row
from connector.policies import compensation
from connector.policies import engine as tick
from connector.services import Services
from connector.store.db import transaction
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
    def flaky_row(**kwargs: Any) -> dict[str, Any]:
        if kwargs["order_external_id"] == "3003" and kwargs["action"].step == "1-tag":
            raise RuntimeError("disk full")
        return planned_row(**kwargs)

    monkeypatch.setattr(tick, "planned_row", flaky_row)
    ids = put(services, late("3003"), late("3004"))  # the same customer: only one voucher may exist
    report = tick.run_tick(services, NOW)
    assert report.errors == 1
    assert vouchers(services) == [(str(ids["3004"]), "issued", None, voucher_action_ids(services)["3004"])]


# --- the per-customer window, as the tick's budget book reads it ---------------------------------

WINDOW = timedelta(days=30)
TICK_AT = NOW.astimezone(UTC)  # the service clock is UTC (connector.clock.system_clock)


def voucher_before(services: Services, customer_id: str, at: datetime) -> None:
    """An issued voucher of an earlier order of this customer, created at ``at``."""
    who = compensation.customer_key("fietsen", late("0", customer_id))
    assert who is not None
    with transaction(services.sessions) as session:
        session.add(
            VoucherRow(
                shop_id="fietsen",
                customer_key=who,
                code=f"OC-EARLIER{customer_id}",
                kind="percentage",
                value=Decimal("10"),
                amount=Decimal("5.00"),
                currency="EUR",
                state="issued",
                created_at=at,
                expires_at=at + timedelta(days=90),
            )
        )


def test_the_tick_counts_a_customers_voucher_inside_the_window_to_the_second(
    build: Callable[..., Services],
) -> None:
    """The window is ``created_at > now - days``: a voucher one second inside it refuses the next one;
    one exactly ``days`` ago (and one a second earlier) no longer counts. All three in one tick round."""
    services = build(policies={"compensation": {"budget": {"per_customer_per_days": {"count": 1, "days": 30}}}})
    voucher_before(services, "1", TICK_AT - WINDOW + timedelta(seconds=1))  # 29 days 23:59:59 ago
    voucher_before(services, "2", TICK_AT - WINDOW)  # exactly 30 days ago: the boundary is outside
    voucher_before(services, "3", TICK_AT - WINDOW - timedelta(seconds=1))
    ids = put(services, late("3001", "1"), late("3002", "2"), late("3003", "3"))
    report = tick.run_tick(services, TICK_AT)
    assert (report.vouchers_issued, report.vouchers_refused, report.errors) == (2, 1, 0)
    linked = voucher_action_ids(services)
    assert sorted(linked) == ["3002", "3003"]
    assert vouchers(services)[3:] == [
        (str(ids["3001"]), "refused", "customer already received 1 voucher(s) in 30 days (limit 1)", None),
        (str(ids["3002"]), "issued", None, linked["3002"]),
        (str(ids["3003"]), "issued", None, linked["3003"]),
    ]


@pytest.mark.parametrize(
    ("ago", "state"),
    [
        (WINDOW - timedelta(seconds=1), "refused"),
        (WINDOW, "issued"),
    ],
    ids=["one-second-inside", "exactly-the-window"],
)
def test_the_tick_alone_with_one_customer_either_side_of_the_window(
    build: Callable[..., Services], ago: timedelta, state: str
) -> None:
    services = build(policies={"compensation": {"budget": {"per_customer_per_days": {"count": 1, "days": 30}}}})
    voucher_before(services, "1", TICK_AT - ago)
    put(services, late("3001", "1"))
    report = tick.run_tick(services, TICK_AT)
    assert (report.vouchers_issued, report.vouchers_refused) == ((1, 0) if state == "issued" else (0, 1))
    assert [s for _, s, _, _ in vouchers(services)] == ["issued", state]


def observing(build: Callable[..., Services]) -> Services:
    shops = [shop.model_dump(exclude_none=True) for shop in build().settings.shops]
    return build(shops=[{**shop, "mode": "observe"} for shop in shops])


def test_a_voucher_decided_in_observe_mode_is_recorded_as_observed_and_spends_no_budget(
    build: Callable[..., Services],
) -> None:
    # given the shop in observe mode and a late next-day order
    services = observing(build)
    ids = put(services, late("3003"))

    # when the round decides
    report = tick.run_tick(services, NOW)

    # then the voucher is decided and recorded as observed, its action observed, and nothing counts as spent
    linked = voucher_action_ids(services)
    assert report.vouchers_issued == 1
    assert vouchers(services) == [(str(ids["3003"]), "observed", None, linked["3003"])]
    with services.sessions() as session:
        assert session.scalar(select(ActionRow.state).where(ActionRow.id == linked["3003"])) == "observed"

    # and the same customer's next late order, after the switch to act, still gets its voucher (one per
    # customer in 90 days: the observed one was never given)
    acting = build()
    ids.update(put(acting, late("3004")))
    tick.run_tick(acting, NOW)
    assert [state for _, state, _, _ in vouchers(acting)] == ["observed", "issued"]


def test_a_voucher_given_in_act_mode_counts_for_the_customers_next_order(services: Services) -> None:
    put(services, late("3003"))
    tick.run_tick(services, NOW)
    put(services, late("3004"))
    tick.run_tick(services, NOW)
    assert [(state, reason) for _, state, reason, _ in vouchers(services)] == [
        ("issued", None),
        ("refused", "customer already received 1 voucher(s) in 90 days (limit 1)"),
    ]
