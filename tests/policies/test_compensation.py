"""Vouchers within every budget limit: issued once, refused with the reason, and what the tick writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from connector.model import Money
from connector.policies import compensation
from connector.policies import engine as tick
from connector.policies.config import CompensationConfig
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, IncidentRow, VoucherRow

from .support import ams, context, customer, order
from .test_engine import put

NOW = ams(2026, 11, 24, 21, 0)
SECRET = "test-secret-key-0123456789abcdef"


def grant(
    services: Services, item: Any, config: dict[str, Any] | None = None, *, now: Any = NOW, step: str = "1-voucher"
) -> Any:
    order_id = put(services, item)[item.external_id]
    ctx = context()
    with transaction(services.sessions) as session:
        return compensation.grant(
            session,
            shop_id="fietsen",
            order_id=order_id,
            order=item,
            incident_id=None,
            policy="next_day",
            step=step,
            locale="nl",
            config=CompensationConfig.model_validate(config or {}),
            calendar=ctx.calendar,
            secret=SECRET,
            now=now,
        )


def vouchers(services: Services) -> list[tuple[str, str, Decimal, str | None]]:
    with services.sessions() as session:
        rows = session.execute(
            select(VoucherRow.code, VoucherRow.state, VoucherRow.amount, VoucherRow.reason).order_by(VoucherRow.id)
        )
        return [(c, s, Decimal(a), r) for c, s, a, r in rows]


def test_code_is_deterministic_random_looking_and_secret_bound() -> None:
    code = compensation.voucher_code(SECRET, "fietsen:1001:next_day:1-voucher")
    assert code == compensation.voucher_code(SECRET, "fietsen:1001:next_day:1-voucher")
    assert code.startswith("OC-")
    assert len(code) == 11
    assert code[3:].isalnum()
    assert code[3:].isupper()
    assert not set(code[3:]) & set("OI01")
    assert code != compensation.voucher_code(SECRET, "fietsen:1002:next_day:1-voucher")
    assert code != compensation.voucher_code("another-secret-key-000000", "fietsen:1001:next_day:1-voucher")


def test_issued_voucher_payload_and_replay(build: Callable[..., Services]) -> None:
    services = build()
    item = order("1001", total=Money(Decimal("50.00"), "EUR"))
    outcome = grant(services, item)
    assert outcome.state == "issued"
    assert outcome.amount == Decimal("5.00")
    assert outcome.context == {
        "code": outcome.code,
        "kind": "percentage",
        "value": "10",
        "currency": "EUR",
        "ends_at": "2027-02-22",
    }
    assert outcome.action.kind.value == "create_voucher"
    assert outcome.action.step == "1-voucher"
    assert outcome.action.payload == {
        "code": outcome.code,
        "kind": "percentage",
        "value": "10",
        "currency": "EUR",
        "starts_at": "2026-11-24T20:00:00+00:00",
        "ends_at": "2027-02-22T22:59:59+00:00",
        "customer_external_id": "77",
        "email": "sanne@example.nl",
        "title": "Excuses voor bestelling #1001",
    }
    with transaction(services.sessions) as session:
        again = compensation.grant(
            session,
            shop_id="fietsen",
            order_id=1,
            order=item,
            incident_id=None,
            policy="next_day",
            step="1-voucher",
            locale="nl",
            config=CompensationConfig(),
            calendar=context().calendar,
            secret=SECRET,
            now=NOW + timedelta(hours=1),
        )
    assert again.code == outcome.code
    assert again.state == "issued"
    assert len(vouchers(services)) == 1


def test_fixed_voucher(build: Callable[..., Services]) -> None:
    services = build()
    outcome = grant(services, order("1001"), {"voucher": {"kind": "fixed", "value": "5.00"}})
    assert (outcome.state, outcome.amount, outcome.context["value"], outcome.context["kind"]) == (
        "issued",
        Decimal("5.00"),
        "5.00",
        "fixed",
    )


def test_per_order_limit(build: Callable[..., Services]) -> None:
    services = build()
    item = order("1001")
    assert grant(services, item).state == "issued"
    with transaction(services.sessions) as session:
        order_id = session.scalar(select(VoucherRow.order_id))
    assert order_id is not None
    ctx = context()
    with transaction(services.sessions) as session:
        second = compensation.grant(
            session,
            shop_id="fietsen",
            order_id=order_id,
            order=item,
            incident_id=None,
            policy="shipment_delay",
            step="1-level-2-voucher",
            locale="nl",
            config=CompensationConfig(),
            calendar=ctx.calendar,
            secret=SECRET,
            now=NOW,
        )
    assert second.state == "refused"
    assert second.action is None
    assert second.context is None
    assert second.reason == "per-order limit reached (1 of 1)"
    assert [s for _, s, _, _ in vouchers(services)] == ["issued", "refused"]


def test_per_customer_limit_and_its_window(build: Callable[..., Services]) -> None:
    services = build()
    assert grant(services, order("1001")).state == "issued"
    refused = grant(services, order("1002"), now=NOW + timedelta(days=89))
    assert refused.state == "refused"
    assert refused.reason == "customer already received 1 voucher(s) in 90 days (limit 1)"
    assert grant(services, order("1003"), now=NOW + timedelta(days=90)).state == "issued"
    other = order("1004", customer=customer(external_id="88", email="piet@example.nl"))
    assert grant(services, other, {"budget": {"per_shop_per_day": "1000"}}).state == "issued"


def test_max_share_of_order_either_side(build: Callable[..., Services]) -> None:
    services = build()
    fixed = {"voucher": {"kind": "fixed", "value": "5.00"}}
    small = grant(services, order("1001", total=Money(Decimal("9.98"), "EUR")), fixed)
    assert small.state == "refused"
    assert small.reason == "voucher 5.00 EUR is more than 50% of the order (9.98 EUR)"
    other = order("1002", total=Money(Decimal("10.00"), "EUR"), customer=customer(external_id="88", email="p@x.nl"))
    assert grant(services, other, fixed).state == "issued"


def test_per_shop_per_day_either_side_and_next_local_day(build: Callable[..., Services]) -> None:
    services = build()
    budget = {"budget": {"per_shop_per_day": "10.00"}}

    def buyer(n: int) -> Any:
        return order(str(n), customer=customer(external_id=str(n), email=f"c{n}@example.nl"))

    assert grant(services, buyer(1), budget).state == "issued"  # 5.00
    assert grant(services, buyer(2), budget).state == "issued"  # 10.00: exactly the budget
    third = grant(services, buyer(3), budget, now=ams(2026, 11, 24, 23, 59))
    assert third.state == "refused"
    assert third.reason == "the shop's daily budget 10.00 would be exceeded (10.00 used, 5.00 asked)"
    assert grant(services, buyer(4), budget, now=ams(2026, 11, 25, 0, 0)).state == "issued"  # a new shop-local day


def test_no_email_or_no_total_is_refused(build: Callable[..., Services]) -> None:
    services = build()
    assert grant(services, order("1001", customer=customer(email=None, external_id=None))).reason == (
        "the customer has no e-mail address to tie the voucher to"
    )
    assert grant(services, order("1002", total=None)).reason == (
        "the order total is unknown, so the voucher's cost cannot be checked"
    )


def late_next_day(n: int, **changes: Any) -> Any:
    return order(str(n), at=ams(2026, 11, 24, 12, 0), shipping_method="Morgen in huis", **changes)


def test_tick_issues_voucher_into_the_email_and_note(build: Callable[..., Services]) -> None:
    services = build()
    put(services, late_next_day(1))
    report = tick.run_tick(services, NOW)
    assert (report.vouchers_issued, report.vouchers_refused, report.actions_planned) == (1, 0, 4)
    with services.sessions() as session:
        rows = {r.kind: r for r in session.scalars(select(ActionRow))}
        incident = session.scalars(select(IncidentRow)).one()
        voucher = session.scalars(select(VoucherRow)).one()
    code = voucher.code
    assert voucher.action_id == rows["create_voucher"].id
    assert voucher.incident_id == incident.id
    assert rows["create_voucher"].idempotency_key == "fietsen:1:next_day:1-voucher"
    assert rows["notify_customer"].payload["context"]["voucher"]["code"] == code
    assert rows["add_note"].payload["text"].endswith(f" Kortingscode {code} (10%) gemaakt, geldig t/m 22 feb 2027.")
    assert incident.details["voucher"] == {"state": "issued", "code": code, "amount": "5.00"}
    assert rows["create_voucher"].id < rows["notify_customer"].id  # the code exists before the e-mail names it


def test_tick_records_a_refusal_in_the_incident(build: Callable[..., Services]) -> None:
    services = build(policies={"compensation": {"budget": {"per_shop_per_day": "4.00"}}})
    put(services, late_next_day(1))
    report = tick.run_tick(services, NOW)
    assert (report.vouchers_issued, report.vouchers_refused, report.actions_planned) == (0, 1, 3)
    with services.sessions() as session:
        kinds = [r.kind for r in session.scalars(select(ActionRow))]
        incident = session.scalars(select(IncidentRow)).one()
        note = session.scalar(select(ActionRow.payload).where(ActionRow.kind == "add_note"))
        email = session.scalar(select(ActionRow.payload).where(ActionRow.kind == "notify_customer"))
    assert "create_voucher" not in kinds
    assert note is not None
    assert email is not None
    assert incident.details["voucher"]["state"] == "refused"
    assert incident.details["voucher"]["reason"] == (
        "the shop's daily budget 4.00 would be exceeded (0.00 used, 5.00 asked)"
    )
    assert note["text"].endswith(
        " Geen kortingscode: the shop's daily budget 4.00 would be exceeded (0.00 used, 5.00 asked)."
    )
    assert email["context"]["voucher"] is None
    assert vouchers(services)[0][1] == "refused"


@pytest.mark.parametrize("value", ["0", "101"])
def test_bad_voucher_config_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="voucher"):
        CompensationConfig.model_validate({"voucher": {"kind": "percentage", "value": value}})
