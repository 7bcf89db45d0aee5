"""Shipment-delay ladder and review requests on either side of every threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from connector.actions import ActionKind
from connector.model import OrderLine, OrderStatus, Payment, Promise, ShipmentEvent, ShipmentStatus
from connector.policies.base import Escalate, Open, Resolve
from connector.policies.config import ReviewConfig
from connector.policies.review import POLICY as REVIEW
from connector.policies.shipment_delay import POLICY as DELAY

from .support import ams, context, customer, incident, order, payload, planned, shipment

SECOND = timedelta(seconds=1)


def in_transit(**changes: object) -> object:
    """Shipped Wednesday 25 Nov, carrier expects Thursday 26 Nov, last scan Wednesday 10:00."""
    parcel = shipment(
        ams(2026, 11, 25, 10, 0), scans=(ams(2026, 11, 25, 10, 0),), estimated_delivery_at=ams(2026, 11, 26, 12, 0)
    )
    base: dict[str, object] = {"status": OrderStatus.SHIPPED, "shipments": (parcel,)}
    base.update(changes)
    return order(at=ams(2026, 11, 24, 10, 0), **base)  # type: ignore[arg-type]


def test_not_late_yet_plans_nothing_and_looks_again_at_step_one() -> None:
    decision = DELAY.decide(in_transit(), {}, ams(2026, 11, 27, 9, 0) - SECOND, context())  # type: ignore[arg-type]
    assert decision.empty
    assert decision.next_check == ams(2026, 11, 27, 9, 0)


def test_step_one_one_working_day_late_notifies() -> None:
    decision = DELAY.decide(in_transit(), {}, ams(2026, 11, 27, 9, 0), context())  # type: ignore[arg-type]
    assert decision.incidents == [Open("shipment_delay", 1, {"reason": "late", "level": 1})]
    assert planned(decision) == [
        ("add_tags", "1-level-1-tag", "shipment_delay"),
        ("add_note", "1-level-1-note", "shipment_delay"),
        ("notify_customer", "1-level-1-notify", "shipment_delay"),
    ]
    assert payload(decision, ActionKind.ADD_TAGS) == {"tags": ["ordercare:late-1"]}
    email = payload(decision, ActionKind.NOTIFY_CUSTOMER)
    assert email["template"] == "delay_notice"
    assert email["context"]["level"] == 1
    assert email["context"]["reason"] == "late"
    assert email["context"]["carrier"] == "PostNL"
    assert email["context"]["tracking_url"] == "https://postnl.nl/tracktrace/3SABCD123"
    # the carrier's estimate has passed: the last scan (Wednesday, in transit) plus one working day from today
    assert email["context"]["new_delivery_date"] == "2026-11-30"
    assert email["context"]["hear_from_us_by"] is None
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "27 nov 2026 09:00 ordercare: pakket is later dan beloofd (verwacht 26 nov 2026); stap 1 van de "
        "vertragingsladder. Klant is op de hoogte gebracht."
    )
    assert decision.vouchers == []
    assert decision.next_check == ams(2026, 11, 30, 9, 0)


def test_step_two_adds_a_voucher_and_step_three_a_call_task() -> None:
    level_one = {"shipment_delay": incident("shipment_delay", level=1)}
    assert DELAY.decide(in_transit(), level_one, ams(2026, 11, 30, 9, 0) - SECOND, context()).empty  # type: ignore[arg-type]
    two = DELAY.decide(in_transit(), level_one, ams(2026, 11, 30, 9, 0), context())  # type: ignore[arg-type]
    assert two.incidents == [Escalate("shipment_delay", 2, {"reason": "late", "level": 2})]
    assert [s for _, s, _ in planned(two)] == ["1-level-2-tag", "1-level-2-note", "1-level-2-notify"]
    (voucher,) = two.vouchers
    assert (voucher.step, voucher.notify_step, voucher.note_step) == (
        "1-level-2-voucher",
        "1-level-2-notify",
        "1-level-2-note",
    )
    level_two = {"shipment_delay": incident("shipment_delay", level=2)}
    three = DELAY.decide(in_transit(), level_two, ams(2026, 12, 1, 9, 0), context())  # type: ignore[arg-type]
    assert [k for k, _, _ in planned(three)] == ["add_tags", "add_note", "create_call_task"]
    assert payload(three, ActionKind.ADD_TAGS) == {"tags": ["ordercare:late-3"]}
    assert three.next_check is None
    level_three = {"shipment_delay": incident("shipment_delay", level=3)}
    assert DELAY.decide(in_transit(), level_three, ams(2026, 12, 9), context()).empty  # type: ignore[arg-type]


def test_a_parcel_shipped_before_payment_is_a_staff_matter_at_every_step() -> None:
    # shipped on invoice, money not in yet: the ladder runs for staff, the customer gets no delay e-mail or voucher
    unpaid = in_transit(payment=Payment.AWAITING, paid_at=None)
    one = DELAY.decide(unpaid, {}, ams(2026, 11, 27, 9, 0), context())  # type: ignore[arg-type]
    assert one.incidents == [Open("shipment_delay", 1, {"reason": "late", "level": 1})]
    assert planned(one) == [
        ("add_tags", "1-level-1-tag", "shipment_delay"),
        ("add_note", "1-level-1-note", "shipment_delay"),
    ]
    assert "Klant is op de hoogte gebracht" not in payload(one, ActionKind.ADD_NOTE)["text"]
    level_one = {"shipment_delay": incident("shipment_delay", level=1)}
    two = DELAY.decide(unpaid, level_one, ams(2026, 11, 30, 9, 0), context())  # type: ignore[arg-type]
    assert [k for k, _, _ in planned(two)] == ["add_tags", "add_note"]
    assert two.vouchers == []


def test_a_late_tick_takes_only_the_highest_due_step_and_still_tells_the_customer_first() -> None:
    decision = DELAY.decide(in_transit(), {}, ams(2026, 12, 1, 9, 0), context())  # type: ignore[arg-type]
    assert decision.incidents == [Open("shipment_delay", 3, {"reason": "late", "level": 3})]
    # a delay found late: the customer's first news is a message, the call task comes on top, not instead
    assert [s for _, s, _ in planned(decision)] == [
        "1-level-3-tag",
        "1-level-3-note",
        "1-level-3-notify",
        "1-level-3-call",
    ]
    email = payload(decision, ActionKind.NOTIFY_CUSTOMER)
    assert (email["template"], email["context"]["level"]) == ("delay_notice", 3)
    assert "Klant is op de hoogte gebracht" in payload(decision, ActionKind.ADD_NOTE)["text"]
    assert decision.vouchers == []  # the step's own voucher rule is unchanged (step 3 has none)


def test_an_escalation_after_the_customer_was_told_adds_no_extra_message() -> None:
    level_two = {"shipment_delay": incident("shipment_delay", level=2)}
    three = DELAY.decide(in_transit(), level_two, ams(2026, 12, 1, 9, 0), context())  # type: ignore[arg-type]
    assert [k for k, _, _ in planned(three)] == ["add_tags", "add_note", "create_call_task"]


def test_delivery_resolves_and_cancelled_resolves() -> None:
    parcel = shipment(ams(2026, 11, 25, 10, 0), delivered_at=ams(2026, 11, 30, 11, 0), status=ShipmentStatus.DELIVERED)
    delivered = order(status=OrderStatus.SHIPPED, shipments=(parcel,))
    open_one = {"shipment_delay": incident("shipment_delay", level=1)}
    assert DELAY.decide(delivered, open_one, ams(2026, 12, 1), context()).incidents == [
        Resolve("shipment_delay", "delivered")
    ]
    assert DELAY.decide(delivered, {}, ams(2026, 12, 1), context()).empty
    cancelled = in_transit(status=OrderStatus.CANCELLED)
    assert DELAY.decide(cancelled, open_one, ams(2026, 12, 1), context()).incidents == [  # type: ignore[arg-type]
        Resolve("shipment_delay", "cancelled")
    ]


def test_no_scan_for_two_working_days() -> None:
    parcel = shipment(ams(2026, 11, 24, 12, 0), scans=(ams(2026, 11, 24, 12, 0),))
    quiet = order(status=OrderStatus.SHIPPED, shipments=(parcel,))
    before = DELAY.decide(quiet, {}, ams(2026, 11, 26, 12, 0) - SECOND, context())
    assert before.empty
    assert before.next_check == ams(2026, 11, 26, 12, 0)
    at = DELAY.decide(quiet, {}, ams(2026, 11, 26, 12, 0), context())
    assert at.incidents == [Open("shipment_delay", 1, {"reason": "no_scan", "level": 1})]
    assert payload(at, ActionKind.NOTIFY_CUSTOMER)["context"]["reason"] == "no_scan"
    assert at.next_check == ams(2026, 11, 27, 12, 0)  # step two one working day after the silence began


def test_carrier_failure_is_step_one_at_once() -> None:
    # a failed delivery attempt waits for the next working day (tests/policies/test_delay_evidence.py)
    failed = ShipmentEvent("e9", ShipmentStatus.DELAYED, ams(2026, 11, 25, 14, 0))
    parcel = shipment(ams(2026, 11, 25, 8, 0), events=(failed,), updated_at=ams(2026, 11, 25, 8, 0))
    trouble = order(status=OrderStatus.SHIPPED, shipments=(parcel,))
    decision = DELAY.decide(trouble, {}, ams(2026, 11, 25, 14, 0), context(locale="en"))
    assert decision.incidents == [Open("shipment_delay", 1, {"reason": "carrier_failure", "level": 1})]
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "25 Nov 2026 14:00 ordercare: parcel has a carrier problem (delayed); delay ladder step 1. "
        "Customer informed."
    )
    assert decision.next_check == ams(2026, 11, 26, 14, 0)


def test_the_promise_beats_the_carrier_estimate_and_unshipped_orders_are_not_delayed() -> None:
    promised = in_transit(promise=Promise(deliver_on=ams(2026, 11, 25).date()))
    assert DELAY.decide(promised, {}, ams(2026, 11, 26, 9, 0), context()).incidents[0].details["reason"] == "late"  # type: ignore[arg-type,union-attr]
    assert DELAY.decide(order(), {}, ams(2026, 12, 20), context()).empty


# --- review ---------------------------------------------------------------------------------------


def delivered(**changes: object) -> object:
    parcel = shipment(ams(2026, 11, 20, 10, 0), status=ShipmentStatus.DELIVERED, delivered_at=ams(2026, 11, 23, 10, 0))
    base: dict[str, object] = {
        "status": OrderStatus.DELIVERED,
        "shipments": (parcel,),
        "customer": customer(accepts_marketing=True),  # consent recorded
    }
    base.update(changes)
    return order(at=ams(2026, 11, 19, 10, 0), **base)  # type: ignore[arg-type]


def test_review_either_side_of_three_days() -> None:
    before = REVIEW.decide(delivered(), {}, ams(2026, 11, 26, 10, 0) - SECOND, context())  # type: ignore[arg-type]
    assert before.empty
    assert before.next_check == ams(2026, 11, 26, 10, 0)
    at = REVIEW.decide(delivered(), {}, ams(2026, 11, 26, 10, 0), context())  # type: ignore[arg-type]
    assert planned(at) == [("notify_customer", "request", None)]
    email = payload(at, ActionKind.NOTIFY_CUSTOMER)
    assert email["template"] == "review_request"
    assert email["marketing"] is True
    assert email["context"]["consent_basis"] == "required"
    assert at.next_check is None


def test_review_respects_consent_incidents_lateness_and_age() -> None:
    now = ams(2026, 11, 27)
    assert REVIEW.decide(delivered(customer=customer(accepts_marketing=False)), {}, now, context()).empty  # type: ignore[arg-type]
    unknown = delivered(customer=customer(accepts_marketing=None))
    assert REVIEW.decide(unknown, {}, now, context()).empty  # type: ignore[arg-type]  # unknown is no
    soft_opt_in = context({"review": {"consent": "existing_customer"}})
    asked = REVIEW.decide(unknown, {}, now, soft_opt_in)  # type: ignore[arg-type]
    assert payload(asked, ActionKind.NOTIFY_CUSTOMER)["context"]["consent_basis"] == "existing_customer"
    assert REVIEW.decide(delivered(customer=customer(accepts_marketing=False)), {}, now, soft_opt_in).empty  # type: ignore[arg-type]
    assert REVIEW.decide(delivered(customer=customer(email=None)), {}, now, context()).empty  # type: ignore[arg-type]
    resolved = {"stale": incident("stale", state="resolved")}
    assert REVIEW.decide(delivered(), resolved, now, context()).empty  # type: ignore[arg-type]
    assert not REVIEW.decide(delivered(), resolved, now, context({"review": {"only_if_no_incident": False}})).empty  # type: ignore[arg-type]
    late = delivered(promise=Promise(deliver_on=ams(2026, 11, 22).date()))
    assert REVIEW.decide(late, {}, now, context()).empty  # type: ignore[arg-type]
    assert REVIEW.decide(delivered(), {}, ams(2026, 12, 23, 10, 0) - SECOND, context()).actions  # type: ignore[arg-type]
    assert REVIEW.decide(delivered(), {}, ams(2026, 12, 23, 10, 0), context()).empty  # type: ignore[arg-type]
    assert REVIEW.decide(order(status=OrderStatus.SHIPPED), {}, now, context()).empty


def test_late_counts_from_the_newer_date_we_already_gave_the_customer() -> None:
    told = {"next_day": incident("next_day", state="resolved", new_delivery_date="2026-11-27")}
    at_step_one = ams(2026, 11, 27, 9, 0)
    decision = DELAY.decide(in_transit(), told, at_step_one, context())  # type: ignore[arg-type]
    assert decision.empty  # not late against Friday 27 yet
    assert decision.next_check == ams(2026, 11, 27, 10, 0)  # when the missing scan would count
    older = {"next_day": incident("next_day", state="resolved", new_delivery_date="2026-11-25")}
    decision = DELAY.decide(in_transit(), older, at_step_one, context())  # type: ignore[arg-type]
    assert decision.incidents == [Open("shipment_delay", 1, {"reason": "late", "level": 1})]


def test_a_review_link_fills_in_the_order_and_without_one_there_is_no_button() -> None:
    now = ams(2026, 11, 27)
    without = REVIEW.decide(delivered(), {}, now, context())  # type: ignore[arg-type]
    assert payload(without, ActionKind.NOTIFY_CUSTOMER)["context"]["review_url"] is None
    link = "https://www.kiyoh.com/invite?shop=fietsen&order={order_number}&id={order_id}&p={product_id}"
    parcel = delivered(lines=(OrderLine("l1", "Fietsbel", 1, product_id="gid://shopify/Product/9"),))
    linked = REVIEW.decide(parcel, {}, now, context({"review": {"link": link}}))  # type: ignore[arg-type]
    assert payload(linked, ActionKind.NOTIFY_CUSTOMER)["context"]["review_url"] == (
        "https://www.kiyoh.com/invite?shop=fietsen&order=1001&id=1001&p=gid%3A%2F%2Fshopify%2FProduct%2F9"
    )


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        ("http://www.kiyoh.com/x", "expected an https URL"),
        ("https://www.trustpilot.com/review/shop?o={product_url}", "unknown placeholder {product_url}"),
        ("kiyoh.com/{order_number}", "expected an https URL"),
    ],
)
def test_a_review_link_the_shop_cannot_use_is_refused_with_its_problem(link: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        ReviewConfig(link=link)
    assert problem in str(info.value)
