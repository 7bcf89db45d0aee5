"""The tick against a real database: what gets written, once; savepoints; due selection; the fix hand-over."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from connector import codec
from connector.incidents import IncidentView, resolve
from connector.model import Order
from connector.outbox.queue import planned_row
from connector.policies import engine as tick
from connector.policies.base import Decision, PolicyContext
from connector.policies.config import PoliciesConfig
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, IncidentRow, OrderRow, VoucherRow

from .support import NOW, address, ams, order


def put(services: Services, *orders: Order, due: datetime = NOW) -> dict[str, int]:
    """Store snapshots as ingest does (due now); their row ids by external id."""
    ids = {}
    with transaction(services.sessions) as session:
        for item in orders:
            row = OrderRow(
                shop_id=item.shop_id,
                external_id=item.external_id,
                number=item.number,
                status=item.status.value,
                platform_status=item.platform_status,
                channel=item.channel.value,
                customer_email=item.customer.email,
                customer_external_id=item.customer.external_id,
                created_at=item.created_at,
                platform_updated_at=item.updated_at,
                ingested_at=due,
                next_check_at=due,
                deleted=False,
                data=codec.dump_order(item),
            )
            session.add(row)
            session.flush()
            ids[item.external_id] = row.id
    return ids


def replace_snapshot(services: Services, order_id: int, item: Order, due: datetime = NOW) -> None:
    with transaction(services.sessions) as session:
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id)
            .values(data=codec.dump_order(item), status=item.status.value, next_check_at=due)
        )


def actions(services: Services) -> list[tuple[str, str, int | None]]:
    with services.sessions() as session:
        rows = session.execute(
            select(ActionRow.idempotency_key, ActionRow.kind, ActionRow.incident_id).order_by(ActionRow.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def incidents(services: Services) -> list[tuple[str, str, int, str | None]]:
    with services.sessions() as session:
        rows = session.execute(
            select(IncidentRow.kind, IncidentRow.state, IncidentRow.level, IncidentRow.resolution).order_by(
                IncidentRow.id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def metric(services: Services, name: str, **labels: str) -> float:
    return services.metrics.registry.get_sample_value(name, labels) or 0.0


BAD = address(address1="Hoofdstraat", house_number=None)


def test_a_tick_writes_incident_actions_and_clears_the_next_check(services: Services) -> None:
    ids = put(services, order("1001", shipping_address=BAD))
    report = tick.run_tick(services, NOW)
    assert (report.evaluated, report.errors, report.incidents_opened, report.actions_planned) == (1, 0, 1, 4)
    with services.sessions() as session:
        incident_id = session.scalar(select(IncidentRow.id))
        assert session.get(OrderRow, ids["1001"]).next_check_at is None  # type: ignore[union-attr]
    assert actions(services) == [
        ("fietsen:1001:address:1-hold", "hold_fulfillment", incident_id),
        ("fietsen:1001:address:1-tag", "add_tags", incident_id),
        ("fietsen:1001:address:1-note", "add_note", incident_id),
        ("fietsen:1001:address:1-notify", "notify_customer", incident_id),
    ]
    assert incidents(services) == [("address", "open", 1, None)]
    assert metric(services, "ordercare_incidents_opened_total", kind="address") == 1
    assert metric(services, "ordercare_tick_orders_total", outcome="ok") == 1
    assert metric(services, "ordercare_ticks_total") == 1


def test_nothing_due_means_nothing_evaluated(services: Services) -> None:
    put(services, order("1001", shipping_address=BAD), due=NOW + timedelta(seconds=1))
    assert tick.run_tick(services, NOW).evaluated == 0
    assert actions(services) == []


def test_a_thousand_repeated_ticks_plan_nothing_new(services: Services) -> None:
    stale = order("2002", at=ams(2026, 11, 20, 10, 0))
    late = order("3003", at=ams(2026, 11, 23, 12, 0), shipping_method="Morgen in huis")
    put(services, order("1001", shipping_address=BAD), stale, late)
    first = tick.run_tick(services, NOW)
    assert first.incidents_opened == 3
    assert first.vouchers_issued == 1
    before = (actions(services), incidents(services))
    with services.sessions() as session:
        vouchers = session.scalar(select(func.count()).select_from(VoucherRow))
    assert vouchers == 1
    for i in range(1000):
        with transaction(services.sessions) as session:
            session.execute(update(OrderRow).values(next_check_at=NOW))
        report = tick.run_tick(services, NOW + timedelta(seconds=i))
        assert (report.actions_planned, report.incidents_opened, report.vouchers_issued, report.errors) == (0, 0, 0, 0)
    assert (actions(services), incidents(services)) == before
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(VoucherRow)) == 1


def test_each_policy_is_switched_by_the_settings_section_of_its_name() -> None:
    for name, policy in tick.POLICIES.items():
        assert policy.enabled(PoliciesConfig())
        assert not policy.enabled(PoliciesConfig.model_validate({name: {"enabled": False}}))


class Exploding:
    name = "exploding"

    def enabled(self, config: PoliciesConfig) -> bool:
        return True

    def decide(
        self, order: Order, incidents: Mapping[str, IncidentView], now: datetime, ctx: PolicyContext
    ) -> Decision:
        if order.external_id == "666":
            raise RuntimeError("bad order")
        return Decision()


def test_one_bad_order_is_logged_counted_and_retried_later(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tick.POLICIES, "exploding", Exploding())
    ids = put(
        services,
        order("1001", shipping_address=BAD),
        order("666", shipping_address=BAD),
        order("1002", shipping_address=BAD),
    )
    report = tick.run_tick(services, NOW)
    assert (report.evaluated, report.errors, report.incidents_opened) == (3, 1, 2)
    assert {key.split(":")[1] for key, _, _ in actions(services)} == {"1001", "1002"}
    with services.sessions() as session:
        assert session.get(OrderRow, ids["666"]).next_check_at == NOW + timedelta(hours=1)  # type: ignore[union-attr]
    assert metric(services, "ordercare_tick_orders_total", outcome="error") == 1
    assert metric(services, "ordercare_tick_orders_total", outcome="ok") == 2


def test_a_failure_while_writing_rolls_back_only_that_order(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def flaky_row(**kwargs: Any) -> dict[str, Any]:
        if kwargs["order_external_id"] == "666" and kwargs["action"].step == "1-note":
            raise RuntimeError("disk full")
        return planned_row(**kwargs)

    monkeypatch.setattr(tick, "planned_row", flaky_row)
    put(services, order("666", shipping_address=BAD), order("1001", shipping_address=BAD))
    report = tick.run_tick(services, NOW)
    assert report.errors == 1
    assert {key.split(":")[1] for key, _, _ in actions(services)} == {"1001"}
    assert [k for k, *_ in incidents(services)] == ["address"]  # the failed order's incident was rolled back


def test_due_orders_oldest_first_within_the_limit_and_deleted_ones_skipped(services: Services) -> None:
    ids = put(services, order("1", shipping_address=BAD), due=NOW - timedelta(minutes=1))
    ids |= put(services, order("2", shipping_address=BAD), due=NOW - timedelta(minutes=3))
    ids |= put(services, order("3", shipping_address=BAD), due=NOW - timedelta(minutes=2))
    with transaction(services.sessions) as session:
        session.execute(update(OrderRow).where(OrderRow.id == ids["3"]).values(deleted=True))
    report = tick.run_tick(services, NOW, limit=1)
    assert report.evaluated == 1
    assert {key.split(":")[1] for key, _, _ in actions(services)} == {"2"}
    total = tick.run_until_idle(services, NOW, limit=1)
    assert total.evaluated == 1
    assert {key.split(":")[1] for key, _, _ in actions(services)} == {"1", "2"}
    with services.sessions() as session:
        assert session.get(OrderRow, ids["3"]).next_check_at is None  # type: ignore[union-attr]


def test_run_until_idle_works_through_every_batch(services: Services) -> None:
    put(services, *(order(str(n), shipping_address=BAD) for n in range(7)))
    total = tick.run_until_idle(services, NOW, limit=3)
    assert (total.evaluated, total.incidents_opened, total.actions_planned) == (7, 7, 28)
    assert tick.run_until_idle(services, NOW, limit=3).evaluated == 0


def test_next_check_is_the_earliest_look_of_all_policies(services: Services) -> None:
    ids = put(services, order("1", at=ams(2026, 11, 24, 10, 0), shipping_method="Morgen in huis"))
    tick.run_tick(services, NOW)
    with services.sessions() as session:
        # next-day deadline (21:00) comes before the stale threshold (Thursday 10:00)
        assert session.get(OrderRow, ids["1"]).next_check_at == ams(2026, 11, 24, 21, 0)  # type: ignore[union-attr]


def test_fix_page_hand_over_leaves_the_policy_quiet(services: Services) -> None:
    ids = put(services, order("1001", shipping_address=BAD))
    tick.run_tick(services, NOW)
    planned_before = actions(services)
    with transaction(services.sessions) as session:  # what the fix page does in its transaction
        replace_snapshot(services, ids["1001"], order("1001"))
        incident_id = session.scalar(select(IncidentRow.id))
        assert incident_id is not None
        assert resolve(session, incident_id, "address corrected by customer", NOW, services.metrics)
        assert not resolve(session, incident_id, "address corrected by customer", NOW, services.metrics)
    report = tick.run_tick(services, NOW + timedelta(minutes=1))
    assert (report.evaluated, report.actions_planned, report.incidents_resolved) == (1, 0, 0)
    assert actions(services) == planned_before
    assert incidents(services) == [("address", "resolved", 1, "address corrected by customer")]
    assert metric(services, "ordercare_incidents_resolved_total", kind="address") == 1
    # a stale platform snapshot with the old address afterwards changes nothing either
    replace_snapshot(services, ids["1001"], order("1001", shipping_address=BAD), due=NOW + timedelta(minutes=2))
    assert tick.run_tick(services, NOW + timedelta(minutes=2)).actions_planned == 0


def test_fixed_by_staff_in_the_shop_releases_notes_and_resolves(services: Services) -> None:
    ids = put(services, order("1001", shipping_address=BAD))
    tick.run_tick(services, NOW)
    replace_snapshot(services, ids["1001"], order("1001"), due=NOW + timedelta(hours=1))
    report = tick.run_tick(services, NOW + timedelta(hours=1))
    assert (report.actions_planned, report.incidents_resolved) == (2, 1)
    assert [key for key, _, _ in actions(services)][-2:] == [
        "fietsen:1001:address:1-release",
        "fietsen:1001:address:1-fixed-note",
    ]
    assert incidents(services) == [("address", "resolved", 1, "address corrected in the shop")]


def test_per_shop_overrides_apply(build: Callable[..., Services]) -> None:
    services = build()
    overridden = build(
        shops=[
            {
                **services.settings.shops[0].model_dump(),
                "policies": {"address": {"hold_fulfillment": False}},
            },
            services.settings.shops[1].model_dump(),
        ]
    )
    put(overridden, order("1001", shipping_address=BAD), order("2001", shop_id="theewinkel", shipping_address=BAD))
    tick.run_tick(overridden, NOW)
    kinds = {(key.split(":")[0], kind) for key, kind, _ in actions(overridden)}
    assert ("fietsen", "hold_fulfillment") not in kinds
    assert ("theewinkel", "hold_fulfillment") in kinds


def test_the_apology_naming_a_voucher_waits_for_that_voucher(services: Services) -> None:
    late = order("3003", at=ams(2026, 11, 23, 12, 0), shipping_method="Morgen in huis")
    put(services, late)
    tick.run_tick(services, NOW)
    with services.sessions() as session:
        rows = {
            kind: (after, even_if_failed)
            for kind, after, even_if_failed in session.execute(
                select(ActionRow.kind, ActionRow.after_key, ActionRow.after_even_if_failed)
            )
        }
    # the apology goes also when the shop refuses the voucher; the message then names no code
    assert rows["notify_customer"] == ("fietsen:3003:next_day:1-voucher", True)
    assert rows["create_voucher"] == (None, False)
    assert rows["add_tags"] == (None, False)
