"""Words for people: incident kinds, reasons, steps, timeline entries and actions as phrases staff read.

Every function is pure and returns a ``Phrase``: an English message (the catalogs' source text, marked with
``N_`` for extraction) and its fields. The dashboard translates and fills it in the viewer's language
(``render``); the raw values (kinds, codes, topics, keys) stay for the "technical details" disclosure.
Address problems reuse the staff notes' own wording (``connector.policies.notes``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Union

from babel.dates import format_date, format_datetime

from connector.model import Order, Shipment
from connector.policies.notes import problem_text


def N_(message: str) -> str:
    """Marks an English message for the catalogs; it is translated when shown."""
    return message


@dataclass(frozen=True)
class Problems:
    """Address problem codes, written in the notes' words for the locale."""

    codes: tuple[str, ...]


Field = Union[str, int, date, datetime, "Phrase", Problems]


@dataclass(frozen=True)
class Phrase:
    message: str  # English with ``%(name)s`` fields, or shown as is when ``literal``
    fields: tuple[tuple[str, Field], ...] = ()
    literal: bool = False  # free text (a platform's message, a note typed by staff): never translated


def phrase(message: str, **fields: Field) -> Phrase:
    return Phrase(message, tuple(sorted(fields.items())))


def literal(text: str) -> Phrase:
    return Phrase(text, literal=True)


DAY = "EEE d MMM"  # di 24 nov / Tue 24 Nov
MOMENT = "EEE d MMM HH:mm"  # di 24 nov 14:00 / Tue 24 Nov 14:00


def render(words: Phrase, translate: Callable[[str], str], locale: str, zone: tzinfo) -> str:
    """The phrase in ``locale``: translated, its dates in ``zone``, nested phrases rendered the same way."""
    if words.literal:
        return words.message
    text = translate(words.message)
    if not words.fields:
        return text
    return text % {name: _value(value, translate, locale, zone) for name, value in words.fields}


def _value(value: Field, translate: Callable[[str], str], locale: str, zone: tzinfo) -> str:
    if isinstance(value, Phrase):
        return render(value, translate, locale, zone)
    if isinstance(value, Problems):
        return problem_text(locale, list(value.codes))
    if isinstance(value, datetime):
        return format_datetime(value, MOMENT, tzinfo=zone, locale=locale)
    if isinstance(value, date):
        return format_date(value, DAY, locale=locale)
    return str(value)


def _pick(table: Mapping[str, str], value: str | None, fallback: str) -> Phrase:
    found = table.get(value or "")
    return phrase(found) if found is not None else phrase(fallback)


# --- incidents -----------------------------------------------------------------------------------

KINDS: Mapping[str, str] = {
    "address": N_("Address incomplete"),
    "stale": N_("Order not shipped in time"),
    "next_day": N_("Next-day delivery missed"),
    "shipment_delay": N_("Parcel delayed"),
    "parcel_unseen": N_("ordercare cannot see this parcel"),
    "out_of_stock": N_("Item out of stock"),
    "order_problem": N_("Problem with the order"),
    # what the customer reported on the report page (``connector.reports``)
    "report_wrong_item": N_("Customer received the wrong item"),
    "report_damaged": N_("Customer received a damaged item"),
    "report_item_missing": N_("An item was missing from the parcel"),
    "report_not_received": N_("Customer did not receive the parcel"),
    "report_other": N_("Customer reported a problem"),
}

REPORT_CAUSES: Mapping[str, str] = {
    "wrong_item": N_("wrong item"),
    "damaged": N_("damaged"),
    "item_missing": N_("item missing"),
    "not_received": N_("parcel not received"),
    "other": N_("other"),
}

REPLACEMENT_STATES: Mapping[str, str] = {
    "proposed": N_("Waiting for your confirmation"),
    "pending": N_("Confirmed: being created in the shop"),
    "done": N_("Created in the shop"),
    "failed": N_("The shop refused it"),
    "cancelled": N_("Not sent"),
    "observed": N_("Observed only (observe mode)"),
}


def report_cause(value: str) -> Phrase:
    return _pick(REPORT_CAUSES, value, N_("other"))


def replacement_state(value: str) -> Phrase:
    return _pick(REPLACEMENT_STATES, value, N_("Unknown state"))

STATES: Mapping[str, str] = {
    "open": N_("Open"),
    "escalated": N_("Escalated"),
    "resolved": N_("Resolved"),
    "unresolved": N_("Not resolved"),
}

# why an order is stuck (stale incidents): short, and as the start of a sentence with the date
STUCK: Mapping[str, str] = {
    "unshipped": N_("not shipped"),
    "not_ready": N_("not ready for pickup"),
    "on_hold": N_("on hold"),
    "pending": N_("waiting for payment"),
}
STUCK_SINCE: Mapping[str, str] = {
    "unshipped": N_("Paid on %(since)s and not shipped yet"),
    "not_ready": N_("Paid on %(since)s and not ready for pickup yet"),
    "on_hold": N_("On hold since %(since)s"),
    "pending": N_("Waiting for payment since %(since)s"),
}

# why a parcel is late (shipment_delay incidents)
DELAYS: Mapping[str, str] = {
    "late": N_("later than expected"),
    "no_scan": N_("no carrier scan"),
    "carrier_failure": N_("a problem at the carrier"),
}


def kind(value: str) -> Phrase:
    return _pick(KINDS, value, N_("Other problem"))


def state(value: str) -> Phrase:
    return _pick(STATES, value, N_("Unknown state"))


def level(incident_kind: str, value: int) -> Phrase | None:
    """The escalation step, e.g. "step 2 of the delay ladder"; None before the first step."""
    if value < 1:
        return None
    if incident_kind == "shipment_delay":
        return phrase(N_("step %(level)s of the delay ladder"), level=value)
    return phrase(N_("step %(level)s"), level=value)


def _iso(value: Any) -> datetime | date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None or "T" in value else parsed.date()


def _trouble_shipment(order: Order | None) -> Shipment | None:
    shipments = [s for s in order.shipments if s.delivered_at is None and not s.cancelled] if order else []
    return shipments[0] if shipments else None


def reason(incident_kind: str, details: Mapping[str, Any], order: Order | None = None) -> Phrase:
    """What is wrong, in a sentence: "Address incomplete: house number missing", "Parcel not scanned since ..."."""
    if incident_kind == "address":
        codes = tuple(str(c) for c in details.get("problems") or ())
        return phrase(N_("Address incomplete: %(problems)s"), problems=Problems(codes)) if codes else kind("address")
    if incident_kind == "stale":
        why = str(details.get("reason") or "")
        since = _iso(details.get("since"))
        if why in STUCK_SINCE and since is not None:
            return phrase(STUCK_SINCE[why], since=since.date() if isinstance(since, datetime) else since)
        return kind("stale")
    if incident_kind == "next_day":
        promised = _iso(details.get("promised"))
        if promised is not None:
            return phrase(N_("Next-day delivery promised for %(promised)s, not shipped in time"), promised=promised)
        return kind("next_day")
    if incident_kind == "shipment_delay":
        return _delay(str(details.get("reason") or ""), _trouble_shipment(order))
    return kind(incident_kind)


def _delay(why: str, shipment: Shipment | None) -> Phrase:
    if why == "no_scan":
        since = shipment.last_scan_at if shipment else None
        if since is not None:
            return phrase(N_("Parcel not scanned since %(since)s"), since=since)
        return phrase(N_("Parcel not scanned for a while"))
    if why == "late":
        expected = shipment.expected_delivery_at if shipment else None
        if expected is not None:
            return phrase(N_("Parcel later than expected (%(expected)s)"), expected=expected)
        return phrase(N_("Parcel later than expected"))
    if why == "carrier_failure":
        if shipment is not None:
            return phrase(
                N_("The carrier reports a problem: %(status)s"), status=parcel_status(shipment.current_status)
            )
        return phrase(N_("The carrier reports a problem"))
    return kind("shipment_delay")


RESOLUTIONS: Mapping[str, str] = {
    "address corrected by customer": N_("The customer corrected the address"),
    "address corrected in the shop": N_("The address was corrected in the shop"),
    "no shipping needed": N_("Nothing to ship"),
    "shipped": N_("The order was shipped"),
    "delivered": N_("The parcel was delivered"),
    "cancelled": N_("The order was cancelled"),
    "refunded": N_("The order was refunded"),
    "failed": N_("The order failed"),
    "returned to sender": N_("The parcel went back to the sender"),
    "parcel visible": N_("The parcel can be tracked now"),
}
_NOT_DELIVERED = re.compile(r"^no (?:address needed|parcel) \((?P<method>\w+)\)$")


def resolution(text: str | None) -> Phrase | None:
    """How an incident ended, from the reason the policy recorded; text we do not know is shown as it is."""
    if not text:
        return None
    key = text.removeprefix("order ")
    if key in RESOLUTIONS:
        return phrase(RESOLUTIONS[key])
    if text.startswith("no longer ") and text.removeprefix("no longer ") in STUCK:
        return phrase(N_("No longer %(reason)s"), reason=phrase(STUCK[text.removeprefix("no longer ")]))
    if _NOT_DELIVERED.match(text):
        return phrase(N_("Nothing to deliver: collected or sold in the shop"))
    return literal(text)


# --- orders and parcels --------------------------------------------------------------------------

ORDER_STATUSES: Mapping[str, str] = {
    "placed": N_("placed"),
    "paid": N_("paid"),
    "on_hold": N_("on hold"),
    "processing": N_("being prepared"),
    "partially_shipped": N_("partly shipped"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "cancelled": N_("cancelled"),
    "refunded": N_("refunded"),
    "failed": N_("failed"),
}

PARCEL_STATUSES: Mapping[str, str] = {
    "pending": N_("label created"),
    "carrier_picked_up": N_("picked up by the carrier"),
    "in_transit": N_("on its way"),
    "out_for_delivery": N_("out for delivery"),
    "ready_for_pickup": N_("ready for pickup"),
    "attempted_delivery": N_("delivery attempted"),
    "delayed": N_("delayed"),
    "delivered": N_("delivered"),
    "failure": N_("delivery failed"),
    "returned": N_("on its way back to the shop"),
    "cancelled": N_("cancelled"),
    "unknown": N_("status unknown"),
}


def order_status(value: str) -> Phrase:
    return _pick(ORDER_STATUSES, str(value), N_("status unknown"))


def parcel_status(value: str) -> Phrase:
    return _pick(PARCEL_STATUSES, str(value), N_("status unknown"))


def scan(carrier: str | None, status: str) -> Phrase:
    if carrier:
        return phrase(N_("%(carrier)s: %(status)s"), carrier=carrier, status=parcel_status(status))
    return phrase(N_("Carrier: %(status)s"), status=parcel_status(status))


# --- what we saw: webhook topics of both platforms ----------------------------------------------

TOPICS: Mapping[str, str] = {
    "orders/create": N_("Order placed"),
    "order.created": N_("Order placed"),
    "orders/updated": N_("Order changed"),
    "order.updated": N_("Order changed"),
    "orders/edited": N_("Order edited"),
    "orders/paid": N_("Order paid"),
    "orders/fulfilled": N_("Order shipped"),
    "orders/partially_fulfilled": N_("Order partly shipped"),
    "orders/cancelled": N_("Order cancelled"),
    "orders/delete": N_("Order deleted in the shop"),
    "order.deleted": N_("Order deleted in the shop"),
    "order.restored": N_("Order restored in the shop"),
    "fulfillments/create": N_("Parcel shipped"),
    "fulfillments/update": N_("Parcel updated"),
    "fulfillment_events/create": N_("Carrier scan"),
    "fulfillment_orders/placed_on_hold": N_("Shipment put on hold in the shop"),
    "fulfillment_orders/hold_released": N_("Hold released in the shop"),
}

OUTCOMES: Mapping[str, str] = {
    "stale": N_("older than what we had; not used"),
    "duplicate": N_("received before"),
    "pending": N_("waits for its order"),
}


def topic(value: str) -> Phrase:
    return _pick(TOPICS, value, N_("Message from the shop"))


def event_outcome(value: str) -> Phrase | None:
    found = OUTCOMES.get(value)
    return phrase(found) if found else None


# --- what we did: actions ------------------------------------------------------------------------

DONE: Mapping[str, str] = {
    "add_tags": N_("We tagged the order"),
    "add_note": N_("We wrote a note on the order"),
    "set_attributes": N_("We recorded our status on the order"),
    "notify_customer": N_("We e-mailed the customer"),
    "create_voucher": N_("We made a voucher"),
    "hold_fulfillment": N_("We held the shipment"),
    "release_hold": N_("We released our hold on the shipment"),
    "update_address": N_("We corrected the address in the shop"),
    "create_call_task": N_("We made a call task"),
    "create_fulfillment_event": N_("We posted the carrier status on the Shopify order"),
    "edit_order_lines": N_("We changed the items of the order in the shop"),
}

ACTIONS: Mapping[str, str] = {
    "add_tags": N_("tag the order"),
    "add_note": N_("write a note on the order"),
    "set_attributes": N_("record our status on the order"),
    "notify_customer": N_("e-mail the customer"),
    "create_voucher": N_("make a voucher"),
    "hold_fulfillment": N_("hold the shipment"),
    "release_hold": N_("release our hold on the shipment"),
    "update_address": N_("correct the address in the shop"),
    "create_call_task": N_("make a call task"),
    "create_fulfillment_event": N_("post the carrier status on the Shopify order"),
    "edit_order_lines": N_("change the items of the order in the shop"),
}

ACTION_STATES: Mapping[str, str] = {
    "pending": N_("waiting"),
    "running": N_("in progress"),
    "done": N_("done"),
    "failed": N_("failed"),
    "cancelled": N_("not done"),
    "observed": N_("only observed (observe mode)"),
}


ATTEMPT_OUTCOMES: Mapping[str, str] = {
    "done": N_("done"),
    "already_done": N_("was already done"),
    "observed": N_("only observed (observe mode)"),
    "retry": N_("did not work, tried again later"),
    "failed": N_("failed"),
}


def attempt_outcome(value: str | None) -> Phrase:
    return _pick(ATTEMPT_OUTCOMES, value, N_("unfinished"))


def action(value: str) -> Phrase:
    """What the action does, to go in a sentence: "e-mail the customer"."""
    return _pick(ACTIONS, value, N_("an action"))


def action_state(value: str) -> Phrase:
    return _pick(ACTION_STATES, value, N_("unknown"))


def action_entry(value: str, action_state_value: str) -> Phrase:
    """The timeline line for an action: "We held the shipment", or "Not yet: e-mail the customer (failed)"."""
    if action_state_value == "done" and value in DONE:
        return phrase(DONE[value])
    return phrase(N_("%(action)s: %(state)s"), action=action(value), state=action_state(action_state_value))


VOUCHER_STATES: Mapping[str, str] = {
    "issued": N_("issued"),
    "refused": N_("not issued"),
    "observed": N_("only observed (observe mode)"),
}


def voucher_state(value: str) -> Phrase:
    return _pick(VOUCHER_STATES, value, N_("unknown"))


# --- staff work ----------------------------------------------------------------------------------

CONTACTS: Mapping[str, str] = {
    "where_is_my_order": N_("Where is my order?"),
    "address_change": N_("Address change"),
    "complaint": N_("Complaint"),
    "other": N_("Other"),
}


def contact(value: str) -> Phrase:
    return _pick(CONTACTS, value, N_("Other"))


# what came of a call: the choices on a call task (none is preselected)
CALL_OUTCOMES: Mapping[str, str] = {
    "happy": N_("called, customer happy"),
    "no_answer": N_("no answer"),
    "voicemail": N_("left a voicemail"),
    "other": N_("something else (say what in the notes)"),
}

PROMISES: Mapping[str, str] = {
    "delivery_by": N_("We promised delivery by %(day)s"),
    "hear_from_us_by": N_("We promised to write again by %(day)s"),
}


def call_outcome(value: str) -> Phrase:
    return _pick(CALL_OUTCOMES, value, N_("something else (say what in the notes)"))


def promise(promise_kind: str, day: date) -> Phrase:
    """A date we gave the customer that is still open."""
    return phrase(PROMISES.get(promise_kind, N_("We promised delivery by %(day)s")), day=day)


_CALL_STALE = re.compile(r"^order stuck \((?P<why>\w+)\): call the customer$")
_CALL_DELAY = re.compile(r"^parcel delayed \((?P<why>\w+)\), step (?P<level>\d+): call the customer$")
_CALL_PROMISE = re.compile(
    r"^promised .+ (?P<day>\d{4}-\d{2}-\d{2}) not kept and no new date known: call the customer$"
)


def call_reason(text: str) -> Phrase:
    """Why to call, from the reason the policy wrote on the task; a reason typed by a person is shown as it is."""
    found = _CALL_STALE.match(text)
    if found and found["why"] in STUCK:
        return phrase(N_("The order is stuck (%(why)s)"), why=phrase(STUCK[found["why"]]))
    found = _CALL_DELAY.match(text)
    if found and found["why"] in DELAYS:
        return phrase(
            N_("The parcel is delayed (%(why)s), step %(level)s"),
            why=phrase(DELAYS[found["why"]]),
            level=found["level"],
        )
    found = _CALL_PROMISE.match(text)
    if found:
        return phrase(
            N_("We promised %(day)s, did not make it and have no new date"), day=date.fromisoformat(found["day"])
        )
    return literal(text)


# --- the Shops page: a shop's webhooks --------------------------------------------------------------

WEBHOOK_STATUSES: Mapping[str, str] = {
    "active": N_("active"),
    "paused": N_("paused"),
    "disabled": N_("disabled"),
}

# why ordercare replaced a webhook
WEBHOOK_REPLACED_WHY: Mapping[str, str] = {
    "signature": N_("deliveries failed the signature check"),
    "disabled": N_("WooCommerce disabled it again after a re-enable"),
}

# a webhook ordercare leaves as it is, and says why
WEBHOOK_REPORTED: Mapping[str, str] = {
    "still_signature": N_("Still fails the signature check after ordercare replaced it. ordercare leaves it as it is."),
    "still_disabled": N_("Disabled again after ordercare replaced and re-enabled it. ordercare leaves it as it is."),
    "not_ours_signature": N_(
        "Its deliveries fail the signature check: its secret is not the shop's configured webhook_secret. "
        "ordercare does not change webhooks it did not make."
    ),
    "not_ours_disabled": N_("Disabled again after a re-enable. ordercare does not change webhooks it did not make."),
}

# what ordercare did to a webhook
WEBHOOK_ACTIONS: Mapping[str, str] = {
    "created": N_("created"),
    "adopted": N_("adopted (the shop made it, the answer to the create was lost)"),
    "reenabled": N_("re-enabled"),
    "replaced": N_("replaced"),
    "removed": N_("removed (a second one of ours)"),
    "reported": N_("reported, left as it is"),
}


def _known(table: Mapping[str, str], value: str | None) -> Phrase:
    """A known code in words; an unknown one shown as it is (it is the platform's or a newer ordercare's)."""
    found = table.get(value or "")
    return phrase(found) if found is not None else literal(value or "")


def webhook_status(value: str) -> Phrase:
    return _known(WEBHOOK_STATUSES, value)


def webhook_action(value: str) -> Phrase:
    return _known(WEBHOOK_ACTIONS, value)


def webhook_why(value: str | None) -> Phrase:
    """Why a webhook was replaced or left alone, from either table."""
    return _known({**WEBHOOK_REPLACED_WHY, **WEBHOOK_REPORTED}, value)


def webhook_replaced(old: str, at: datetime, reason: str | None) -> Phrase:
    return phrase(N_("Replaced webhook %(old)s on %(at)s: %(why)s."), old=literal(old), at=at, why=webhook_why(reason))

# --- call tasks: what came of a call, and taking it back (``connector.admin.calls``) ------------------

# the outcomes a caller chooses from, in the order the form shows them (none is preselected)
CALL_TASK_OUTCOMES: Mapping[str, str] = {
    "new_date": N_("new date agreed"),
    "cancels": N_("customer cancels"),
    "no_answer": N_("no answer"),
    "voicemail": N_("left a voicemail"),
    "happy": N_("called, customer happy"),
    "other": N_("something else (say what in the notes)"),
}

# what an outcome did, as recorded on the task (the incident's timeline shows it)
CALL_TASK_RECORDED: Mapping[str, str] = {
    "new_date": N_("new delivery date agreed: %(day)s"),
    "cancels": N_("the customer cancels the order"),
    "no_answer": N_("no answer; call again %(when)s"),
    "voicemail": N_("left a voicemail; call again %(when)s"),
}

CALL_MESSAGES: Mapping[str, str] = {
    # the form, field by field
    "no_outcome": N_("outcome: choose what came of the call; nothing was recorded"),
    "unknown_outcome": N_("outcome: choose one of %(choices)s"),
    "no_text": N_("outcome_text: say what came of the call"),
    "long_text": N_("outcome_text: at most %(count)s characters"),
    "no_day": N_("agreed_on: give the delivery date agreed with the customer; nothing was recorded"),
    "bad_day": N_("agreed_on: %(value)s is not a date; use YYYY-MM-DD"),
    "past_day": N_("agreed_on: %(day)s has passed; give today or a later day"),
    "no_retry": N_("retry_at: say when to call again; nothing was recorded"),
    "bad_retry": N_("retry_at: %(value)s is not a time; use YYYY-MM-DD HH:MM"),
    "past_retry": N_("retry_at: %(when)s has passed; give a later time"),
    # the task
    "task_done": N_("This call task is already done; nothing was changed."),
    "no_order": N_("This call task has no order any more; record what came of the call in the notes instead."),
    "nothing_to_undo": N_("There is nothing to undo on this call task."),
    "too_late": N_(
        "Too late to undo: an outcome can be undone for %(minutes)s minutes, this one until %(until)s. "
        "Nothing was changed."
    ),
    # what happened
    "closed": N_("Call task %(id)s is done: %(outcome)s."),
    "still_open": N_("Call task %(id)s stays open: %(outcome)s."),
    "promised": N_("%(day)s is recorded as our promise to the customer on this order."),
    "no_confirmation": N_(
        "No e-mail goes to the customer: this shop does not confirm a date agreed by phone "
        "(policies.calls.confirm_agreed_date)."
    ),
    "confirmation_planned": N_(
        "The customer gets an e-mail confirming %(day)s once this can no longer be undone (%(until)s)."
    ),
    "confirmation_observed": N_("Observe mode: the e-mail confirming the date is recorded, not sent."),
    "confirmation_unpaid": N_(
        "No e-mail goes to the customer: the order awaits payment, so ordercare confirms no date to them."
    ),
    "confirmation_no_email": N_("No e-mail goes to the customer: the order has no e-mail address."),
    "confirmation_taken_back": N_("The e-mail confirming the date is taken back: it had not been sent."),
    "confirmation_sent": N_("The e-mail confirming the date was already sent to the customer."),
    "note_planned": N_("A note for the shop's staff to cancel the order will be written on it."),
    "undo_until": N_("You can undo this until %(until)s."),
    "undone": N_("Call task %(id)s is back as it was before “%(outcome)s”."),
    "promise_taken_back": N_("The promised date is taken back."),
    "note_taken_back": N_("The note on the order is taken back: it had not been written yet."),
    "note_written": N_("The note was already written on the order; remove it in the shop if it is wrong."),
    "note_writing": N_(
        "The note is being written on the order right now and can no longer be taken back; "
        "remove it in the shop if it is wrong."
    ),
}


def call_task_outcome(value: str) -> Phrase:
    """An outcome to choose on a call task."""
    return _pick(CALL_TASK_OUTCOMES, value, N_("something else (say what in the notes)"))


def call_task_recorded(value: str, **fields: Field) -> Phrase:
    """What an outcome did, to record on the task: "no answer; call again Tue 24 Nov 14:00"."""
    found = CALL_TASK_RECORDED.get(value)
    return phrase(found, **fields) if found is not None else call_task_outcome(value)


def call_message(key: str, **fields: Field) -> Phrase:
    """A message about recording or undoing a call's outcome (``CALL_MESSAGES``)."""
    return phrase(CALL_MESSAGES[key], **fields)
