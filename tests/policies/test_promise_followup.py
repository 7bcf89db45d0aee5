"""The promise follow-up policy: a date we gave is met, or the customer hears from us before it passes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from connector.actions import ActionKind
from connector.model import Order, OrderStatus, Payment, ShipmentStatus
from connector.notify.render import Renderer
from connector.policies.base import Decision, EndPromise, PolicyContext
from connector.policies.promise_followup import POLICY
from connector.promises.rules import DELIVERED, DELIVERY_BY, HEAR_FROM_US_BY, SHIPPED, PromiseView

from .support import ams, context, customer, order, payload, planned, shipment

THURSDAY = ams(2026, 11, 26).date()
MADE = ams(2026, 11, 24, 11, 0)  # Tuesday: the message that gave the date


def promise(kind: str = DELIVERY_BY, awaits: str = DELIVERED, promised: date = THURSDAY, **changes: Any) -> PromiseView:
    base: dict[str, Any] = {"id": 7, "policy": "stale", "template": "stale_update", **changes}
    return PromiseView(kind, promised, MADE, awaits, **base)


def ctx_with(*promises: PromiseView, **policies: Any) -> PolicyContext:
    return replace(context(policies or None), promises=promises)


def on_its_way(**changes: Any) -> Order:
    return order(status=OrderStatus.SHIPPED, shipments=(shipment(ams(2026, 11, 25, 15, 0), **changes),))


def decide(the_order: Order, now: datetime, ctx: PolicyContext) -> Decision:
    return POLICY.decide(the_order, {}, now, ctx)


def test_a_parcel_on_its_way_is_followed_up_at_six_on_the_promised_day_and_not_a_second_before() -> None:
    ctx = ctx_with(promise())
    before = decide(on_its_way(), ams(2026, 11, 26, 17, 59, 59), ctx)
    assert before.empty
    assert before.next_check == ams(2026, 11, 26, 18, 0)
    at = decide(on_its_way(), ams(2026, 11, 26, 18, 0), ctx)
    assert planned(at) == [
        ("add_note", "7-note", None), ("notify_customer", "7-notify", None), ("create_call_task", "7-call", None),
    ]  # fmt: skip
    email = payload(at, ActionKind.NOTIFY_CUSTOMER)
    assert email["template"] == "promise_followup"
    assert email["context"]["promised_date"] == "2026-11-26"
    assert email["context"]["new_delivery_date"] is None
    assert email["context"]["hear_from_us_by"] == "2026-11-27"  # the next working day
    assert email["context"]["shipped"] is True
    note = payload(at, ActionKind.ADD_NOTE)["text"]
    assert note == (
        "26 nov 2026 18:00 ordercare: beloofd aan de klant: bezorging uiterlijk 26 nov 2026; onderweg, nog niet "
        "bezorgd. Vervolgbericht: nog geen datum, nieuw bericht uiterlijk 27 nov 2026. Klant is op de hoogte "
        "gebracht. Belafspraak aangemaakt."
    )


def test_the_follow_up_says_exactly_this() -> None:
    at = decide(on_its_way(), ams(2026, 11, 26, 18, 0), ctx_with(promise()))
    email = payload(at, ActionKind.NOTIFY_CUSTOMER)
    message = Renderer().render(email["template"], email["locale"], email["context"])
    assert message.subject == "Bestelling #1001 is nog niet bezorgd"
    assert message.text == (
        "Hoi Sanne,\n\n"
        "We hadden je gezegd dat je bestelling #1001 (2× Fietsbel) uiterlijk donderdag 26 november zou aankomen. "
        "Het pakket is onderweg met PostNL, maar nog niet bezorgd. Een betrouwbare nieuwe datum kunnen we je nog "
        "niet geven. Uiterlijk vrijdag 27 november hoor je van ons.\n"
        "Je kunt het hier volgen: https://postnl.nl/tracktrace/3SABCD123\n\n"
        "Het spijt ons dat we ons niet aan die datum hebben kunnen houden. Wil je liever niet wachten en je geld "
        "terug? Beantwoord deze e-mail, dan lossen we het op.\n\n"
        "Hartelijke groet,\nFietsenwinkel\n"
    )


def test_delivered_in_time_ends_the_promise_as_met_and_sends_nothing() -> None:
    delivered = on_its_way(status=ShipmentStatus.DELIVERED, delivered_at=ams(2026, 11, 26, 14, 0))
    decision = decide(replace(delivered, status=OrderStatus.DELIVERED), ams(2026, 11, 26, 18, 0), ctx_with(promise()))
    assert decision.promises == [EndPromise(7, "met", ams(2026, 11, 26, 14, 0))]
    assert decision.actions == []


def test_delivered_the_day_after_without_a_follow_up_is_missed() -> None:
    delivered = on_its_way(status=ShipmentStatus.DELIVERED, delivered_at=ams(2026, 11, 27, 0, 10))
    decision = decide(replace(delivered, status=OrderStatus.DELIVERED), ams(2026, 11, 27, 0, 15), ctx_with(promise()))
    assert decision.promises == [EndPromise(7, "missed", ams(2026, 11, 27, 0, 10))]
    assert decision.actions == []


def test_an_order_not_shipped_by_the_last_dispatch_deadline_is_followed_up_then() -> None:
    unshipped = order()
    ctx = ctx_with(promise())
    before = decide(unshipped, ams(2026, 11, 25, 20, 59), ctx)
    assert before.empty
    assert before.next_check == ams(2026, 11, 25, 21, 0)  # Wednesday's dispatch deadline
    at = decide(unshipped, ams(2026, 11, 25, 21, 0), ctx)
    email = payload(at, ActionKind.NOTIFY_CUSTOMER)
    # it goes at 08:00 on Thursday (quiet hours): we write again by Friday, not "by Thursday" on Thursday
    assert email["context"]["hear_from_us_by"] == "2026-11-27"
    assert email["context"]["shipped"] is False
    message = Renderer().render(email["template"], "en", email["context"])
    assert message.subject == "Order #1001 will arrive later than we told you"
    assert message.text.splitlines()[2] == (
        "We told you your order #1001 (2× Fietsbel) would arrive by Thursday 26 November. It has not left our "
        "warehouse yet, so it will not arrive on that day. We cannot give you a reliable new date yet. You will "
        "hear from us by Friday 27 November at the latest."
    )


def test_a_carrier_day_after_the_promise_is_followed_up_at_once_with_that_day_and_no_call_task() -> None:
    late = on_its_way(estimated_delivery_at=ams(2026, 11, 28, 12, 0))
    decision = decide(late, ams(2026, 11, 25, 16, 0), ctx_with(promise()))
    assert planned(decision) == [("add_note", "7-note", None), ("notify_customer", "7-notify", None)]
    email = payload(decision, ActionKind.NOTIFY_CUSTOMER)
    assert email["context"]["new_delivery_date"] == "2026-11-28"
    assert email["context"]["hear_from_us_by"] is None


def test_a_word_by_a_day_is_kept_at_noon_that_day() -> None:
    word = promise(HEAR_FROM_US_BY, SHIPPED)
    ctx = ctx_with(word)
    assert decide(order(), ams(2026, 11, 26, 11, 59), ctx).next_check == ams(2026, 11, 26, 12, 0)
    email = payload(decide(order(), ams(2026, 11, 26, 12, 0), ctx), ActionKind.NOTIFY_CUSTOMER)
    message = Renderer().render(email["template"], "en", email["context"])
    assert message.subject == "News about order #1001, as promised"
    assert message.text.splitlines()[2].startswith(
        "We promised to let you know by Thursday 26 November how your order #1001 (2× Fietsbel) is doing, so "
        "here is where it stands. It has not left our warehouse yet. We cannot give you"
    )


def test_shipping_meets_a_word_given_before_it_shipped() -> None:
    decision = decide(on_its_way(), ams(2026, 11, 26, 12, 0), ctx_with(promise(HEAR_FROM_US_BY, SHIPPED)))
    assert decision.promises == [EndPromise(7, "met", ams(2026, 11, 25, 15, 0))]
    assert decision.actions == []


def test_a_follow_up_of_our_own_follow_up_asks_staff_to_call_no_second_time() -> None:
    ours = promise(HEAR_FROM_US_BY, DELIVERED, policy="promise_followup")
    decision = decide(on_its_way(), ams(2026, 11, 26, 12, 0), ctx_with(ours))
    assert [kind for kind, _, _ in planned(decision)] == ["add_note", "notify_customer"]


def test_call_task_never_and_always() -> None:
    never = decide(on_its_way(), ams(2026, 11, 26, 18, 0), ctx_with(promise(), promise_followup={"call_task": "never"}))
    assert [kind for kind, _, _ in planned(never)] == ["add_note", "notify_customer"]
    late = on_its_way(estimated_delivery_at=ams(2026, 11, 28, 12, 0))
    always = decide(late, ams(2026, 11, 25, 16, 0), ctx_with(promise(), promise_followup={"call_task": "always"}))
    assert [kind for kind, _, _ in planned(always)] == ["add_note", "notify_customer", "create_call_task"]


def test_nothing_for_an_order_awaiting_payment_or_a_customer_without_an_email() -> None:
    now = ams(2026, 11, 26, 18, 0)
    unpaid = replace(on_its_way(), payment=Payment.AWAITING)
    assert decide(unpaid, now, ctx_with(promise())).empty
    no_email = replace(on_its_way(), customer=customer(email=None))
    assert decide(no_email, now, ctx_with(promise())).empty


def test_a_cancelled_order_ends_its_promise_and_gets_no_follow_up() -> None:
    cancelled = order(status=OrderStatus.CANCELLED, cancelled_at=ams(2026, 11, 25, 9, 0))
    decision = decide(cancelled, ams(2026, 11, 26, 18, 0), ctx_with(promise()))
    assert decision.promises == [EndPromise(7, "cancelled", ams(2026, 11, 25, 9, 0))]
    assert decision.actions == []
