"""Stale and next-day decisions on either side of each threshold, with holidays and another time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connector.actions import ActionKind
from connector.model import Hold, Order, OrderStatus, Promise
from connector.policies.base import Escalate, Open, Resolve
from connector.policies.next_day import POLICY as NEXT_DAY
from connector.policies.stale import POLICY as STALE

from .support import ams, context, customer, incident, order, payload, planned

SECOND = timedelta(seconds=1)

# --- stale ----------------------------------------------------------------------------------------


def test_unshipped_one_second_before_two_working_days_plans_nothing() -> None:
    paid = order(at=ams(2026, 11, 24, 10, 0))  # Tuesday
    decision = STALE.decide(paid, {}, ams(2026, 11, 26, 10, 0) - SECOND, context())
    assert decision.empty
    assert decision.next_check == ams(2026, 11, 26, 10, 0)


def test_unshipped_at_two_working_days_tags_notes_and_tells_the_customer() -> None:
    paid = order(at=ams(2026, 11, 24, 10, 0))
    now = ams(2026, 11, 26, 10, 0)
    decision = STALE.decide(paid, {}, now, context())
    assert planned(decision) == [
        ("add_tags", "1-tag", "stale"),
        ("add_note", "1-note", "stale"),
        ("notify_customer", "1-notify", "stale"),
    ]
    assert decision.incidents == [
        Open(
            "stale",
            1,
            {
                "reason": "unshipped",
                "since": paid.paid_at.isoformat(),  # type: ignore[union-attr]
                "told_customer": True,
                "new_delivery_date": "2026-11-27",
            },
        )
    ]
    assert payload(decision, ActionKind.ADD_TAGS) == {"tags": ["ordercare:stale"]}
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "26 nov 2026 10:00 ordercare: betaald op 24 nov 2026 en nog niet verzonden. Klant is op de hoogte gebracht."
    )
    context_ = payload(decision, ActionKind.NOTIFY_CUSTOMER)["context"]
    assert payload(decision, ActionKind.NOTIFY_CUSTOMER)["template"] == "stale_update"
    assert context_["reason"] == "unshipped"
    assert context_["new_delivery_date"] == "2026-11-27"  # leaves today before the cut-off, arrives Friday
    assert context_["hear_from_us_by"] is None
    assert decision.next_check == ams(2026, 11, 30, 10, 0)  # call task after 4 working days


def test_call_task_either_side_of_four_working_days() -> None:
    paid = order(at=ams(2026, 11, 24, 10, 0))
    open_one = {"stale": incident("stale", reason="unshipped")}
    before = STALE.decide(paid, open_one, ams(2026, 11, 30, 10, 0) - SECOND, context())
    assert before.empty
    assert before.next_check == ams(2026, 11, 30, 10, 0)
    at = STALE.decide(paid, open_one, ams(2026, 11, 30, 10, 0), context())
    assert planned(at) == [("create_call_task", "1-call", "stale"), ("add_note", "1-call-note", "stale")]
    assert at.incidents == [Escalate("stale", 2, {"call_task": True})]
    assert payload(at, ActionKind.CREATE_CALL_TASK) == {
        "reason": "order stuck (unshipped): call the customer",
        "due_at": "2026-11-30T10:00:00+01:00",
    }
    assert at.next_check is None
    done = STALE.decide(paid, {"stale": incident("stale", level=2, reason="unshipped")}, ams(2026, 12, 9), context())
    assert done.empty
    assert done.next_check is None


def test_christmas_does_not_count_as_working_days() -> None:
    paid = order(at=ams(2026, 12, 24, 10, 0))  # Thursday; 25 and 26 December are holidays
    assert STALE.decide(paid, {}, ams(2026, 12, 29, 10, 0) - SECOND, context()).empty
    assert not STALE.decide(paid, {}, ams(2026, 12, 29, 10, 0), context()).empty


def test_thresholds_run_in_the_shop_time_zone() -> None:
    ny = ZoneInfo("America/New_York")
    paid = order(at=datetime(2026, 11, 23, 10, 0, tzinfo=ny))  # Monday in New York
    ctx = context(timezone="America/New_York", country="US")
    assert STALE.decide(paid, {}, datetime(2026, 11, 25, 10, 0, tzinfo=ny) - SECOND, ctx).empty
    assert not STALE.decide(paid, {}, datetime(2026, 11, 25, 10, 0, tzinfo=ny), ctx).empty
    # Thanksgiving (26 Nov) does not count: 4 working days end on Monday 30 Nov
    opened = STALE.decide(paid, {}, datetime(2026, 11, 25, 10, 0, tzinfo=ny), ctx)
    assert opened.next_check == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_on_hold_tells_the_customer_when_they_will_hear_from_us() -> None:
    held = order(at=ams(2026, 11, 24, 10, 0), status=OrderStatus.ON_HOLD)
    decision = STALE.decide(held, {}, ams(2026, 11, 26, 10, 0), context())
    email = payload(decision, ActionKind.NOTIFY_CUSTOMER)
    assert email["context"]["reason"] == "on_hold"
    assert email["context"]["new_delivery_date"] is None
    assert email["context"]["hear_from_us_by"] == "2026-11-27"


def test_our_own_hold_and_an_open_address_incident_are_not_stale() -> None:
    ours = order(status=OrderStatus.ON_HOLD, holds=(Hold("h1", handle="ordercare"),))
    assert STALE.decide(ours, {}, ams(2026, 12, 10), context()).empty
    waiting = {"address": incident("address")}
    assert STALE.decide(order(), waiting, ams(2026, 12, 10), context()).empty


MERCHANT_HOLD = Hold("h-merchant", reason="awaiting stock", handle=None)
OWN_HOLD = Hold("h-ours", reason="address question", handle="ordercare")


def held(*holds: Hold) -> Order:
    return order(at=ams(2026, 11, 24, 10, 0), status=OrderStatus.ON_HOLD, holds=holds)  # Tuesday


def test_a_merchants_hold_goes_stale_either_side_of_the_threshold() -> None:
    """A hold the merchant placed (no handle, or another app's) is stuck like any other: 2 working days."""
    for merchants in (MERCHANT_HOLD, Hold("h-app", handle="some-other-app")):
        before = STALE.decide(held(merchants), {}, ams(2026, 11, 26, 10, 0) - SECOND, context())
        assert before.empty
        assert before.next_check == ams(2026, 11, 26, 10, 0)
        at = STALE.decide(held(merchants), {}, ams(2026, 11, 26, 10, 0), context())
        assert [s for _, s, _ in planned(at)] == ["1-tag", "1-note", "1-notify"]
        assert isinstance(at.incidents[0], Open)
        assert at.incidents[0].details["reason"] == "on_hold"


def test_our_own_hold_is_never_stale_and_schedules_no_check() -> None:
    for now in (ams(2026, 11, 26, 10, 0) - SECOND, ams(2026, 11, 26, 10, 0), ams(2026, 12, 31)):
        decision = STALE.decide(held(OWN_HOLD), {}, now, context())
        assert decision.empty
        assert decision.next_check is None


def test_our_hold_shields_a_merchants_hold_on_the_same_order() -> None:
    """Any active hold of ours: the order waits on us (e.g. the customer's address), not on the shop."""
    assert STALE.decide(held(MERCHANT_HOLD, OWN_HOLD), {}, ams(2026, 12, 31), context()).empty


def test_our_released_hold_no_longer_shields_the_merchants() -> None:
    released = Hold("h-ours", handle="ordercare", released=True)
    assert not STALE.decide(held(MERCHANT_HOLD, released), {}, ams(2026, 11, 26, 10, 0), context()).empty
    assert STALE.decide(held(MERCHANT_HOLD, released), {}, ams(2026, 11, 26, 10, 0) - SECOND, context()).empty


# --- the stale clock starts at payment ------------------------------------------------------------

CREATED = ams(2026, 11, 23, 10, 0)  # Monday
PAID_LATER = ams(2026, 11, 25, 10, 0)  # Wednesday: two working days after it was placed


def paid_later(created: datetime = CREATED, paid: datetime = PAID_LATER, **changes: Any) -> Order:
    """An order placed at ``created`` and paid (bank transfer, say) at ``paid``."""
    return order(at=created, paid_at=paid, updated_at=paid, **changes)


def test_unshipped_is_measured_from_payment_not_from_creation() -> None:
    late_payer = paid_later()
    # two working days after creation (Wednesday) and after: not stale, payment came only on Wednesday
    for now in (ams(2026, 11, 25, 10, 0), ams(2026, 11, 26, 10, 0), ams(2026, 11, 27, 10, 0) - SECOND):
        decision = STALE.decide(late_payer, {}, now, context())
        assert decision.empty
        assert decision.next_check == ams(2026, 11, 27, 10, 0)
    at = STALE.decide(late_payer, {}, ams(2026, 11, 27, 10, 0), context())
    assert [s for _, s, _ in planned(at)] == ["1-tag", "1-note", "1-notify"]
    (opened,) = at.incidents
    assert isinstance(opened, Open)
    assert (opened.details["reason"], opened.details["since"]) == ("unshipped", PAID_LATER.isoformat())
    assert payload(at, ActionKind.ADD_NOTE)["text"].startswith("27 nov 2026 10:00 ordercare: betaald op 25 nov 2026 ")
    assert at.next_check == ams(2026, 12, 1, 10, 0)  # the call task, too, counts from payment: 4 working days


def test_on_hold_is_measured_from_payment_too() -> None:
    late_payer = paid_later(status=OrderStatus.ON_HOLD, holds=(MERCHANT_HOLD,))
    assert STALE.decide(late_payer, {}, ams(2026, 11, 27, 10, 0) - SECOND, context()).empty
    assert not STALE.decide(late_payer, {}, ams(2026, 11, 27, 10, 0), context()).empty


def test_a_payment_recorded_before_creation_counts_from_creation() -> None:
    """Imported orders can carry a payment time before their creation: the warehouse starts at creation."""
    imported = paid_later(created=ams(2026, 11, 24, 10, 0), paid=ams(2026, 11, 20, 10, 0))
    assert STALE.decide(imported, {}, ams(2026, 11, 26, 10, 0) - SECOND, context()).empty
    assert not STALE.decide(imported, {}, ams(2026, 11, 26, 10, 0), context()).empty


def test_pending_payment_uses_its_own_threshold() -> None:
    unpaid = order(at=ams(2026, 11, 24, 10, 0), status=OrderStatus.PLACED, paid_at=None)
    assert STALE.decide(unpaid, {}, ams(2026, 11, 25, 10, 0) - SECOND, context()).empty
    assert payload(STALE.decide(unpaid, {}, ams(2026, 11, 25, 10, 0), context()), ActionKind.NOTIFY_CUSTOMER)[
        "context"
    ]["reason"] == ("pending")


def test_no_email_and_notify_switched_off_still_tag_and_note() -> None:
    paid = order(at=ams(2026, 11, 24, 10, 0), customer=customer(email=None))
    assert [k for k, _, _ in planned(STALE.decide(paid, {}, ams(2026, 11, 27), context()))] == ["add_tags", "add_note"]
    quiet = context({"stale": {"notify_customer": False}})
    assert [k for k, _, _ in planned(STALE.decide(order(), {}, ams(2026, 11, 27), quiet))] == ["add_tags", "add_note"]


def test_shipping_resolves_and_a_changed_reason_starts_a_new_occurrence() -> None:
    shipped = order(status=OrderStatus.SHIPPED)
    assert STALE.decide(shipped, {"stale": incident("stale")}, ams(2026, 12, 1), context()).incidents == [
        Resolve("stale", "shipped")
    ]
    paid = order(at=ams(2026, 11, 24, 10, 0))
    was_pending = {"stale": incident("stale", reason="pending")}
    decision = STALE.decide(paid, was_pending, ams(2026, 11, 26, 10, 0), context())
    assert decision.incidents[0] == Resolve("stale", "no longer pending")
    assert isinstance(decision.incidents[1], Open)
    assert [s for _, s, _ in planned(decision)] == ["2-tag", "2-note", "2-notify"]


# --- next day -------------------------------------------------------------------------------------


def next_day_order(placed: datetime, **changes: Any) -> Order:
    return order(at=placed, shipping_method="Morgen in huis (PostNL)", **changes)


def test_next_day_before_the_dispatch_deadline_waits_for_it() -> None:
    placed = next_day_order(ams(2026, 11, 24, 17, 59, 59))
    decision = NEXT_DAY.decide(placed, {}, ams(2026, 11, 24, 21, 0) - SECOND, context())
    assert decision.empty
    assert decision.next_check == ams(2026, 11, 24, 21, 0)


def test_next_day_missed_apologises_with_a_new_date_and_asks_for_a_voucher() -> None:
    placed = next_day_order(ams(2026, 11, 24, 17, 59, 59))
    decision = NEXT_DAY.decide(placed, {}, ams(2026, 11, 24, 21, 0), context())
    assert planned(decision) == [
        ("add_tags", "1-tag", "next_day"),
        ("add_note", "1-note", "next_day"),
        ("notify_customer", "1-notify", "next_day"),
    ]
    assert payload(decision, ActionKind.ADD_TAGS) == {"tags": ["ordercare:next-day"]}
    email = payload(decision, ActionKind.NOTIFY_CUSTOMER)
    assert email["template"] == "next_day_missed"
    assert email["context"]["new_delivery_date"] == "2026-11-26"
    (voucher,) = decision.vouchers
    assert (voucher.policy, voucher.step, voucher.incident, voucher.notify_step, voucher.note_step) == (
        "next_day",
        "1-voucher",
        "next_day",
        "1-notify",
        "1-note",
    )
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "24 nov 2026 21:00 ordercare: 'Morgen in huis (PostNL)' beloofd voor 25 nov 2026, niet verzonden voor "
        "24 nov 2026 21:00. Nieuwe bezorgdatum 26 nov 2026. Klant is op de hoogte gebracht."
    )


def test_placed_at_the_cutoff_has_until_the_next_evening() -> None:
    placed = next_day_order(ams(2026, 11, 24, 18, 0, 0))
    decision = NEXT_DAY.decide(placed, {}, ams(2026, 11, 24, 21, 0), context())
    assert decision.empty
    assert decision.next_check == ams(2026, 11, 25, 21, 0)


def test_friday_after_cutoff_is_due_monday_evening() -> None:
    placed = next_day_order(ams(2026, 11, 27, 18, 30))
    assert NEXT_DAY.decide(placed, {}, ams(2026, 11, 27, 22, 0), context()).next_check == ams(2026, 11, 30, 21, 0)


def test_other_methods_unpaid_shipped_and_repeat_plan_nothing() -> None:
    late = ams(2026, 11, 26, 12, 0)
    assert NEXT_DAY.decide(order(at=ams(2026, 11, 24, 12, 0)), {}, late, context()).empty
    unpaid = next_day_order(ams(2026, 11, 24, 12, 0), status=OrderStatus.PLACED, paid_at=None)
    assert NEXT_DAY.decide(unpaid, {}, late, context()).empty
    shipped = next_day_order(ams(2026, 11, 24, 12, 0), status=OrderStatus.SHIPPED)
    assert NEXT_DAY.decide(shipped, {}, late, context()).empty
    again = next_day_order(ams(2026, 11, 24, 12, 0))
    assert NEXT_DAY.decide(again, {"next_day": incident("next_day")}, late, context()).empty
    assert NEXT_DAY.decide(shipped, {"next_day": incident("next_day")}, late, context()).incidents == [
        Resolve("next_day", "shipped")
    ]


def test_the_platforms_own_promise_wins() -> None:
    promised = next_day_order(
        ams(2026, 11, 24, 12, 0),
        promise=Promise(dispatch_by=ams(2026, 11, 25, 12, 0), deliver_on=ams(2026, 11, 26).date()),
    )
    assert NEXT_DAY.decide(promised, {}, ams(2026, 11, 25, 12, 0) - SECOND, context()).next_check == ams(
        2026, 11, 25, 12, 0
    )
    assert not NEXT_DAY.decide(promised, {}, ams(2026, 11, 25, 12, 0), context()).empty


def test_method_patterns_and_voucher_switch_come_from_config() -> None:
    placed = order(at=ams(2026, 11, 24, 12, 0), shipping_method="Express levering")
    ctx = context({"next_day": {"methods": ["express*"], "voucher": False, "cutoff": "11:00", "dispatch_by": "20:00"}})
    decision = NEXT_DAY.decide(placed, {}, ams(2026, 11, 25, 20, 0), ctx)
    assert not decision.empty
    assert decision.vouchers == []
    assert NEXT_DAY.decide(placed, {}, ams(2026, 11, 25, 20, 0) - SECOND, ctx).empty
