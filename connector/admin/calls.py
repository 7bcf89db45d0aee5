"""Call tasks staff can act on: what the caller needs on the card, and what each outcome of a call does.

An outcome is always chosen, never assumed. "new date agreed" closes the task, records the day as our
promise on the order (``connector.promises.store``), plans a staff note saying so and, where the shop wants
it (``policies.calls.confirm_agreed_date``), an e-mail confirming the day to the customer that goes through
the outbox once the outcome can no longer be undone (never for an order awaiting payment); "customer cancels"
closes it and plans a staff note asking the shop to cancel the order; "no answer" keeps it open, due at the
time the caller gives; "voicemail" keeps it open, due at the start of the next working day (if the customer
does not call back, they are called again); "called, customer happy" and "something else" close it.
The task keeps what it was before each outcome, so the newest outcome can be undone for ``UNDO_MINUTES``:
the task comes back as it was, a note or confirmation not yet sent is cancelled and a promised date is taken
back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from connector import phones
from connector.actions import ActionKind, PlannedAction, idempotency_key
from connector.admin import wording
from connector.admin.queries import CallTaskItem, call_tasks_due, snapshot_of
from connector.admin.wording import Phrase
from connector.calendar import BusinessCalendar
from connector.model import Order
from connector.notify.render import normalise_locale
from connector.outbox.queue import cancel_followers, plan
from connector.policies.base import awaiting_payment
from connector.policies.notes import day as note_day
from connector.policies.notes import moment as note_moment
from connector.promises import rules
from connector.promises import store as promise_store
from connector.promises.rules import PromiseView
from connector.store.tables import ActionRow, CallTaskRow, OrderRow, PromiseRow, ShopRow

UNDO_MINUTES = 10
UNDO_WINDOW = timedelta(minutes=UNDO_MINUTES)
MAX_TEXT = 1000
POLICY = "call_task"  # the outbox policy of the notes an outcome plans, and of the promises it records
PROMISE_TEMPLATE = "phone_call"  # a promise agreed on the phone, not given in a message

NEW_DATE, CANCELS, NO_ANSWER, VOICEMAIL = "new_date", "cancels", "no_answer", "voicemail"
HAPPY, OTHER = "happy", "other"
OUTCOMES: tuple[str, ...] = tuple(wording.CALL_TASK_OUTCOMES)
NEEDS_ORDER = frozenset({NEW_DATE, CANCELS})  # they write on the order

# staff notes on the order, in the shop's language (like ``connector.policies.notes``)
NOTES: Mapping[str, Mapping[str, str]] = {
    "nl": {
        NEW_DATE: "nieuwe bezorgdatum {day} telefonisch afgesproken met de klant ({who}).",
        CANCELS: "de klant wil de bestelling annuleren (telefonisch, {who}). Annuleer de bestelling in de winkel.",
    },
    "en": {
        NEW_DATE: "new delivery date {day} agreed with the customer by phone ({who}).",
        CANCELS: "the customer wants to cancel the order (by phone, {who}). Cancel the order in the shop.",
    },
}


class Refused(Exception):
    """The outcome or undo is not allowed as asked; nothing was changed. ``words`` says why."""

    def __init__(self, words: Phrase) -> None:
        super().__init__(words.message)
        self.words = words


def _refuse(key: str, **fields: wording.Field) -> Refused:
    return Refused(wording.call_message(key, **fields))


# --- the phone number ----------------------------------------------------------------------------


def tel_href(phone: str, country: str | None) -> str | None:
    """``tel:+31612345678`` with ``country`` as the default region (``connector.phones``)."""
    return phones.tel_href(phone, country)


# --- the cards on today's page -------------------------------------------------------------------


@dataclass(frozen=True)
class CallCard:
    """One call task with what the caller needs: the task's facts, the number to dial, the open promises."""

    task: CallTaskItem
    phone: str | None  # as typed
    phone_href: str | None
    promises: tuple[PromiseView, ...]  # what we promised the customer and has not ended yet, oldest first


def cards(session: Session, shop_ids: Collection[str], until: datetime) -> list[CallCard]:
    """The open call tasks due before ``until`` (``queries.call_tasks_due``) with phone link and promises."""
    items = call_tasks_due(session, shop_ids, until)
    countries = dict(session.execute(select(ShopRow.id, ShopRow.country).where(ShopRow.id.in_(list(shop_ids)))).all())
    promised = promise_store.open_for_orders(session, [i.order_id for i in items if i.order_id is not None])
    found = []
    for item in items:
        address = item.snapshot.shipping_address if item.snapshot is not None else None
        phone = item.phone or (address.phone if address is not None and address.phone else None)
        country = (address.country_code if address is not None else None) or countries.get(item.shop_id)
        href = tel_href(phone, country) if phone else None
        found.append(CallCard(item, phone, href, promised.get(item.order_id or 0, ())))
    return found


@dataclass(frozen=True)
class RecentOutcome:
    """An outcome recorded in the last ``UNDO_MINUTES``: it can still be undone."""

    task_id: int
    shop_id: str
    order_id: int | None
    order_number: str | None
    outcome: str
    text: str | None  # as recorded on the task
    at: datetime
    by: str
    until: datetime


def recent(session: Session, shop_ids: Collection[str], now: datetime) -> list[RecentOutcome]:
    """The outcomes that can still be undone, newest first."""
    rows = session.execute(
        select(CallTaskRow, OrderRow.number)
        .outerjoin(OrderRow, OrderRow.id == CallTaskRow.order_id)
        .where(CallTaskRow.shop_id.in_(list(shop_ids)), CallTaskRow.outcome_at >= now - UNDO_WINDOW)
        .order_by(CallTaskRow.outcome_at.desc(), CallTaskRow.id.desc())
        .limit(50)
    ).all()
    found = []
    for task, number in rows:
        last = undoable(task.outcomes, now)
        if last is not None:
            at = _moment(last["at"])
            found.append(
                RecentOutcome(
                    task.id, task.shop_id, task.order_id, number, str(last["outcome"]), task.outcome, at,
                    str(last.get("by") or ""), at + UNDO_WINDOW,
                )
            )  # fmt: skip
    return found


def shop_of_task(session: Session, shop_ids: Collection[str], task_id: int) -> str | None:
    """The shop of a call task of the viewer's shops; None for a task they cannot see."""
    query = select(CallTaskRow.shop_id).where(CallTaskRow.id == task_id, CallTaskRow.shop_id.in_(list(shop_ids)))
    return session.scalar(query)


def task_for_update(session: Session, shop_ids: Collection[str], task_id: int) -> CallTaskRow | None:
    """One call task of the viewer's shops, locked until the transaction ends (PostgreSQL)."""
    query = select(CallTaskRow).where(CallTaskRow.id == task_id, CallTaskRow.shop_id.in_(list(shop_ids)))
    return session.scalars(query.with_for_update()).first()


# --- choosing an outcome (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    outcome: str
    notes: str = ""
    agreed_on: date | None = None  # new_date: the shop-local delivery day agreed
    retry_at: datetime | None = None  # no_answer: when to call again (aware)


def read_choice(form: Mapping[str, str], now: datetime, zone: tzinfo) -> Choice:
    """The outcome the caller chose, checked: raises ``Refused`` naming the field that is wrong.

    ``agreed_on`` (new date agreed) is a day, today or later in the shop's zone; ``retry_at`` (no answer) a
    shop-local time, this minute or later. Fields another outcome asks for are ignored.
    """
    outcome = (form.get("outcome") or "").strip()
    notes = (form.get("outcome_text") or "").strip()
    if not outcome:
        raise _refuse("no_outcome")
    if outcome not in OUTCOMES:
        raise _refuse("unknown_outcome", choices=", ".join(OUTCOMES))
    if len(notes) > MAX_TEXT:
        raise _refuse("long_text", count=MAX_TEXT)
    if outcome == OTHER and not notes:
        raise _refuse("no_text")
    if outcome == NEW_DATE:
        return Choice(outcome, notes, agreed_on=_agreed_on(form.get("agreed_on") or "", now, zone))
    if outcome == NO_ANSWER:
        return Choice(outcome, notes, retry_at=_retry_at(form.get("retry_at") or "", now, zone))
    return Choice(outcome, notes)


def _agreed_on(raw: str, now: datetime, zone: tzinfo) -> date:
    value = raw.strip()
    if not value:
        raise _refuse("no_day")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _refuse("bad_day", value=wording.literal(value)) from None
    if day < now.astimezone(zone).date():
        raise _refuse("past_day", day=day)
    return day


def _retry_at(raw: str, now: datetime, zone: tzinfo) -> datetime:
    value = raw.strip()
    if not value:
        raise _refuse("no_retry")
    try:
        local = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise _refuse("bad_retry", value=wording.literal(value)) from None
    if local.tzinfo is not None:
        raise _refuse("bad_retry", value=wording.literal(value))
    when = local.replace(tzinfo=zone).astimezone(UTC)
    if when < now.replace(second=0, microsecond=0):
        raise _refuse("past_retry", when=when)
    return when


@dataclass(frozen=True)
class Effect:
    """What an outcome does to the task, and what it writes beside it."""

    outcome: str
    closes: bool
    due_at: datetime
    recorded: Phrase | None  # what the outcome did, in words (None: the caller's notes alone)
    note: str | None = None  # a staff note to write on the order (a key of ``NOTES``)
    promise_on: date | None = None  # a delivery day to record as our promise


def next_try(calendar: BusinessCalendar, now: datetime) -> datetime:
    """The start of the next working day in the shop's calendar."""
    return calendar.at(calendar.next_working_day(calendar.local_date(now)), calendar.work_start)


def decide(choice: Choice, due_at: datetime, now: datetime, calendar: BusinessCalendar) -> Effect:
    """Pure: the effect of ``choice`` on a task due at ``due_at``."""
    if choice.outcome == NEW_DATE:
        assert choice.agreed_on is not None
        recorded = wording.call_task_recorded(NEW_DATE, day=choice.agreed_on)
        return Effect(NEW_DATE, True, due_at, recorded, note=NEW_DATE, promise_on=choice.agreed_on)
    if choice.outcome == CANCELS:
        return Effect(CANCELS, True, due_at, wording.call_task_recorded(CANCELS), note=CANCELS)
    if choice.outcome == NO_ANSWER:
        assert choice.retry_at is not None
        return Effect(NO_ANSWER, False, choice.retry_at, wording.call_task_recorded(NO_ANSWER, when=choice.retry_at))
    if choice.outcome == VOICEMAIL:
        again = next_try(calendar, now)
        return Effect(VOICEMAIL, False, again, wording.call_task_recorded(VOICEMAIL, when=again))
    if choice.outcome == HAPPY:
        return Effect(HAPPY, True, due_at, wording.call_task_outcome(HAPPY))
    return Effect(OTHER, True, due_at, None)


def undoable(outcomes: list[dict[str, Any]] | None, now: datetime) -> dict[str, Any] | None:
    """Pure: the newest outcome if it is not undone and was recorded at most ``UNDO_WINDOW`` before ``now``."""
    last = outcomes[-1] if outcomes else None
    if last is None or last.get("undone_at"):
        return None
    return last if now <= _moment(last["at"]) + UNDO_WINDOW else None


# --- confirming an agreed day to the customer -----------------------------------------------------

CONFIRM_TEMPLATE = "date_confirmed"
# what became of the e-mail confirming an agreed day (``Recorded.confirmation``)
PLANNED, OFF, NO_EMAIL, UNPAID, OBSERVED = "planned", "off", "no_email", "unpaid", "observed"


def confirmation_payload(order: Order, day: date, terms: ShopTerms) -> dict[str, Any] | None:
    """Pure: the NOTIFY_CUSTOMER payload confirming ``day``; None when the customer has no e-mail address."""
    email = (order.customer.email or "").strip()
    if not email:
        return None
    context = {
        "shop_name": terms.shop_name or order.shop_id,
        "order_number": order.number,
        "first_name": order.customer.first_name or None,
        "items": [{"title": line.title, "quantity": line.quantity} for line in order.lines],
        "agreed_on": day.isoformat(),  # the promise was made on the phone; the message gives no new one
        "voucher": None,
    }
    locale = normalise_locale(order.customer.locale, normalise_locale(terms.locale))
    return {"template": CONFIRM_TEMPLATE, "to": email, "locale": locale, "marketing": False, "context": context}


def confirmation_for(order: Order | None, terms: ShopTerms) -> str:
    """Pure: whether an agreed day may be confirmed by e-mail, as a key of ``CONFIRMATIONS``; the customer
    hears nothing when the shop does not want it, the order awaits payment or there is no address to write to."""
    if not terms.confirm_agreed_date:
        return OFF
    if order is None or awaiting_payment(order):
        return UNPAID
    if not (order.customer.email or "").strip():
        return NO_EMAIL
    return OBSERVED if terms.observing else PLANNED


def _confirm(
    session: Session, task: CallTaskRow, row: OrderRow, day: date, terms: ShopTerms, step: str, now: datetime
) -> tuple[str, int | None]:
    """Plan the e-mail confirming ``day`` if it may go; it waits until the outcome can no longer be undone."""
    order = snapshot_of(row)
    decided = confirmation_for(order, terms)
    payload = confirmation_payload(order, day, terms) if order is not None and decided in (PLANNED, OBSERVED) else None
    if payload is None:
        return decided, None
    action = PlannedAction(ActionKind.NOTIFY_CUSTOMER, POLICY, step, payload)
    action_id = plan(
        session, shop_id=task.shop_id, order_id=row.id, order_external_id=row.external_id, action=action, now=now,
        incident_id=task.incident_id, observe=terms.observing,
    )  # fmt: skip
    if action_id is None:  # planned before, in a transaction that recorded the same outcome
        key = idempotency_key(task.shop_id, row.external_id, POLICY, step)
        action_id = session.scalar(select(ActionRow.id).where(ActionRow.idempotency_key == key))
    elif not terms.observing:
        session.execute(
            update(ActionRow)
            .where(ActionRow.id == action_id)
            .values(next_attempt_at=now + UNDO_WINDOW)
            .execution_options(synchronize_session=False)
        )
    return decided, action_id


# --- recording and undoing -----------------------------------------------------------------------


@dataclass(frozen=True)
class ShopTerms:
    """What an outcome needs to know about the task's shop."""

    calendar: BusinessCalendar  # its zone and working days
    locale: str  # its language: staff notes on the order
    observing: bool  # observe mode: a note is recorded as what would be written, not written
    confirm_agreed_date: bool = False  # ``policies.calls.confirm_agreed_date``: e-mail the agreed day
    shop_name: str = ""  # how the confirmation names the shop


@dataclass(frozen=True)
class Recorded:
    task_id: int
    effect: Effect
    text: str  # as recorded on the task
    undo_until: datetime
    note_action_id: int | None
    promise_ids: tuple[int, ...]
    confirmation: str | None = None  # the agreed day's e-mail: a key of ``CONFIRMATIONS``; None: not a new date


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: Any) -> datetime:
    found = datetime.fromisoformat(str(value))
    if found.tzinfo is None:
        raise ValueError(f"a call task outcome time without a zone: {value!r}")
    return found


def _note_text(terms: ShopTerms, key: str, now: datetime, who: str, day: date | None) -> str:
    language = terms.locale if terms.locale in NOTES else "en"
    text = NOTES[language][key].format(who=who, day=note_day(language, day) if day else "")
    return f"{note_moment(language, now.astimezone(terms.calendar.tz))} ordercare: {text}"


def record(
    session: Session,
    task: CallTaskRow,
    choice: Choice,
    terms: ShopTerms,
    who: str,
    now: datetime,
    render: Callable[[Phrase], str],
) -> Recorded:
    """Record what came of the call on ``task`` (locked by ``task_for_update``); raises ``Refused``.

    ``render`` writes the outcome in the words of whoever called (it is kept as text on the task).
    """
    if task.state != "open":
        raise _refuse("task_done")
    order = session.get(OrderRow, task.order_id) if task.order_id is not None else None
    if order is not None and order.shop_id != task.shop_id:
        order = None
    if choice.outcome in NEEDS_ORDER and order is None:
        raise _refuse("no_order")
    effect = decide(choice, task.due_at, now, terms.calendar)
    # only the newest outcome can be undone: the older ones no longer keep the task as it was before them
    entries = [{k: v for k, v in e.items() if k != "before"} for e in task.outcomes or []]
    note_id: int | None = None
    promise_ids: list[int] = []
    ended: list[int] = []
    if effect.note is not None and order is not None:
        text = _note_text(terms, effect.note, now, who, effect.promise_on)
        step = f"{task.id}-{len(entries) + 1}-{effect.outcome}"
        action = PlannedAction(ActionKind.ADD_NOTE, POLICY, step, {"text": text})
        note_id = plan(
            session, shop_id=task.shop_id, order_id=order.id, order_external_id=order.external_id, action=action,
            now=now, incident_id=task.incident_id, observe=terms.observing,
        )  # fmt: skip
        if note_id is None:  # planned before, in a transaction that recorded the same outcome
            key = idempotency_key(task.shop_id, order.external_id, POLICY, step)
            note_id = session.scalar(select(ActionRow.id).where(ActionRow.idempotency_key == key))
    if effect.promise_on is not None and order is not None and note_id is not None:
        given = promise_store.open_for_orders(session, [order.id]).get(order.id, ())
        promise_ids = promise_store.record_message(
            session, shop_id=task.shop_id, order_id=order.id, action_id=note_id, policy=POLICY,
            template=PROMISE_TEMPLATE, context={rules.CONTEXT_KEYS[rules.DELIVERY_BY]: effect.promise_on.isoformat()},
            order=snapshot_of(order), sent_at=now, tz=terms.calendar.tz,
        )  # fmt: skip
        ended = [p.id for p in given if p.id is not None and p.id not in promise_ids] if promise_ids else []
    confirmation, confirm_id = None, None
    if effect.promise_on is not None and order is not None and note_id is not None:
        step = f"{task.id}-{len(entries) + 1}-confirm"
        confirmation, confirm_id = _confirm(session, task, order, effect.promise_on, terms, step, now)
    said = render(effect.recorded) if effect.recorded is not None else ""
    text_on_task = f"{said}: {choice.notes}" if said and choice.notes else (said or choice.notes)
    assigned = task.assigned_to is None
    entries.append(
        {
            "outcome": effect.outcome,
            "at": now.isoformat(),
            "by": who,
            "before": {
                "state": task.state,
                "due_at": task.due_at.isoformat(),
                "outcome": task.outcome,
                "done_at": _iso(task.done_at),
                "assigned_to": task.assigned_to,
            },
            "assigned": assigned,
            "due_at": effect.due_at.isoformat(),
            "agreed_on": effect.promise_on.isoformat() if effect.promise_on else None,
            "note_action_id": note_id,
            "promise_ids": promise_ids,
            "ended_promise_ids": ended,
            "confirm_action_id": confirm_id,
        }
    )
    task.outcomes = entries
    task.outcome_at = now
    task.outcome = text_on_task
    task.due_at = effect.due_at
    if effect.closes:
        task.state, task.done_at = "done", now
    if assigned:
        task.assigned_to = who
    return Recorded(task.id, effect, task.outcome, now + UNDO_WINDOW, note_id, tuple(promise_ids), confirmation)


@dataclass(frozen=True)
class Undone:
    task_id: int
    outcome: str  # the outcome taken back
    text: str  # as it was recorded on the task
    note: str | None  # the note it planned: taken_back | written | writing; None: there was none to take back
    promise_taken_back: bool
    confirmation: str | None = None  # the agreed day's e-mail: taken_back | written (sent) | writing; None: none


NOTE_TAKEN_BACK = "taken back: the call's outcome was undone"


def _take_back_note(session: Session, action_id: int, now: datetime) -> str | None:
    """Cancel the note if it has not been written and is not being written; say where it stands."""
    result = session.execute(
        update(ActionRow)
        .where(
            ActionRow.id == action_id,
            ActionRow.state.in_(("pending", "failed")),
            or_(ActionRow.lease_until.is_(None), ActionRow.lease_until <= now),
        )
        .values(state="cancelled", last_error=NOTE_TAKEN_BACK, done_at=now, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0):
        cancel_followers(session, now)
        return "taken_back"
    state = session.scalar(select(ActionRow.state).where(ActionRow.id == action_id))
    return {"pending": "writing", "done": "written"}.get(state or "")


def _take_back_promises(session: Session, entry: Mapping[str, Any]) -> bool:
    """Remove the promises the outcome recorded (if still open) and reopen those they ended."""
    ids = [int(i) for i in entry.get("promise_ids") or ()]
    if not ids:
        return False
    removed = session.execute(
        delete(PromiseRow)
        .where(PromiseRow.id.in_(ids), PromiseRow.ended == rules.OPEN)
        .execution_options(synchronize_session=False)
    )
    if not getattr(removed, "rowcount", 0):
        return False
    ended = [int(i) for i in entry.get("ended_promise_ids") or ()]
    if ended:
        session.execute(
            update(PromiseRow)
            .where(
                PromiseRow.id.in_(ended),
                PromiseRow.ended.in_((rules.FOLLOWED_UP, rules.MISSED)),
                PromiseRow.ended_at == _moment(entry["at"]),
            )
            .values(ended=rules.OPEN, ended_at=None)
            .execution_options(synchronize_session=False)
        )
    return True


def undo(session: Session, task: CallTaskRow, now: datetime) -> Undone:
    """Take back the newest outcome of ``task`` (locked by ``task_for_update``); raises ``Refused``."""
    entries = list(task.outcomes or [])
    last = entries[-1] if entries else None
    if last is None or last.get("undone_at") or task.outcome_at is None:
        raise _refuse("nothing_to_undo")
    until = _moment(last["at"]) + UNDO_WINDOW
    if undoable(entries, now) is None:
        raise _refuse("too_late", minutes=UNDO_MINUTES, until=until)
    text = task.outcome or ""
    note = _take_back_note(session, int(last["note_action_id"]), now) if last.get("note_action_id") else None
    promise_taken_back = _take_back_promises(session, last)
    confirm_id = last.get("confirm_action_id")
    confirmation = _take_back_note(session, int(confirm_id), now) if confirm_id else None
    before = last["before"]
    task.state = str(before["state"])
    task.due_at = _moment(before["due_at"])
    task.outcome = before.get("outcome")
    task.done_at = _moment(before["done_at"]) if before.get("done_at") else None
    if last.get("assigned") and task.assigned_to == last.get("by"):
        task.assigned_to = before.get("assigned_to")
    entries[-1] = {
        **last, "undone_at": now.isoformat(), "note": note, "promise_taken_back": promise_taken_back,
        "confirmation": confirmation,
    }  # fmt: skip
    task.outcomes = entries
    task.outcome_at = None
    return Undone(task.id, str(last["outcome"]), text, note, promise_taken_back, confirmation)
