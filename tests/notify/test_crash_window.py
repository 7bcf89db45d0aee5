"""The window between the mail server's "accepted" and our log row: a worker that stops inside it leaves
an attempt marked ``sending``; the next attempt does not send again but fails the action for staff, naming
the Message-ID. Stops before the window resend; stops after the log row do nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy import select

from connector.actions import ActionKind
from connector.notify.mailer import MemoryMailer, SmtpMailer, message_id_for
from connector.outbox.env import OutboxEnv
from connector.outbox.notify import NotifyPerformer, uncertain_delivery
from connector.outbox.queue import drain, retry_failed
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionAttempt, ActionRow, EmailLog
from tests.notify.support import CapturingHandler, Clock, make_order, notify_payload, plan_notify, smtp_server, store

SENDER = "service@fietsenwinkel.example"


class Killed(BaseException):
    """SIGKILL, as far as the worker's code can tell: nothing after it runs (no outcome is recorded)."""


@dataclass
class StoppingMailer:
    """Accepts each message like a mail server, and the worker stops where it is told to."""

    stop: str  # "before_data" | "after_accept" | "never"
    accepted: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        if self.stop == "before_data":
            raise Killed
        if before_data is not None:
            before_data()
        self.accepted.append(message)
        if self.stop == "after_accept":
            raise Killed


class StopsAfterLogging(NotifyPerformer):
    """The worker stops after the log row is written, before the attempt's outcome is."""

    def _log(self, *args: Any, **kwargs: Any) -> None:
        super()._log(*args, **kwargs)
        raise Killed


def attempts(services: Services, action_id: int) -> list[tuple[int, str | None, bool]]:
    with services.sessions() as session:
        found = session.execute(
            select(ActionAttempt.attempt, ActionAttempt.outcome, ActionAttempt.finished_at)
            .where(ActionAttempt.action_id == action_id)
            .order_by(ActionAttempt.attempt)
        ).all()
    return [(attempt, outcome, finished is not None) for attempt, outcome, finished in found]


def action(services: Services, action_id: int) -> ActionRow:
    with services.sessions() as session:
        row = session.get(ActionRow, action_id)
        assert row is not None
        return row


def logs(services: Services) -> list[str]:
    with services.sessions() as session:
        return [row.template for row in session.query(EmailLog).order_by(EmailLog.id)]


def env_with(services: Services, mailer: Any, worker: str, performer: NotifyPerformer | None = None) -> OutboxEnv:
    performers = {ActionKind.NOTIFY_CUSTOMER: performer} if performer is not None else {}
    return OutboxEnv(services=services, worker=worker, mailer=mailer, performers=performers)


def past_the_lease(services: Services, clock: Clock) -> None:
    clock.advance(timedelta(seconds=services.settings.scheduler.lease_seconds + 1))


def test_a_stop_after_the_server_accepted_is_not_sent_again_but_told_to_staff(services: Services, clock: Clock) -> None:
    action_id = plan_notify(services, store(services, make_order()), notify_payload("stale_update"), step="stale-1")
    first = StoppingMailer("after_accept")
    with pytest.raises(Killed):
        drain(env_with(services, first, "worker-a"))
    assert len(first.accepted) == 1
    assert attempts(services, action_id) == [(1, "sending", False)]
    assert logs(services) == []

    past_the_lease(services, clock)
    second = MemoryMailer()
    report = drain(env_with(services, second, "worker-b"))

    assert (report.done, report.retried, report.failed) == (0, 0, 1)
    assert second.sent == []  # not sent again
    row = action(services, action_id)
    message_id = message_id_for(row.idempotency_key, SENDER)
    assert first.accepted[0]["Message-ID"] == message_id
    assert row.state == "failed"
    assert row.last_error == (
        "not sent again: the worker stopped while the mail server was accepting this e-mail, so it may or may not "
        f"have arrived; check the mail server's log for Message-ID {message_id}, and retry only if it is not there"
    )
    assert row.last_error == uncertain_delivery("the worker stopped", message_id)
    assert attempts(services, action_id) == [(1, "sending", False), (2, "failed", True)]
    assert logs(services) == []

    # staff looked it up, it is not there: the retry sends it, once
    with transaction(services.sessions) as session:
        assert retry_failed(session, action_id, services.now())
    assert drain(env_with(services, second, "worker-b")).done == 1
    assert [m["Message-ID"] for m in second.sent] == [message_id]
    assert logs(services) == ["stale_update"]
    assert action(services, action_id).state == "done"
    assert attempts(services, action_id) == [(1, "sending", True), (2, "failed", True), (3, "done", True)]


def test_a_stop_before_the_message_went_sends_it_on_the_next_attempt(services: Services, clock: Clock) -> None:
    action_id = plan_notify(services, store(services, make_order()), notify_payload("stale_update"), step="stale-1")
    with pytest.raises(Killed):
        drain(env_with(services, StoppingMailer("before_data"), "worker-a"))
    assert attempts(services, action_id) == [(1, None, False)]

    past_the_lease(services, clock)
    mailer = MemoryMailer()
    assert drain(env_with(services, mailer, "worker-b")).done == 1

    assert len(mailer.sent) == 1
    assert action(services, action_id).state == "done"
    assert logs(services) == ["stale_update"]
    assert attempts(services, action_id) == [(1, None, False), (2, "done", True)]


def test_a_stop_after_the_log_row_is_done_without_another_message(services: Services, clock: Clock) -> None:
    action_id = plan_notify(services, store(services, make_order()), notify_payload("stale_update"), step="stale-1")
    first = MemoryMailer()
    with pytest.raises(Killed):
        drain(env_with(services, first, "worker-a", StopsAfterLogging()))
    assert len(first.sent) == 1

    past_the_lease(services, clock)
    second = MemoryMailer()
    assert drain(env_with(services, second, "worker-b")).done == 1

    assert second.sent == []
    assert action(services, action_id).state == "done"
    assert logs(services) == ["stale_update"]
    assert attempts(services, action_id) == [(1, "sending", False), (2, "already_done", True)]


@dataclass
class SlowToAnswer(CapturingHandler):
    """Keeps the message, then answers DATA only after the client stopped waiting."""

    delay: float = 1.0

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return answer


def test_a_connection_that_breaks_during_data_is_not_retried(services: Services) -> None:
    action_id = plan_notify(services, store(services, make_order()), notify_payload("stale_update"), step="stale-1")
    handler = SlowToAnswer()
    with smtp_server(handler) as (controller, _):
        email = services.settings.email.model_copy(update={"smtp_port": controller.port, "timeout_seconds": 0.3})
        report = drain(env_with(services, SmtpMailer(email), "worker-a"))

    assert (report.done, report.retried, report.failed) == (0, 0, 1)
    assert len(handler.received) == 1  # the server has it: a retry would deliver a second copy
    row = action(services, action_id)
    message_id = message_id_for(row.idempotency_key, SENDER)
    assert row.last_error == uncertain_delivery(
        f"the connection to 127.0.0.1:{controller.port} broke "
        "(SMTPServerDisconnected: Connection unexpectedly closed: timed out)",
        message_id,
    )
    assert logs(services) == []
    assert attempts(services, action_id) == [(1, "failed", True)]
