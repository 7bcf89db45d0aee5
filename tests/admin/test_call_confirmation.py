"""A delivery day agreed on the phone, confirmed to the customer by e-mail where the shop wants it: through the
outbox once the outcome can no longer be undone, never for an order awaiting payment or without an e-mail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connector.actions import ActionKind, ActionRequest
from connector.admin import calls
from connector.codec import dump_order, load_order
from connector.config import ConfigError, Settings
from connector.model import Customer, Payment
from connector.outbox.env import OutboxEnv
from connector.outbox.notify import NotifyPerformer
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, EmailLog, OrderRow, PromiseRow
from tests import builders as base
from tests.conftest import make_settings
from webhooks import create_app
from webhooks.admin.i18n import LANG

from . import builders as b
from . import scenario
from .builders import Clock
from .web import post, rows, sign_in


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        if before_data is not None:
            before_data()
        self.sent.append(message)


def change_order(session: Session, order_id: int, **changes: Any) -> None:
    row = session.get(OrderRow, order_id)
    assert row is not None
    row.data = dump_order(replace(load_order(row.data), **changes))


@pytest.fixture
def world(session: Session, now: datetime) -> scenario.World:
    return scenario.build(session, now)


def agree(client: FlaskClient, task_id: int, day: str = "2026-11-27") -> Any:
    return post(client, f"/admin/call-tasks/{task_id}/done", outcome="new_date", agreed_on=day)


def notify_actions(services: Services) -> list[ActionRow]:
    return rows(services, select(ActionRow).where(ActionRow.kind == "notify_customer", ActionRow.policy == "call_task"))


def promise_states(services: Services) -> list[tuple[int, str]]:
    with services.sessions() as session:
        found = session.execute(select(PromiseRow.id, PromiseRow.ended).order_by(PromiseRow.id)).all()
        return [(int(i), str(ended)) for i, ended in found]


def flashed(client: FlaskClient) -> str:
    return client.get("/admin/").get_data(as_text=True)


def test_the_agreed_day_is_confirmed_once_it_can_no_longer_be_undone(
    client: FlaskClient, world: scenario.World, services: Services, clock: Clock, now: datetime
) -> None:
    sign_in(client, "anna")
    assert agree(client, world.task_a.id).status_code == 302
    [action] = notify_actions(services)
    assert (action.state, action.next_attempt_at) == ("pending", now + timedelta(minutes=10))
    assert action.payload == {
        "template": "date_confirmed", "to": "jan@example.nl", "locale": "nl", "marketing": False,
        "context": {"shop_name": "fietsen", "order_number": "#5501", "first_name": "Jan",
                    "items": [{"title": "Fietsbel", "quantity": 1}, {"title": "Slot", "quantity": 1}],
                    "agreed_on": "2026-11-27", "voucher": None},
    }  # fmt: skip
    assert (
        "The customer gets an e-mail confirming Fri 27 Nov once this can no longer be undone (Tue 24 Nov 10:10)."
        in flashed(client)
    )
    # it goes through the outbox like every message; the day was promised on the phone, the e-mail adds none
    promised_before = promise_states(services)
    clock.now = now + timedelta(minutes=10)
    mailer = RecordingMailer()
    request = ActionRequest(
        action_id=action.id, shop_id=action.shop_id, kind=ActionKind.NOTIFY_CUSTOMER,
        idempotency_key=action.idempotency_key, payload=action.payload, order_external_id="5501", attempt=1,
    )  # fmt: skip
    NotifyPerformer(mailer=mailer).perform(request, OutboxEnv(services=services, worker="test"))
    [sent] = mailer.sent
    assert sent["Subject"] == "Bestelling #5501 bezorgen we op vrijdag 27 november, zoals afgesproken"
    assert sent["To"] == "jan@example.nl"
    assert promise_states(services) == promised_before


def test_nothing_is_sent_when_the_shop_does_not_want_it(
    settings: Settings, engine: Engine, clock: Clock, world: scenario.World
) -> None:
    quiet = settings.model_copy(update={"policies": {"calls": {"confirm_agreed_date": False}}})
    services = b.build_services(quiet, engine, clock)
    app: Flask = create_app(services)
    app.config["TESTING"] = True
    client = app.test_client()
    with client.session_transaction() as browser:
        browser[LANG] = "en"
    sign_in(client, "anna")
    assert agree(client, world.task_a.id).status_code == 302
    assert notify_actions(services) == []
    page = flashed(client)
    assert "No e-mail goes to the customer: this shop does not confirm a date agreed by phone" in page
    # the rest of the outcome stands: the task is done and the day is our promise
    assert rows(services, select(PromiseRow.promised_on).where(PromiseRow.policy == "call_task")) == [
        date(2026, 11, 27)
    ]


def test_nothing_is_sent_for_an_order_awaiting_payment(
    client: FlaskClient, world: scenario.World, services: Services
) -> None:
    with transaction(services.sessions) as session:
        change_order(session, world.order_a.id, payment=Payment.AWAITING)
    sign_in(client, "anna")
    assert agree(client, world.task_a.id).status_code == 302
    assert notify_actions(services) == []
    assert "the order awaits payment, so ordercare confirms no date to them" in flashed(client)


def test_nothing_is_sent_to_a_customer_without_an_e_mail_address(
    client: FlaskClient, world: scenario.World, services: Services
) -> None:
    with transaction(services.sessions) as session:
        change_order(session, world.order_a.id, customer=Customer(first_name="Jan", locale="nl"))
    sign_in(client, "anna")
    assert agree(client, world.task_a.id).status_code == 302
    assert notify_actions(services) == []
    assert "No e-mail goes to the customer: the order has no e-mail address." in flashed(client)


def test_undo_takes_the_confirmation_back_before_it_goes(
    client: FlaskClient, world: scenario.World, services: Services
) -> None:
    sign_in(client, "anna")
    assert agree(client, world.task_a.id).status_code == 302
    assert post(client, f"/admin/call-tasks/{world.task_a.id}/undo").status_code == 302
    [action] = notify_actions(services)
    assert action.state == "cancelled"
    assert rows(services, select(EmailLog).where(EmailLog.action_id == action.id)) == []


def test_confirmation_rules_are_pure(now: datetime) -> None:
    terms = calls.ShopTerms(calendar=None, locale="nl", observing=False, confirm_agreed_date=True)  # type: ignore[arg-type]
    order = base.order("1", at=now, customer=base.customer(email="a@example.nl"))
    assert calls.confirmation_for(order, terms) == calls.PLANNED
    assert calls.confirmation_for(order, replace(terms, confirm_agreed_date=False)) == calls.OFF
    assert calls.confirmation_for(order, replace(terms, observing=True)) == calls.OBSERVED
    assert calls.confirmation_for(replace(order, payment=Payment.AWAITING), terms) == calls.UNPAID
    assert calls.confirmation_for(None, terms) == calls.UNPAID


def test_an_invalid_setting_is_a_named_error() -> None:
    with pytest.raises(ConfigError) as raised:
        make_settings(policies={"calls": {"confirm_agreed_date": "maybe"}})
    assert any(p.startswith("policies.calls.confirm_agreed_date: ") for p in raised.value.problems)
    with pytest.raises(ConfigError) as raised:
        make_settings(policies={"calls": {"confirm_agreed_dat": True}})
    assert "policies.calls.confirm_agreed_dat: unknown key" in raised.value.problems
    assert make_settings().policies_for("fietsen").calls.confirm_agreed_date is True  # the default
