"""Call tasks someone can act on: who to call and what they know, an outcome that must be chosen, what each
outcome does, and taking an outcome back within the undo window."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.admin import calls
from connector.codec import dump_order, load_order
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, CallTaskRow, OrderRow, PromiseRow

from . import builders as b
from . import scenario
from .builders import Clock
from .web import load, post, rows, sign_in

TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # the fixed clock: Tue 24 Nov 2026, 10:00 in Amsterdam


@pytest.fixture
def world(session: Session, now: datetime) -> scenario.World:
    found = scenario.build(session, now)
    order = session.get(OrderRow, found.order_a.id)
    assert order is not None
    snapshot = load_order(order.data)
    order.data = dump_order(replace(snapshot, customer=replace(snapshot.customer, phone="06 1234 5678")))
    # a newer e-mail than the scenario's, and what we promised: one promise open, one kept already
    b.email(session, order, now - timedelta(hours=3), template="delay_2")
    promise(session, order, date(2026, 11, 26), now - timedelta(days=1))
    promise(session, order, date(2026, 11, 20), now - timedelta(days=6), ended="met")
    session.commit()
    return found


def promise(session: Session, order: OrderRow, day: date, made_at: datetime, ended: str = "open") -> PromiseRow:
    row = PromiseRow(
        shop_id=order.shop_id, order_id=order.id, policy="shipment_delay", template="delay_notice",
        kind="delivery_by", promised_on=day, awaits="delivered", made_at=made_at, ended=ended,
        ended_at=made_at if ended != "open" else None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def page(client: FlaskClient, path: str = "/admin/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def card(html: str, task_id: int) -> str:
    found = re.search(rf'<li class="item call-task" id="call-task-{task_id}">(.*?</form>)\s*</li>', html, re.S)
    assert found is not None, f"no card for call task {task_id}"
    return found.group(1)


def task_state(services: Services, task_id: int) -> tuple[Any, ...]:
    t = load(services, CallTaskRow, task_id)
    return (t.state, t.outcome, t.due_at, t.done_at, t.assigned_to, t.outcomes, t.outcome_at)


def actions(services: Services) -> list[tuple[Any, ...]]:
    return [
        (a.id, a.kind, a.policy, a.state, a.payload, a.last_error)
        for a in rows(services, select(ActionRow).order_by(ActionRow.id))
    ]


def promises(services: Services) -> list[tuple[Any, ...]]:
    return [
        (p.id, p.policy, p.template, p.kind, p.promised_on, p.action_id, p.ended, p.ended_at)
        for p in rows(services, select(PromiseRow).order_by(PromiseRow.id))
    ]


def everything(services: Services, task_id: int) -> tuple[Any, ...]:
    return task_state(services, task_id), actions(services), promises(services)


def done(client: FlaskClient, task_id: int, **form: str) -> Any:
    return post(client, f"/admin/call-tasks/{task_id}/done", **form)


def undo(client: FlaskClient, task_id: int) -> Any:
    return post(client, f"/admin/call-tasks/{task_id}/undo")


def new_actions(services: Services, before: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    known = {a[0] for a in before}
    return [a for a in actions(services) if a[0] not in known]


# --- the card ------------------------------------------------------------------------------------


def test_the_card_shows_who_to_call_the_shop_the_order_what_they_were_told_and_promised(
    client: FlaskClient, world: scenario.World
) -> None:
    sign_in(client, "anna")
    shown = card(page(client), world.task_a.id)
    assert '<strong class="customer">Jan Jansen</strong>' in shown
    assert '<a class="tel" href="tel:+31612345678">06 1234 5678</a>' in shown
    assert '<span class="shop">fietsen</span>' in shown
    assert f'<a href="/admin/orders/{world.order_a.id}">Order #5501</a>' in shown
    # the newest e-mail of the order (07:00 local), not the one of two days before
    assert "We last wrote to the customer on Tue 24 Nov 07:00: “Over je bestelling #5501”" in shown
    assert "Sun 22 Nov 10:01" not in shown
    assert "<li>We promised delivery by Thu 26 Nov</li>" in shown
    assert "Fri 20 Nov" not in shown  # that promise was kept


def test_the_outcome_form_preselects_nothing(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")
    shown = card(page(client), world.task_a.id)
    options = re.findall(r"<option[^>]*>", shown)
    assert options == [
        '<option value="" selected disabled>',
        '<option value="new_date">',
        '<option value="cancels">',
        '<option value="no_answer">',
        '<option value="voicemail">',
        '<option value="happy">',
        '<option value="other">',
    ]
    assert 'name="agreed_on" min="2026-11-24"' in shown
    assert 'name="retry_at" min="2026-11-24T10:00"' in shown


@pytest.mark.parametrize(
    ("phone", "country", "href"),
    [
        ("06 1234 5678", "NL", "tel:+31612345678"),
        ("+31 6 1234 5678", "BE", "tel:+31612345678"),
        ("+31 (0)6-1234-5678", "NL", "tel:+31612345678"),
        ("0031 6 12345678", "NL", "tel:+31612345678"),
        ("0031 6 12345678", None, "tel:0031612345678"),  # "00" dials abroad only in some countries: as typed
        ("0470 12 34 56", "BE", "tel:+32470123456"),
        ("030 123 45 67", "DE", "tel:+49301234567"),
        ("612 3456", "LU", "tel:+3526123456"),
        ("06 1234 5678", None, "tel:0612345678"),  # no country known: the digits as typed
        ("n/a", "NL", None),
    ],
)
def test_phone_links_are_e164_where_the_country_is_known(phone: str, country: str | None, href: str | None) -> None:
    assert calls.tel_href(phone, country) == href


def test_a_phone_number_typed_the_national_way_takes_the_address_country(
    client: FlaskClient, world: scenario.World, services: Services
) -> None:
    with transaction(services.sessions) as session:
        order = session.get(OrderRow, world.order_a.id)
        assert order is not None
        snapshot = load_order(order.data)
        assert snapshot.shipping_address is not None
        address = replace(snapshot.shipping_address, country_code="BE")
        order.data = dump_order(replace(snapshot, shipping_address=address))
    sign_in(client, "anna")
    assert 'href="tel:+32612345678"' in card(page(client), world.task_a.id)


# --- an outcome must be chosen -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, "outcome: choose what came of the call; nothing was recorded"),
        ({"outcome": "", "outcome_text": "klant blij", "agreed_on": "2026-11-25"}, "outcome: choose what came"),
        ({"outcome": "maybe"}, "outcome: choose one of new_date, cancels, no_answer, voicemail, happy, other"),
        ({"outcome": "other"}, "outcome_text: say what came of the call"),
        ({"outcome": "happy", "outcome_text": "x" * 1001}, "outcome_text: at most 1000 characters"),
    ],
)
def test_done_without_a_valid_outcome_is_refused_and_writes_nothing(
    client: FlaskClient, world: scenario.World, services: Services, form: dict[str, str], message: str
) -> None:
    sign_in(client, "anna")
    before = everything(services, world.task_a.id)
    response = done(client, world.task_a.id, **form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert everything(services, world.task_a.id) == before
    assert before[0][:2] == ("open", None)


def test_a_task_that_is_done_takes_no_second_outcome(
    client: FlaskClient, world: scenario.World, services: Services
) -> None:
    sign_in(client, "anna")
    assert done(client, world.task_a.id, outcome="happy").status_code == 302
    before = everything(services, world.task_a.id)
    response = done(client, world.task_a.id, outcome="cancels")
    assert response.status_code == 400
    assert "This call task is already done; nothing was changed." in response.get_data(as_text=True)
    assert everything(services, world.task_a.id) == before


# --- new date agreed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agreed_on", "message"),
    [
        ("", "agreed_on: give the delivery date agreed with the customer; nothing was recorded"),
        ("25-11-2026", "agreed_on: 25-11-2026 is not a date; use YYYY-MM-DD"),
        ("2026-11-23", "agreed_on: Mon 23 Nov has passed; give today or a later day"),
    ],
)
def test_a_new_date_must_be_given_and_not_passed(
    client: FlaskClient, world: scenario.World, services: Services, agreed_on: str, message: str
) -> None:
    sign_in(client, "anna")
    before = everything(services, world.task_a.id)
    response = done(client, world.task_a.id, outcome="new_date", agreed_on=agreed_on)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert everything(services, world.task_a.id) == before


def test_a_new_date_of_today_closes_the_task_records_the_promise_and_plans_a_note(
    client: FlaskClient, world: scenario.World, services: Services, now: datetime
) -> None:
    sign_in(client, "anna")
    actions_before, promises_before = actions(services), promises(services)
    response = done(client, world.task_a.id, outcome="new_date", agreed_on="2026-11-24", outcome_text="na 17 uur")
    assert response.status_code == 302

    state, outcome, due_at, done_at, assigned_to, _, outcome_at = task_state(services, world.task_a.id)
    assert (state, outcome, due_at, done_at, assigned_to, outcome_at) == (
        "done", "new delivery date agreed: Tue 24 Nov: na 17 uur", now - timedelta(hours=2), now, "anna", now,
    )  # fmt: skip
    # a staff note on the order, in the shop's language, and the e-mail confirming the day to the customer
    note, confirmation = new_actions(services, actions_before)
    assert note[1:] == (
        "add_note", "call_task", "pending",
        {"text": "24 nov 2026 10:00 ordercare: nieuwe bezorgdatum 24 nov 2026 telefonisch afgesproken met de klant "
                 "(anna)."},
        None,
    )  # fmt: skip
    assert confirmation[1:4] == ("notify_customer", "call_task", "pending")
    assert confirmation[4]["template"] == "date_confirmed"
    assert confirmation[4]["context"]["agreed_on"] == "2026-11-24"
    # the new date is our promise now; the one it replaces was followed up before its day
    open_one, kept = promises_before[0], promises_before[1]
    assert promises(services) == [
        (*open_one[:6], "followed_up", now),
        kept,
        (open_one[0] + 2, "call_task", "phone_call", "delivery_by", date(2026, 11, 24), note[0], "open", None),
    ]
    shown = page(client)
    assert "Call task 1 is done: new delivery date agreed: Tue 24 Nov: na 17 uur." in shown
    assert "Tue 24 Nov is recorded as our promise to the customer on this order." in shown
    confirming = (
        "The customer gets an e-mail confirming Tue 24 Nov once this can no longer be undone (Tue 24 Nov 10:10)."
    )
    assert confirming in shown
    assert "You can undo this until Tue 24 Nov 10:10." in shown


def test_the_day_of_a_new_date_is_the_shops_day(
    client: FlaskClient, world: scenario.World, services: Services, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # Wed 25 Nov 00:30 in Amsterdam, still the 24th in UTC
    sign_in(client, "anna")
    before = everything(services, world.task_a.id)
    refused = done(client, world.task_a.id, outcome="new_date", agreed_on="2026-11-24")
    assert refused.status_code == 400
    assert everything(services, world.task_a.id) == before
    assert done(client, world.task_a.id, outcome="new_date", agreed_on="2026-11-25").status_code == 302
    assert load(services, CallTaskRow, world.task_a.id).state == "done"


# --- customer cancels ----------------------------------------------------------------------------


def test_customer_cancels_closes_the_task_and_plans_a_staff_note(
    client: FlaskClient, world: scenario.World, services: Services, now: datetime
) -> None:
    sign_in(client, "anna")
    actions_before, promises_before = actions(services), promises(services)
    assert done(client, world.task_a.id, outcome="cancels").status_code == 302
    state, outcome, _, done_at, assigned_to, _, _ = task_state(services, world.task_a.id)
    assert (state, outcome, done_at, assigned_to) == ("done", "the customer cancels the order", now, "anna")
    [note] = new_actions(services, actions_before)
    text = (
        "24 nov 2026 10:00 ordercare: de klant wil de bestelling annuleren (telefonisch, anna). "
        "Annuleer de bestelling in de winkel."
    )
    assert note[1:] == ("add_note", "call_task", "pending", {"text": text}, None)
    with services.sessions() as session:
        planned = session.get(ActionRow, note[0])
        assert planned is not None
        assert (planned.order_id, planned.incident_id) == (world.order_a.id, world.incident_a.id)
    assert promises(services) == promises_before
    assert "A note for the shop&#39;s staff to cancel the order will be written on it." in page(client)


# --- no answer and voicemail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_at", "message"),
    [
        ("", "retry_at: say when to call again; nothing was recorded"),
        ("morgen", "retry_at: morgen is not a time; use YYYY-MM-DD HH:MM"),
        ("2026-11-24T09:59", "retry_at: Tue 24 Nov 09:59 has passed; give a later time"),
    ],
)
def test_no_answer_needs_a_time_to_call_again_that_has_not_passed(
    client: FlaskClient, world: scenario.World, services: Services, retry_at: str, message: str
) -> None:
    sign_in(client, "anna")
    before = everything(services, world.task_a.id)
    response = done(client, world.task_a.id, outcome="no_answer", retry_at=retry_at)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert everything(services, world.task_a.id) == before


@pytest.mark.parametrize(
    ("retry_at", "due_at", "words"),
    [
        ("2026-11-24T10:00", datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "Tue 24 Nov 10:00"),
        ("2026-11-26T14:30", datetime(2026, 11, 26, 13, 30, tzinfo=UTC), "Thu 26 Nov 14:30"),
    ],
)
def test_no_answer_keeps_the_task_open_due_at_the_time_given(
    client: FlaskClient, world: scenario.World, services: Services, retry_at: str, due_at: datetime, words: str
) -> None:
    sign_in(client, "anna")
    actions_before = actions(services)
    assert done(client, world.task_a.id, outcome="no_answer", retry_at=retry_at).status_code == 302
    state, outcome, due, done_at, assigned_to, _, _ = task_state(services, world.task_a.id)
    assert (state, outcome, due, done_at, assigned_to) == (
        "open",
        f"no answer; call again {words}",
        due_at,
        None,
        "anna",
    )
    assert actions(services) == actions_before
    assert f"Call task {world.task_a.id} stays open: no answer; call again {words}." in page(client)


@pytest.mark.parametrize(
    ("current", "due_at", "words"),
    [
        (TUESDAY, datetime(2026, 11, 25, 8, 0, tzinfo=UTC), "Wed 25 Nov 09:00"),  # 09:00 in Amsterdam
        (datetime(2026, 11, 27, 15, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC), "Mon 30 Nov 09:00"),
    ],
)
def test_a_voicemail_keeps_the_task_open_until_the_next_working_day(
    client: FlaskClient,
    world: scenario.World,
    services: Services,
    clock: Clock,
    current: datetime,
    due_at: datetime,
    words: str,
) -> None:
    clock.now = current
    sign_in(client, "anna")
    actions_before = actions(services)
    assert done(client, world.task_a.id, outcome="voicemail").status_code == 302
    state, outcome, due, done_at, _, _, _ = task_state(services, world.task_a.id)
    assert (state, due, done_at) == ("open", due_at, None)
    assert outcome == f"left a voicemail; call again {words}"
    assert actions(services) == actions_before
    shown = page(client)
    assert f'id="call-task-{world.task_a.id}"' not in shown  # not due today any more
    assert f'action="/admin/call-tasks/{world.task_a.id}/undo"' in shown  # but it can be undone


# --- undo ----------------------------------------------------------------------------------------


def test_undo_within_the_window_restores_the_task(
    client: FlaskClient, world: scenario.World, services: Services, clock: Clock, now: datetime
) -> None:
    sign_in(client, "anna")
    before = task_state(services, world.task_a.id)
    assert done(client, world.task_a.id, outcome="no_answer", retry_at="2026-11-24T15:00").status_code == 302
    clock.now = now + calls.UNDO_WINDOW  # the last moment it can be undone
    assert undo(client, world.task_a.id).status_code == 302
    state, outcome, due_at, done_at, assigned_to, outcomes, outcome_at = task_state(services, world.task_a.id)
    assert (state, outcome, due_at, done_at, assigned_to, outcome_at) == (*before[:5], None)
    assert outcomes is not None
    assert [e["outcome"] for e in outcomes] == ["no_answer"]
    assert outcomes[0]["undone_at"] == clock.now.isoformat()
    assert "is back as it was before “no answer; call again Tue 24 Nov 15:00”." in page(client)
    # nothing is left to undo
    response = undo(client, world.task_a.id)
    assert response.status_code == 400
    assert "There is nothing to undo on this call task." in response.get_data(as_text=True)


def test_undo_after_the_window_is_refused_and_changes_nothing(
    client: FlaskClient, world: scenario.World, services: Services, clock: Clock, now: datetime
) -> None:
    sign_in(client, "anna")
    assert done(client, world.task_a.id, outcome="cancels").status_code == 302
    clock.now = now + calls.UNDO_WINDOW + timedelta(seconds=1)
    after = everything(services, world.task_a.id)
    response = undo(client, world.task_a.id)
    assert response.status_code == 400
    assert "Too late to undo: an outcome can be undone for 10 minutes, this one until Tue 24 Nov 10:10." in (
        response.get_data(as_text=True)
    )
    assert everything(services, world.task_a.id) == after
    assert f'action="/admin/call-tasks/{world.task_a.id}/undo"' not in page(client)


def test_undoing_customer_cancels_cancels_the_note_that_is_not_written_yet(
    client: FlaskClient, world: scenario.World, services: Services, now: datetime
) -> None:
    sign_in(client, "anna")
    before = task_state(services, world.task_a.id)
    actions_before = actions(services)
    assert done(client, world.task_a.id, outcome="cancels").status_code == 302
    [note] = new_actions(services, actions_before)
    assert undo(client, world.task_a.id).status_code == 302
    assert task_state(services, world.task_a.id)[:5] == before[:5]
    [cancelled] = new_actions(services, actions_before)
    assert (cancelled[0], cancelled[3], cancelled[5]) == (note[0], "cancelled", calls.NOTE_TAKEN_BACK)
    assert load(services, ActionRow, note[0]).done_at == now
    assert "The note on the order is taken back: it had not been written yet." in page(client)


@pytest.mark.parametrize(
    ("note_state", "lease", "message"),
    [
        ("done", None, "The note was already written on the order; remove it in the shop if it is wrong."),
        ("pending", timedelta(minutes=1), "The note is being written on the order right now"),
    ],
)
def test_undoing_customer_cancels_says_when_the_note_cannot_be_taken_back(
    client: FlaskClient,
    world: scenario.World,
    services: Services,
    now: datetime,
    note_state: str,
    lease: timedelta | None,
    message: str,
) -> None:
    sign_in(client, "anna")
    before = task_state(services, world.task_a.id)
    actions_before = actions(services)
    assert done(client, world.task_a.id, outcome="cancels").status_code == 302
    [note] = new_actions(services, actions_before)
    with transaction(services.sessions) as session:
        row = session.get(ActionRow, note[0])
        assert row is not None
        row.state = note_state
        if lease is not None:
            row.lease_owner, row.lease_until = "worker-1", now + lease
    assert undo(client, world.task_a.id).status_code == 302
    assert task_state(services, world.task_a.id)[:5] == before[:5]
    assert load(services, ActionRow, note[0]).state == note_state
    assert message in page(client)


def test_undoing_a_new_date_takes_the_promise_back_and_reopens_the_one_it_replaced(
    client: FlaskClient, world: scenario.World, services: Services
) -> None:
    sign_in(client, "anna")
    before = everything(services, world.task_a.id)
    assert done(client, world.task_a.id, outcome="new_date", agreed_on="2026-11-27").status_code == 302
    assert len(promises(services)) == 3
    assert undo(client, world.task_a.id).status_code == 302
    task, acted, promised = everything(services, world.task_a.id)
    assert task[:5] == before[0][:5]
    assert promised == before[2]
    note, confirmation = [a for a in acted if a not in before[1]]
    assert (note[1], note[3]) == ("add_note", "cancelled")
    assert (confirmation[1], confirmation[3]) == ("notify_customer", "cancelled")  # the customer hears nothing
    shown = page(client)
    assert "The promised date is taken back." in shown
    assert "The note on the order is taken back" in shown
    assert "The e-mail confirming the date is taken back: it had not been sent." in shown
    assert "<li>We promised delivery by Thu 26 Nov</li>" in card(shown, world.task_a.id)


# --- scope and language --------------------------------------------------------------------------


def test_another_shops_task_cannot_be_acted_on(client: FlaskClient, world: scenario.World, services: Services) -> None:
    sign_in(client, "anna")
    before = everything(services, world.task_b.id)
    for form in ({"outcome": "cancels"}, {"outcome": "new_date", "agreed_on": "2026-11-25"}, {"outcome": "happy"}):
        assert done(client, world.task_b.id, **form).status_code == 404
    assert undo(client, world.task_b.id).status_code == 404
    assert everything(services, world.task_b.id) == before


def test_another_shops_outcome_cannot_be_undone(
    app: Flask, client: FlaskClient, world: scenario.World, services: Services
) -> None:
    bert = app.test_client()
    sign_in(bert, "bert")
    assert done(bert, world.task_b.id, outcome="cancels").status_code == 302
    after = everything(services, world.task_b.id)
    sign_in(client, "anna")
    assert undo(client, world.task_b.id).status_code == 404
    assert everything(services, world.task_b.id) == after
    assert after[0][0] == "done"


def test_the_outcomes_and_their_messages_are_dutch_for_a_dutch_shop(
    dutch_client: FlaskClient, world: scenario.World, services: Services
) -> None:
    sign_in(dutch_client, "anna")
    shown = card(page(dutch_client), world.task_a.id)
    for words in (
        "nieuwe datum afgesproken", "klant annuleert", "geen gehoor", "voicemail ingesproken",
        "Opnieuw bellen om (bij “geen gehoor”)", "Nieuwe bezorgdatum (bij “nieuwe datum afgesproken”)",
        "<li>We beloofden bezorging uiterlijk do 26 nov</li>",
    ):  # fmt: skip
        assert words in shown, words
    refused = done(dutch_client, world.task_a.id, outcome="new_date", agreed_on="2026-11-23")
    assert "agreed_on: ma 23 nov is al voorbij; geef vandaag of een latere dag" in refused.get_data(as_text=True)
    assert done(dutch_client, world.task_a.id, outcome="no_answer", retry_at="2026-11-24T16:00").status_code == 302
    after = page(dutch_client)
    assert f"Belafspraak {world.task_a.id} blijft open: geen gehoor; opnieuw bellen di 24 nov 16:00." in after
    assert "Ongedaan maken" in after
    assert load(services, CallTaskRow, world.task_a.id).outcome == "geen gehoor; opnieuw bellen di 24 nov 16:00"


def test_undo_takes_back_only_the_newest_outcome_to_the_state_the_one_before_left(
    client: FlaskClient, world: scenario.World, services: Services, clock: Clock, now: datetime
) -> None:
    sign_in(client, "anna")
    assert done(client, world.task_a.id, outcome="no_answer", retry_at="2026-11-24T10:30").status_code == 302
    after_first = task_state(services, world.task_a.id)
    clock.now = now + timedelta(minutes=30)
    assert done(client, world.task_a.id, outcome="voicemail").status_code == 302
    assert undo(client, world.task_a.id).status_code == 302
    state, outcome, due_at, done_at, assigned_to, outcomes, outcome_at = task_state(services, world.task_a.id)
    assert (state, outcome, due_at, done_at, assigned_to, outcome_at) == (
        "open", "no answer; call again Tue 24 Nov 10:30", datetime(2026, 11, 24, 9, 30, tzinfo=UTC), None, "anna",
        None,
    )  # fmt: skip
    assert (state, outcome, due_at) == after_first[:3]
    assert outcomes is not None
    assert [(e["outcome"], "before" in e, bool(e.get("undone_at"))) for e in outcomes] == [
        ("no_answer", False, False),
        ("voicemail", True, True),
    ]
    assert undo(client, world.task_a.id).status_code == 400  # the first outcome cannot be undone any more
    # and a new outcome can be recorded after an undo
    assert done(client, world.task_a.id, outcome="happy").status_code == 302
    assert load(services, CallTaskRow, world.task_a.id).state == "done"
