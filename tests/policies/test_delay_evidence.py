"""Nothing is late without evidence: pickup points, parcels going back, failed attempts, new dates, unseen parcels.

Each rule on either side of its threshold, with the exact actions, including "nothing was sent".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from connector.actions import ActionKind
from connector.carriers.config import CarriersSettings, DhlSettings, PostnlSettings, SendcloudSettings
from connector.model import Order, OrderStatus, Promise, Shipment, ShipmentEvent, ShipmentStatus
from connector.policies.base import Decision, Open, PolicyContext, Resolve
from connector.policies.shipment_delay import POLICY as DELAY
from connector.policies.visibility import sources_for, visible

from .support import ams, context, incident, order, payload, planned, shipment

SECOND = timedelta(seconds=1)
SHIPPED = ams(2026, 11, 25, 10, 0)  # Wednesday


def event(status: ShipmentStatus, at: datetime, key: str = "", **changes: Any) -> ShipmentEvent:
    return ShipmentEvent(key or f"{status.value}-{at:%d%H%M}", status, at, **changes)


def parcel(*events: ShipmentEvent, **changes: Any) -> Shipment:
    """Shipped Wednesday 10:00 and scanned in transit then; the carrier expected it Thursday."""
    scans = (event(ShipmentStatus.IN_TRANSIT, SHIPPED, "e0"), *events)
    base: dict[str, Any] = {"events": scans, "estimated_delivery_at": ams(2026, 11, 26, 12, 0)}
    base.update(changes)
    return shipment(SHIPPED, **base)


def shipped(*parcels: Shipment, **changes: Any) -> Order:
    return order(at=ams(2026, 11, 24, 10, 0), status=OrderStatus.SHIPPED, shipments=parcels, **changes)


def decide(an_order: Order, now: datetime, incidents: dict[str, Any] | None = None, **ctx: Any) -> Decision:
    return DELAY.decide(an_order, incidents or {}, now, with_carriers(**ctx))


def with_carriers(carriers: CarriersSettings | None = None, **changes: Any) -> PolicyContext:
    return replace(context(**changes), carriers=carriers)


def kinds(decision: Decision) -> list[str]:
    return [s.action.kind.value for s in decision.actions]


# --- a) waiting at a pickup point counts as arrived ------------------------------------------------------


def test_a_parcel_waiting_at_a_pickup_point_is_never_late() -> None:
    waiting = shipped(parcel(event(ShipmentStatus.READY_FOR_PICKUP, ams(2026, 11, 26, 11, 0))))
    for now in (ams(2026, 11, 27, 9, 0), ams(2026, 11, 30, 12, 0), ams(2026, 12, 9, 12, 0)):
        decision = decide(waiting, now)
        assert decision.empty, now  # nothing planned, nothing sent
        assert decision.next_check is None
    # the other side: the same parcel still in transit is late at step one's moment
    moving = shipped(parcel(event(ShipmentStatus.IN_TRANSIT, ams(2026, 11, 26, 11, 0))))
    assert decide(moving, ams(2026, 11, 27, 9, 0) - SECOND).empty
    late = decide(moving, ams(2026, 11, 27, 9, 0))
    assert late.incidents == [Open("shipment_delay", 1, {"reason": "late", "level": 1})]
    assert "notify_customer" in kinds(late)


def test_an_open_ladder_does_not_climb_while_the_parcel_waits_at_the_pickup_point() -> None:
    waiting = shipped(parcel(event(ShipmentStatus.READY_FOR_PICKUP, ams(2026, 11, 27, 11, 0))))
    level_one = {"shipment_delay": incident("shipment_delay", level=1)}
    assert decide(waiting, ams(2026, 12, 1, 9, 0), level_one).empty  # step three's moment: nothing


# --- b) back to the sender: the ladder ends with a call task -------------------------------------------


def test_a_returned_parcel_ends_the_ladder_with_one_call_task_and_no_message() -> None:
    back = shipped(parcel(event(ShipmentStatus.RETURNED, ams(2026, 11, 30, 10, 0))))
    level_one = {"shipment_delay": incident("shipment_delay", level=1)}
    decision = decide(back, ams(2026, 11, 30, 10, 5), level_one)
    assert decision.incidents == [Resolve("shipment_delay", "returned to sender")]
    assert planned(decision) == [
        ("add_tags", "returned-s1-tag", "shipment_delay"),
        ("add_note", "returned-s1-note", "shipment_delay"),
        ("create_call_task", "returned-s1-call", "shipment_delay"),
    ]
    assert payload(decision, ActionKind.ADD_TAGS) == {"tags": ["ordercare:returned"]}
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "30 nov 2026 10:05 ordercare: pakket 3SABCD123 is retour afzender; de vertragingsladder stopt. "
        "Klant is niet ingelicht. Belafspraak aangemaakt."
    )
    call = payload(decision, ActionKind.CREATE_CALL_TASK)
    assert call == {
        "reason": "parcel 3SABCD123 returned to sender: call the customer",
        "due_at": "2026-11-30T10:05:00+01:00",
    }
    assert decision.vouchers == []  # no message, no voucher
    # the next look plans the same steps (the same keys: the outbox keeps the first), never a new one
    again = decide(back, ams(2026, 12, 2, 10, 0), {"shipment_delay": incident("shipment_delay", state="resolved")})
    assert again.incidents == []
    assert [step for _, step, _ in planned(again)] == ["returned-s1-tag", "returned-s1-note", "returned-s1-call"]


def test_a_returned_parcel_without_a_ladder_gets_the_call_task_and_a_failure_still_climbs() -> None:
    back = shipped(parcel(event(ShipmentStatus.RETURNED, ams(2026, 11, 26, 10, 0))))
    decision = decide(back, ams(2026, 12, 9, 10, 0))  # long after every step would have been due
    assert decision.incidents == []
    assert kinds(decision) == ["add_tags", "add_note", "create_call_task"]
    # the other side: a carrier failure (not a return) is step one at once, with a message
    failed = shipped(parcel(event(ShipmentStatus.FAILURE, ams(2026, 11, 26, 10, 0))))
    climbs = decide(failed, ams(2026, 11, 26, 10, 0))
    assert climbs.incidents == [Open("shipment_delay", 1, {"reason": "carrier_failure", "level": 1})]
    assert "notify_customer" in kinds(climbs)


# --- c) a failed delivery attempt waits for the next working day -----------------------------------------


def attempted(at: datetime, *later: ShipmentEvent, **changes: Any) -> Order:
    return shipped(parcel(event(ShipmentStatus.ATTEMPTED_DELIVERY, at), *later, estimated_delivery_at=None), **changes)


def test_a_failed_attempt_escalates_only_after_the_end_of_the_next_working_day() -> None:
    at = ams(2026, 11, 25, 14, 0)  # Wednesday; the wait ends when Thursday does
    deadline = ams(2026, 11, 27, 0, 0)
    before = decide(attempted(at), deadline - SECOND)
    assert before.empty
    assert before.next_check == deadline
    due = decide(attempted(at), deadline, locale="en")
    assert due.incidents == [Open("shipment_delay", 1, {"reason": "carrier_failure", "level": 1})]
    assert kinds(due) == ["add_tags", "add_note", "notify_customer"]
    assert payload(due, ActionKind.ADD_NOTE)["text"].startswith(
        "27 Nov 2026 00:00 ordercare: parcel has a carrier problem (attempted_delivery); delay ladder step 1."
    )


def test_anything_after_the_attempt_stops_the_escalation() -> None:
    at = ams(2026, 11, 25, 14, 0)
    moved = attempted(at, event(ShipmentStatus.OUT_FOR_DELIVERY, ams(2026, 11, 26, 8, 0)))
    decision = decide(moved, ams(2026, 11, 27, 0, 0))
    assert decision.empty
    assert decision.next_check == ams(2026, 11, 30, 8, 0)  # only a stall from the new scan could start it


def test_the_wait_counts_dutch_working_days_and_is_configurable() -> None:
    at = ams(2026, 12, 24, 15, 0)  # Thursday; Christmas and Boxing Day, then Sunday: the next working day is Monday
    deadline = ams(2026, 12, 29, 0, 0)
    assert decide(attempted(at), deadline - SECOND).empty
    assert decide(attempted(at), deadline).incidents[0].kind == "shipment_delay"
    # no wait: the attempt counts at once, as any other carrier problem
    at_once = {"shipment_delay": {"attempt_wait_working_days": 0}}
    wed = ams(2026, 11, 25, 14, 0)
    assert decide(attempted(wed), ams(2026, 11, 26, 0, 0) - SECOND, policies=at_once).empty
    assert decide(attempted(wed), ams(2026, 11, 26, 0, 0), policies=at_once).incidents[0].kind == "shipment_delay"


def test_a_promise_passed_on_the_attempt_day_is_not_late_while_the_attempt_waits() -> None:
    at = ams(2026, 11, 25, 14, 0)
    promised = attempted(at, promise=Promise(deliver_on=ams(2026, 11, 25).date()))
    assert decide(promised, ams(2026, 11, 26, 12, 0)).empty  # late from Thursday 09:00 without the attempt
    assert decide(promised, ams(2026, 11, 27, 0, 0)).incidents[0].kind == "shipment_delay"


# --- d) the date we give -------------------------------------------------------------------------------------


def told(decision: Decision) -> tuple[str | None, str | None]:
    context = payload(decision, ActionKind.NOTIFY_CUSTOMER)["context"]
    return context["new_delivery_date"], context["hear_from_us_by"]


def test_the_carrier_estimate_comes_first() -> None:
    delayed = event(ShipmentStatus.DELAYED, ams(2026, 11, 26, 9, 0), estimated_delivery_at=ams(2026, 12, 2, 12, 0))
    decision = decide(shipped(parcel(delayed, estimated_delivery_at=None)), ams(2026, 11, 26, 9, 0))
    assert told(decision) == ("2026-12-02", None)


def test_then_a_promise_that_still_lies_ahead() -> None:
    quiet = shipped(
        shipment(ams(2026, 11, 24, 12, 0), scans=(ams(2026, 11, 24, 12, 0),)),
        promise=Promise(deliver_on=ams(2026, 11, 27).date()),
    )
    decision = decide(quiet, ams(2026, 11, 26, 12, 0))  # no scan for two working days; promised for Friday
    assert decision.incidents == [Open("shipment_delay", 1, {"reason": "no_scan", "level": 1})]
    assert told(decision) == ("2026-11-27", None)


def test_then_the_last_scan_plus_the_working_days_its_status_needs() -> None:
    now = ams(2026, 11, 27, 9, 0)  # Friday: one working day after the carrier's Thursday
    for status, expected in (
        (ShipmentStatus.IN_TRANSIT, "2026-11-30"),
        (ShipmentStatus.CARRIER_PICKED_UP, "2026-12-01"),
        (ShipmentStatus.OUT_FOR_DELIVERY, "2026-11-27"),
    ):
        decision = decide(shipped(parcel(event(status, ams(2026, 11, 26, 15, 0)))), now)
        assert told(decision) == (expected, None), status
    slower = {"shipment_delay": {"remaining_working_days": {"in_transit": 3}}}
    decision = decide(shipped(parcel(event(ShipmentStatus.IN_TRANSIT, ams(2026, 11, 26, 15, 0)))), now, policies=slower)
    assert told(decision) == ("2026-12-02", None)


def test_no_date_from_a_status_without_a_figure_or_a_stalled_scan() -> None:
    now = ams(2026, 11, 27, 9, 0)
    delayed = decide(shipped(parcel(event(ShipmentStatus.DELAYED, ams(2026, 11, 26, 15, 0)))), now)
    assert told(delayed) == (None, "2026-11-27")  # step one at once; step two's day is when they hear from us
    # scanned Wednesday 10:00: on Friday 10:00 it has stalled, and its status says nothing about when it comes
    stalled_now = ams(2026, 11, 27, 10, 0)
    stalled = decide(shipped(parcel(estimated_delivery_at=None)), stalled_now)
    assert stalled.incidents == [Open("shipment_delay", 1, {"reason": "no_scan", "level": 1})]
    assert told(stalled) == (None, "2026-11-30")
    # a second before the stall the same scan still dates the parcel (a "late" step against the estimate)
    fresh = decide(shipped(parcel()), stalled_now - SECOND)
    assert told(fresh) == ("2026-11-30", None)


# --- e) a parcel nobody can see ---------------------------------------------------------------------------


def unseen(**changes: Any) -> Order:
    """A WooCommerce-style parcel: a tracking number, no carrier status, no scan; shipped Tuesday 12:00."""
    base: dict[str, Any] = {"status": ShipmentStatus.UNKNOWN, "carrier": "PostNL"}
    base.update(changes)
    return shipped(shipment(ams(2026, 11, 24, 12, 0), **base), promise=Promise(deliver_on=ams(2026, 11, 26).date()))


STALL = ams(2026, 11, 26, 12, 0)  # two working days after the hand-over


def test_a_parcel_nobody_can_see_opens_one_staff_incident_and_tells_the_customer_nothing() -> None:
    before = decide(unseen(), STALL - SECOND)
    assert before.empty
    assert before.next_check == STALL
    decision = decide(unseen(), STALL)
    assert decision.incidents == [Open("parcel_unseen", 1, {"reason": "no_scan"})]
    assert planned(decision) == [
        ("add_tags", "1-unseen-tag", "parcel_unseen"),
        ("add_note", "1-unseen-note", "parcel_unseen"),
    ]
    assert payload(decision, ActionKind.ADD_TAGS) == {"tags": ["ordercare:unseen"]}
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "26 nov 2026 12:00 ordercare: ordercare kan dit pakket niet volgen (3SABCD123): geen scan van de "
        "vervoerder, geen status van het platform en geen volgbron ingesteld. Verzonden op 24 nov 2026. "
        "Klant is niet ingelicht."
    )
    assert decision.vouchers == []
    # once: later looks (every ladder step long due) plan nothing at all
    told_staff = {"parcel_unseen": incident("parcel_unseen")}
    for now in (ams(2026, 11, 27, 9, 0), ams(2026, 12, 9, 12, 0)):
        assert decide(unseen(), now, told_staff).empty


def test_a_late_promise_on_an_unseen_parcel_is_named_in_the_staff_note() -> None:
    # promised for Wednesday, late from Thursday 09:00: still staff only
    promised = shipped(
        shipment(ams(2026, 11, 24, 12, 0), status=ShipmentStatus.UNKNOWN, carrier="PostNL"),
        promise=Promise(deliver_on=ams(2026, 11, 25).date()),
    )
    decision = decide(promised, ams(2026, 11, 26, 9, 0), locale="en")
    assert decision.incidents == [Open("parcel_unseen", 1, {"reason": "late"})]
    assert "Expected on Nov 25, 2026. Customer not informed." in payload(decision, ActionKind.ADD_NOTE)["text"]
    assert "notify_customer" not in kinds(decision)


def test_a_label_is_not_a_scan() -> None:
    label = event(ShipmentStatus.PENDING, ams(2026, 11, 24, 12, 0), source="sendcloud", physical_scan=False)
    informed = unseen(events=(label,))
    assert not visible(informed, informed.shipments[0], None)
    assert decide(informed, STALL).incidents == [Open("parcel_unseen", 1, {"reason": "no_scan"})]


def test_where_a_source_can_read_the_parcel_the_ladder_runs_as_usual() -> None:
    postnl = CarriersSettings(postnl=PostnlSettings(api_key="k", customer_number="12345678"))
    decision = decide(unseen(), STALL, carriers=postnl)
    assert decision.incidents == [Open("shipment_delay", 1, {"reason": "no_scan", "level": 1})]
    assert "notify_customer" in kinds(decision)
    sendcloud = CarriersSettings(sendcloud=SendcloudSettings(public_key="p", secret_key="s"))
    assert decide(unseen(carrier="DPD"), STALL, carriers=sendcloud).incidents[0].kind == "shipment_delay"


def test_a_source_for_another_carrier_or_without_a_number_does_not_count() -> None:
    dhl = CarriersSettings(dhl=DhlSettings(api_key="k"))
    assert decide(unseen(), STALL, carriers=dhl).incidents == [Open("parcel_unseen", 1, {"reason": "no_scan"})]
    assert sources_for(unseen(carrier="DHL"), unseen(carrier="DHL").shipments[0], dhl) == ("dhl",)
    postnl = CarriersSettings(postnl=PostnlSettings(api_key="k", customer_number="12345678"))
    numberless = unseen(tracking_number=None)
    assert sources_for(numberless, numberless.shipments[0], postnl) == ()
    assert decide(numberless, STALL, carriers=postnl).incidents[0].kind == "parcel_unseen"


def test_a_status_from_the_platform_is_evidence() -> None:
    # Shopify's shipment_status from a carrier it tracks, or a TrackShip status in WooCommerce
    tracked = unseen(status=ShipmentStatus.IN_TRANSIT)
    assert decide(tracked, STALL).incidents == [Open("shipment_delay", 1, {"reason": "no_scan", "level": 1})]


def test_the_unseen_incident_resolves_when_the_parcel_can_be_seen_or_arrives() -> None:
    told_staff = {"parcel_unseen": incident("parcel_unseen")}
    scan = event(ShipmentStatus.IN_TRANSIT, ams(2026, 11, 26, 13, 0), source="postnl", physical_scan=True)
    seen = unseen(events=(scan,))
    decision = decide(seen, ams(2026, 11, 26, 13, 5), told_staff)
    assert decision.incidents == [Resolve("parcel_unseen", "parcel visible")]
    assert decision.actions == []
    delivered = unseen(status=ShipmentStatus.DELIVERED, delivered_at=ams(2026, 11, 27, 11, 0))
    assert decide(delivered, ams(2026, 11, 27, 12, 0), told_staff).incidents == [Resolve("parcel_unseen", "delivered")]
